// Locomotion for any humanoid: gait timing, footstep planning from a velocity command, a linear-inverted-
// pendulum model-predictive controller with footstep adaptation, and swing-foot trajectories. The walking
// controller (runtime/) feeds the MPC's ZMP and CoM references and the swing-foot poses to the whole-body
// controller (control/wbc).
//
// Frames: world, z up; a footstep is the sole centre's xy position in the world and its yaw [rad]. Every
// parameter has a default derived from the model's leg length, mass distribution and sole size
// (GaitParams::from_profile) and can be overridden.
//
// Sources:
//  - LIPM: S. Kajita et al., "Biped walking pattern generation by using preview control of zero-moment point",
//    ICRA 2003 (c'' = omega^2 (c - p), omega = sqrt(g / z_c)).
//  - Divergent component of motion xi = c + c'/omega: J. Englsberger, C. Ott, A. Albu-Schaeffer, "Three-
//    dimensional bipedal walking control based on divergent component of motion", IEEE T-RO 31(2), 2015.
//  - MPC with the footsteps as decision variables and a stability (DCM) condition at the horizon: N. Scianca,
//    D. De Simone, L. Lanari, G. Oriolo, "MPC for humanoid gait generation: stability and feasibility",
//    IEEE T-RO 36(4), 2020 (IS-MPC), here in ZMP-rate-free form with a terminal DCM cost.
#pragma once

#include "control/qp/qp.hpp"
#include "model/model.hpp"
#include "model/profile.hpp"

#include <Eigen/Core>
#include <Eigen/Geometry>

#include <array>
#include <string>
#include <vector>

namespace oh::control {

/// Left = 0, right = 1.
enum Side : int { kLeft = 0, kRight = 1 };

/// A foot placement: sole centre xy in the world [m] and heading [rad].
struct Footstep {
  int side = kLeft;
  Eigen::Vector2d pos = Eigen::Vector2d::Zero();
  double yaw = 0.0;
  double z = 0.0;  ///< sole height [m] (the terrain is not known in advance: the current stance height)
};

/// Gait and footstep parameters. Lengths [m], times [s], angles [rad].
struct GaitParams {
  double com_height = 0.8;     ///< LIPM height above the soles
  double t_single = 0.4;       ///< single-support duration
  double t_double = 0.1;       ///< double-support duration
  double step_height = 0.07;   ///< swing apex above the higher of lift-off and touchdown
  double nominal_width = 0.2;  ///< lateral distance between the sole centres when standing
  double min_width = 0.12;     ///< the feet never come closer laterally (no crossing)
  double max_step_x = 0.3;     ///< longitudinal reach of a step from the stance foot
  double max_step_y = 0.15;    ///< lateral reach beyond nominal_width
  double max_step_yaw = 0.35;  ///< turn per step
  double zmp_half_length = 0.08, zmp_half_width = 0.03;  ///< ZMP box around its centre (shrunk sole)
  /// Centre of the ZMP box relative to the sole centre in the left sole's frame [m] (mirrored in y for the right
  /// foot): nonzero for a sole whose support polygon is not a centred rectangle (e.g. a heel point and a toe bar).
  Eigen::Vector2d zmp_center = Eigen::Vector2d::Zero();
  double max_vx = 0.6, max_vy = 0.3, max_wz = 0.8;       ///< command limits [m/s, rad/s]
  /// Degrees of freedom of the weaker leg (from the model; 6 when unknown). A leg with fewer than 6 cannot set
  /// its sole's full pose (e.g. no ankle roll): the foot's centre of pressure is then barely controllable about
  /// the missing axis and the robot balances more by stepping, so single support is shorter by default
  /// (1.0 instead of 1.3 pendulum time constants).
  int leg_dof = 6;
  double gravity = 9.81;

  /// Derives every field from the model and profile: com_height from the nominal CoM, times from the pendulum
  /// time constant sqrt(z/g) (single support 1.3 of it, 1.0 for legs with fewer than 6 DoF; see leg_dof),
  /// reach from the leg length (max_step_x 0.4, max_step_y 0.3 leg lengths), the ZMP box from the sole rectangle. Entries of
  /// Profile::walking named like a field (see override_keys()) replace the derived value, and fields derived
  /// from it (min_width from nominal_width, the command limits from the reach and timing) follow unless they
  /// are overridden too. Other entries are left for the walking controller. Throws std::invalid_argument for
  /// an override that is not positive (or a width/reach/limit that is negative).
  static GaitParams from_profile(const model::Model& model, const model::Profile& profile);
  /// The names of the fields Profile::walking may override.
  static const std::vector<std::string>& override_keys();
  double omega() const;       ///< sqrt(g / com_height) [1/s]
  double t_step() const { return t_single + t_double; }
  /// World xy of the centre of the ZMP box of a footstep.
  Eigen::Vector2d zmp_box_center(const Footstep& f) const;
  /// Fits the ZMP box to a foot's support polygon (sole frame of the left foot, counter-clockwise): the box of
  /// largest area inside the polygon and within the default box's size (zmp_half_length, zmp_half_width), so a
  /// rectangular sole keeps the default box; a sole whose polygon narrows (a heel point and a toe bar) gets a box
  /// moved to where it is wide enough. No-op for fewer than 3 vertices.
  void fit_zmp_box(const std::vector<Eigen::Vector2d>& polygon);
};

/// Turns a velocity command into footsteps within the kinematic limits: the body frame (midpoint of the feet)
/// advances by (vx, vy) T and turns by wz T per step, the next foot lands at +-width/2 from it.
class FootstepPlanner {
 public:
  explicit FootstepPlanner(const GaitParams& params) : p_(params) {}
  /// Clamps a command (vx [m/s], vy [m/s], wz [rad/s]) to the limits. Non-finite entries become 0.
  Eigen::Vector3d clamp_command(const Eigen::Vector3d& cmd) const;
  /// The n footsteps that follow `stance` (alternating sides, the first one is the other foot).
  std::vector<Footstep> plan(const Footstep& stance, const Eigen::Vector3d& cmd, int n) const;
  /// Projects a candidate placement of the swing foot into the reachable, non-crossing region relative to the
  /// stance foot (box in the stance frame around the nominal placement; yaw within +-max_step_yaw).
  Footstep clamp_to_reach(const Footstep& stance, Footstep target) const;

 private:
  GaitParams p_;
};

/// One phase interval of the ZMP plan: the support during [t0, t1) is footstep `foot` (single support) or the
/// segment between `foot` and `next` (double support).
struct SupportInterval {
  double t0 = 0.0, t1 = 0.0;
  int foot = 0;                ///< index into the MPC's footstep list
  int next = -1;               ///< -1 for single support
  /// Double support: the ZMP reference moves from (1 - blend0) foot + blend0 next at t0 to the blend1 mix at t1
  /// (0 -> 1 is a full weight transfer; 0.5 -> 0.5 stands between the feet).
  double blend0 = 0.0, blend1 = 1.0;
};

/// LIPM MPC over a horizon of N samples of dt, with the ZMP and the next footsteps as decision variables:
///   x = [p_x(0..N-1), p_y(0..N-1), f_x(1..M), f_y(1..M)]   (2N + 2M variables)
///   min  w_zmp sum |p_k - p_ref,k|^2 + sum (w_step e_along,j^2 + w_step_lateral e_across,j^2)
///        + w_dcm |xi_N - p_ref,N-1|^2   (e_j = f_j - f_ref,j along / across f_ref,j's heading)
///        + w_jerk sum |p_k - p_{k-1}|^2
///   s.t. p_k + d_k in the ZMP box of its support foot (single support), or in the convex hull of both feet's
///        boxes (double support: a hexagon, 5 two-sided rows per sample), d_k the swing's centre-of-pressure
///        offset (Input::cop_offset, 0 by default; p_k + d_k also replaces p_k in the ZMP tracking term);  f_j within reach of f_{j-1} (box in the
///        previous foot's frame)
/// with the CoM state propagated exactly (zero-order hold on p): x_{k+1} = A x_k + B p_k per axis.
/// Sizes: N = 20, M = 2 by default; 44 variables, 5N + 2M two-sided inequality rows.
class LipmMpc {
 public:
  LipmMpc(const GaitParams& params, int horizon = 20, double dt = 0.05, int n_steps = 2);

  /// Inputs of one solve.
  struct Input {
    Eigen::Vector2d com = Eigen::Vector2d::Zero(), com_vel = Eigen::Vector2d::Zero();  ///< world [m, m/s]
    /// [current stance (fixed), planned steps...]: at least M + 1; steps 1..M are decision variables, later ones
    /// are constants that shape the terminal DCM (the reference beyond the horizon).
    std::vector<Footstep> steps;
    std::vector<SupportInterval> support;  ///< from now on, in order; the last one is open-ended
    std::vector<bool> step_fixed;          ///< per planned step (size M): true freezes it (e.g. late swing)
    /// Per sample (N, or empty: none): the predicted offset of the centre of pressure from the pendulum's ZMP
    /// [m, world xy], d = (-dL_y, dL_x) / (m g) for the rate of change dL of the centroidal angular momentum the
    /// swing leg causes (see WholeBodyController::swing_momentum_map). The support constraints and the ZMP
    /// tracking then apply to p_k + d_k, the centre of pressure the robot will need, while the CoM follows p_k.
    std::vector<Eigen::Vector2d> cop_offset;
  };
  /// Result: the ZMP to apply now, the adapted footsteps and the predicted CoM one sample ahead.
  struct Output {
    bool ok = false;
    Eigen::Vector2d zmp = Eigen::Vector2d::Zero();
    std::vector<Footstep> steps;           ///< Input::steps with steps 1..M adapted
    Eigen::Vector2d com_acc = Eigen::Vector2d::Zero();  ///< omega^2 (c - p) [m/s^2]
    int iterations = 0;
    /// The optimal value of the cost above, constant terms included (comparable between solves with different
    /// support timings; +inf when the QP failed).
    double cost = 0.0;
  };
  /// One solve. Never throws; ok = false (and the ZMP at the stance foot) when the QP fails.
  const Output& solve(const Input& in);

  double w_zmp = 0.3, w_step = 5.0, w_dcm = 100.0, w_jerk = 0.5;
  double w_step_lateral = 5.0;  ///< step tracking across the step's heading (w_step: along it)
  double tail_horizon = 2.0;  ///< [s] of reference beyond the horizon used for the terminal DCM

  int horizon() const { return n_; }
  double dt() const { return dt_; }

 private:
  GaitParams p_;
  int n_, m_;
  double dt_;
  Eigen::MatrixXd Pc_, Pv_;  ///< c_k, c'_k = Pc/Pv [p; x0] per axis (N x (N + 2))
  qp::QpProblem prob_;
  qp::QpSolver solver_;
  Output out_;
};

/// The walking state the MPC plans from.
struct WalkingPhase {
  bool single = true;            ///< single support on `stance` (else double support from `prev` to `stance`)
  double elapsed = 0.0;          ///< time in the phase [s]
  double duration = 0.4;         ///< planned phase duration [s]
  double blend0 = 0.0;           ///< double support: ZMP reference blend (prev -> stance) at the phase start
  Footstep stance, prev;         ///< prev: the foot left behind in double support
  const Footstep* frozen = nullptr;  ///< single support: the swing target when it may no longer move
  /// Single support is planned to last at least this long [s] (one MPC sample): while touchdown is late, the
  /// ZMP applied now stays on the stance foot instead of moving onto a foot still in the air.
  double min_remaining = 0.05;
};

/// Builds the MPC input for a walking phase: the support foot (and in double support the foot left behind) as
/// constants, then `planned` footsteps from the planner for the command — the first M adapt, the rest shape the
/// stable-DCM tail — with alternating double and single support intervals; the last one is open-ended.
LipmMpc::Input walking_mpc_input(const GaitParams& params, const FootstepPlanner& planner, const WalkingPhase& phase,
                                 const Eigen::Vector3d& cmd, const Eigen::Vector2d& com, const Eigen::Vector2d& com_vel,
                                 int planned = 5);

/// Limits of the linear inverted pendulum's N-step capturability analysis: the pendulum, the least time between
/// touchdowns, each foot's rectangular ZMP region and a box of step reach in the stance foot's frame.
struct CaptureLimits {
  double omega = 3.5;        ///< sqrt(g / z) [1/s]
  double step_time = 0.3;    ///< least single-support time of every step after the first [s]
  double half_length = 0.08, half_width = 0.03;  ///< half extents of a foot's ZMP rectangle [m]
  double reach_x = 0.3;      ///< |step| along the stance foot's heading, ZMP-rectangle centre to centre [m]
  /// Lateral distance of the next foot's ZMP-rectangle centre from the stance foot's, toward the swing side:
  /// within [min_width, max_width] (no crossing) [m].
  double min_width = 0.12, max_width = 0.5;
  /// From a GaitParams: omega, the ZMP box, reach_x = max_step_x and [min_width, nominal_width + max_step_y],
  /// both centred on the ZMP boxes (GaitParams::zmp_center), and step_time = min_single t_single. Reach and
  /// step time are the caller's to scale (e.g. a controller's recovery limits).
  static CaptureLimits from_gait(const GaitParams& gait, double min_single = 1.0);
};

/// N-step capturability of the linear inverted pendulum with finite feet (J. Koolen, T. de Boer, J. Rebula,
/// A. Goswami, J. Pratt, "Capturability-based analysis and control of legged locomotion, Part 1: Theory and
/// application to three simple gait models", IJRR 31(9), 2012, sec. 6): the least number of steps n in
/// 0..n_max after which the pendulum can come to rest over its support, or -1 when none within n_max.
///
/// xi: the divergent component of motion (capture point, c + c'/omega) [m] relative to the stance foot's ZMP
/// rectangle centre, in the stance foot's frame (x along its heading, y to its left). stance_side: kLeft or
/// kRight (the next step goes to the other side, never crossing). first_step_time: time until the first step
/// can touch down [s] (>= 0; the rest take lim.step_time).
///
/// Each step the capture point diverges from the centre of pressure p, xi(t) = p + (xi(0) - p) e^(omega t)
/// (Koolen eq. 9). With rectangular ZMP regions and a box reach all in one heading, x and y separate into
/// intervals: along x, capturable in n steps iff |xi_x| <= h_x + (a_(n-1) + L - h_x) e^(-omega t_1) with
/// a_0 = h_x, a_k = h_x + (a_(k-1) + L - h_x) e^(-omega T) (for h_x = 0 the point-foot regions of Koolen eq.
/// 26); along y the intervals alternate sides with the stance foot. Every step is taken as early as allowed
/// (the fastest step is the best one for a capture point outside the support). Never throws.
int capture_steps(const CaptureLimits& lim, const Eigen::Vector2d& xi, int stance_side, double first_step_time,
                  int n_max = 3);

/// Swing-foot reference: minimum-jerk in xy and yaw from lift-off to the (possibly moving) target, and a
/// vertical profile z(s) = z_lift + (z_land - z_lift) s_mj + h 64 s^3 (1 - s)^3 with zero velocity at both ends.
/// Source: T. Flash, N. Hogan, "The coordination of arm movements", J. Neurosci. 5(7), 1985 (minimum jerk).
struct SwingTrajectory {
  Footstep lift;      ///< where the foot left the ground
  Footstep land;      ///< where it should touch down
  double z_lift = 0, z_land = 0, apex = 0.07;
  double duration = 0.4;
  /// Upward unit normals of the ground at lift-off and at touchdown (world): the sole turns from lying on the
  /// first to lying on the second. Vertical unless the terrain is known.
  Eigen::Vector3d lift_normal = Eigen::Vector3d::UnitZ(), land_normal = Eigen::Vector3d::UnitZ();
  /// The sole's orientation (world <- sole) at time t: yaw about the vertical, then tilted so its z axis lies
  /// along the normal interpolated (slerp, minimum-jerk in time) from lift_normal to land_normal.
  Eigen::Matrix3d orientation(double t, double yaw) const;
  /// Sole pose and twist at time t since lift-off (clamped to [0, duration]): position world [m], yaw [rad],
  /// linear velocity [m/s], yaw rate [rad/s].
  void sample(double t, Eigen::Vector3d& pos, double& yaw, Eigen::Vector3d& vel, double& yaw_rate) const;
};

}  // namespace oh::control
