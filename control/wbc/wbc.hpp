// Whole-body control: inverse dynamics as one weighted QP over generalised accelerations and foot contact
// wrenches, with the joint torques eliminated through the actuated rows of the equations of motion.
//
// Source: A. Del Prete, F. Nori, G. Metta, L. Natale, "Prioritized motion-force control of constrained
// fully-actuated robots: Task Space Inverse Dynamics", Robotics and Autonomous Systems 63 (2015) — the TSID
// formulation; contact wrench cone with centre of pressure from S. Caron, Q.-C. Pham, Y. Nakamura,
// "Stability of surface contacts for humanoid robots: closed-form formulae of the contact wrench cone for
// rectangular support areas", ICRA 2015 (eq. 13-15, the linearised friction pyramid form).
//
// Decision variables x = [a (nv); w_1 (6); ...; w_k (6)] for the k feet in contact, where a follows the
// dynamics/ velocity convention and w_i = [f; tau] is the wrench the ground applies to foot i, expressed in the
// sole frame (z normal to the sole) about the sole centre. With M, h = nle from dynamics/ and J_i the LOCAL
// sole Jacobian (6 x nv):
//   minimise    sum_t w_t ||J_t a + drift_t - a*_t||^2 + w_f sum_i ||w_i - w_i*||^2 + eps ||a||^2
//   subject to  M_u a + h_u = sum_i J_{i,u}^T w_i                 (unactuated rows: floating base) [eq]
//               J_i a + dJ_i v = -k_c J_i v                      (feet in contact do not move)    [eq]
//                 (a line contact, WbcParams::passive_sole_roll: the roll row is replaced by tau_x = c_y f_z)
//               tau_min <= M_a a + h_a - sum_i J_{i,a}^T w_i <= tau_max                         [ineq]
//               |f_x|, |f_y| <= mu f_z;  |tau_z| <= mu r f_z (or the rectangle's cone: rectangle_yaw_cone);
//               centre of pressure (-tau_y, tau_x) / f_z
//               inside the foot's support polygon (the convex hull of its collision geometry at the sole,
//               scaled by cop_scale; a rectangle in Caron et al., a triangle for a line-and-toe-bar foot) [ineq]
//               f_z >= f_min;  joint position/velocity limits as acceleration bounds             [bounds]
// Tasks t: centre of mass (3), centroidal angular momentum (3, optional), torso orientation (3), base (pelvis)
// orientation (3, optional), swing feet SE3 (6), hands (3 position, optionally 6),
// joint posture (actuated joints). Gains are in acceleration units (1/s^2, 1/s), so they hold for any robot
// mass; the defaults are derived from the model (natural frequency of the inverted pendulum sqrt(g/z_com)).
#pragma once

#include "dynamics/dynamics.hpp"
#include "model/model.hpp"
#include "model/profile.hpp"

#include <Eigen/Core>
#include <Eigen/Geometry>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace oh::control {

/// Task weights, gains and contact parameters. Every value has a model-derived default (see defaults()).
struct WbcParams {
  double w_com = 10.0, w_torso = 1.0, w_swing = 10.0, w_hand = 10.0, w_posture = 0.05;
  double w_pelvis = 0.0;        ///< base (pelvis) orientation task, gains kp_torso/kd_torso; 0 (or no target): off
  double pelvis_roll_scale = 1.0;  ///< multiplies w_pelvis for the roll about the target's heading axis
  /// Centroidal angular momentum L (about the CoM, world axes) damped toward zero: || Ag_ang a + dAg_ang v +
  /// kd_ang_mom L ||^2 with weight w_ang_mom [units of (kg m^2/s^2)^-2]; 0 turns the task off.
  double w_ang_mom = 0.0, kd_ang_mom = 10.0;  ///< [-], [1/s]
  double w_force = 1e-4;        ///< wrench regularisation towards the reference wrenches (forces, yaw moment)
  double w_cop = 1e-4;          ///< the same for the roll/pitch moments (the centre of pressure)
  double w_acc = 1e-6;          ///< acceleration regularisation
  double kp_com = 60.0, kd_com = 15.5;          ///< [1/s^2], [1/s]
  double kp_torso = 100.0, kd_torso = 20.0;
  double kp_swing = 400.0, kd_swing = 40.0;
  double kp_hand = 100.0, kd_hand = 20.0;
  double kp_posture = 50.0, kd_posture = 14.0;
  double k_contact = 10.0;      ///< contact velocity damping [1/s]
  double mu = 0.3;              ///< friction coefficient of the pyramid: conservative (soft contacts creep near the cone)
  double cop_scale = 0.9;       ///< the centre of pressure stays in the support polygon scaled by this about its centroid
  double f_min = 5.0;           ///< minimum normal force per foot in contact [N]
  /// The soles roll freely about their x axis (heel to toe): a foot in contact is then a line contact, whose
  /// roll the contact rows leave free and whose roll moment is zero (centre of pressure on the polygon
  /// centroid's line, m_x = c_y f_z), and a swing foot's roll is not tracked. True by default for a leg without
  /// an ankle roll joint (see defaults()): its sole cannot hold a roll moment or pose without tipping on its
  /// edge (H1: a heel-to-toe capsule line and a 6 cm toe bar under a pitch-only ankle).
  bool passive_sole_roll = false;
  /// The yaw torque of a sole whose support polygon fills at least 85% of its bounding box is bounded by that
  /// rectangle's exact contact wrench cone (rectangle_yaw_torque_rows: up to mu (X + Y) f_z, coupled with the
  /// tangential force and the centre of pressure) instead of |tau_z| <= mu r f_z, r the polygon centroid's distance
  /// to its nearest edge. True by default for a body without waist joints: its upper body cannot turn against the
  /// swing leg's yaw reaction, which the feet must then hold (Unitree's 12-joint G1: pelvis yaw swung 0.25-0.4 rad
  /// each way per step at 0.5 m/s with the disc bound, 1.6 N m; TienKung 2 Lite fell walking backward). On the
  /// 29-joint G1 it cost 0.8 m of 20 s walking at 0.5 m/s, so robots with a waist keep the disc.
  bool rectangle_yaw_cone = false;
  double limit_horizon = 0.05;  ///< horizon for joint position limits as acceleration bounds [s]
  double joint_omega = 0.0;     ///< low-level PD bandwidth around the q/dq references [rad/s]; 0: torque only
  double reference_band_q = 0.05;  ///< the integrated joint position reference stays this close to the measurement [rad]
  double reference_band_v = 0.5;   ///< and the velocity reference [rad/s]

  /// Defaults for a robot: CoM gains from the pendulum frequency sqrt(g / com_height); passive_sole_roll when a
  /// leg has no ankle joint about the sole's x axis (ankle joints: the leg's revolute joints within 30% of the
  /// hip-to-sole distance of the sole at the nominal configuration; about x: |axis . x_sole| > 0.5).
  static WbcParams defaults(const model::Model& model, const model::Profile& profile);
  /// True when the leg of the given side (0 left, 1 right) has an ankle joint about its sole's x axis (see
  /// defaults()). A leg without joints counts as having one.
  static bool has_ankle_roll(const model::Model& model, const model::Profile& profile, int side);
};

/// What the controller is asked to do this tick. Positions in world [m], orientations world <- frame.
struct WbcTargets {
  Eigen::Vector3d com = Eigen::Vector3d::Zero(), com_vel = Eigen::Vector3d::Zero(),
                  com_acc = Eigen::Vector3d::Zero();
  Eigen::Quaterniond torso = Eigen::Quaterniond::Identity();
  std::optional<Eigen::Quaterniond> pelvis;                ///< base body orientation (world <- base); none: free
  /// Planned ZMP (world xy) [m]: shapes the reference contact wrenches (force m (com_acc + g) shared between the
  /// feet by where the ZMP lies, the stance foot's centre of pressure at it); none: even split at the centroids.
  std::optional<Eigen::Vector2d> zmp;
  std::array<bool, 2> contact{true, true};                 ///< left, right foot in contact
  std::array<Eigen::Isometry3d, 2> foot;                   ///< sole poses for swing feet (ignored in contact)
  std::array<Eigen::Matrix<double, 6, 1>, 2> foot_vel;     ///< [linear; angular] world, swing feet
  std::array<std::optional<Eigen::Vector3d>, 2> hand;      ///< hand frame position targets; none: posture
  Eigen::VectorXd q_posture;                               ///< nq, posture reference for the joints
  /// nv multipliers of w_posture per DoF (e.g. small on the arms so they may help balance); empty: all 1.
  Eigen::VectorXd posture_scale;
};

/// The controller's result for one tick. Joint vectors are over Model::joints' 1-DoF joints, in order.
struct WbcOutput {
  bool ok = false;                ///< QP solved; otherwise tau holds gravity compensation
  std::string status;             ///< QP status text
  Eigen::VectorXd a;              ///< generalised acceleration (nv)
  Eigen::VectorXd tau;            ///< joint efforts [N m | N]
  Eigen::VectorXd q_ref, dq_ref;  ///< joint references one control period ahead
  Eigen::VectorXd kp, kd;         ///< suggested low-level PD gains around the references
  std::array<Eigen::Matrix<double, 6, 1>, 2> wrench;  ///< foot wrenches, sole frame [N; N m]
  Eigen::Vector3d com_acc = Eigen::Vector3d::Zero();  ///< CoM acceleration the solution implies, world [m/s^2]
  int qp_iterations = 0;
};

/// The yaw-torque rows of the contact wrench cone of a rectangular contact with a linearised (pyramid) friction
/// cone at its corners: A w <= 0 (8 rows) for the wrench w = [f; tau] (6) the ground applies, in the sole frame
/// (z normal) about the sole origin; the rectangle has half-extents half_x, half_y [m] along the sole's x and y
/// axes about `center` (sole frame xy) [m]; mu the friction coefficient. With tau' the moment about the centre:
///   -mu (X + Y) f_z + |Y f_x - mu tau'_x| + |X f_y - mu tau'_y| <= tau'_z
///                                  <= mu (X + Y) f_z - |Y f_x + mu tau'_x| - |X f_y + mu tau'_y|.
/// Together with |f_x|, |f_y| <= mu f_z and the centre of pressure in the rectangle this is the whole cone.
/// Source: S. Caron, Q.-C. Pham, Y. Nakamura, "Stability of surface contacts for humanoid robots: closed-form
/// formulae of the contact wrench cone for rectangular support areas", ICRA 2015, Theorem 1. Never throws.
Eigen::Matrix<double, 8, 6> rectangle_yaw_torque_rows(double half_x, double half_y, double mu,
                                                      const Eigen::Vector2d& center);

/// Convex hull of points in the plane (xy, any units), counter-clockwise, collinear points dropped (A. M. Andrew,
/// "Another efficient algorithm for convex hulls in two dimensions", Inf. Process. Lett. 9(5), 1979: the monotone
/// chain). Fewer than 3 points come back as they are. Never throws.
std::vector<Eigen::Vector2d> convex_hull(std::vector<Eigen::Vector2d> points);

/// TSID-style whole-body controller for any humanoid with a Profile. No per-robot code.
class WholeBodyController {
 public:
  /// Builds the dynamics model (with a frame at each sole centre) and sizes the QP. Throws std::invalid_argument
  /// if the model has no floating base or an unsupported joint.
  WholeBodyController(const model::Model& model, const model::Profile& profile, double dt,
                      std::optional<WbcParams> params = std::nullopt);
  ~WholeBodyController();

  /// One control tick. q: nq (MuJoCo qpos layout), v: nv (dynamics/ convention). Never throws; on a failed
  /// QP returns ok = false with gravity-compensating torques.
  const WbcOutput& update(const Eigen::VectorXd& q, const Eigen::VectorXd& v, const WbcTargets& targets);

  /// World pose of a sole frame (0 left, 1 right) and of a hand frame at the given configuration.
  Eigen::Isometry3d sole_pose(const Eigen::VectorXd& q, int side);
  Eigen::Vector3d hand_position(const Eigen::VectorXd& q, int side);
  /// World position of the centroid of a foot's support polygon (on the sole plane) at the given configuration.
  Eigen::Vector3d support_center(const Eigen::VectorXd& q, int side);
  /// World positions of the vertices of a foot's support polygon (counter-clockwise seen from above the sole) at
  /// the given configuration.
  std::vector<Eigen::Vector3d> support_polygon(const Eigen::VectorXd& q, int side);
  /// The convex hull of both feet's support polygons in the world's xy plane (counter-clockwise): the support region
  /// of a double stance on flat ground.
  std::vector<Eigen::Vector2d> support_hull(const Eigen::VectorXd& q);
  Eigen::Vector3d com(const Eigen::VectorXd& q);
  /// Torso frame orientation in the world.
  Eigen::Quaterniond torso_orientation(const Eigen::VectorXd& q);
  /// Centroidal angular momentum the motion of a swing foot carries: the 3 x 3 map K with L = K v_foot, where
  /// v_foot is the swing sole's linear velocity (world) [m/s] and L the angular momentum about the CoM (world
  /// axes) [kg m^2/s], at configuration q (nq), when the other sole stays fixed, the CoM, the torso and the base
  /// orientation hold and the joints otherwise move least: the velocity-level weighted least squares of this
  /// controller's tasks (stance contact and swing sole as near-hard rows, then w_com, w_torso, w_pelvis and
  /// w_posture). With the swing's planned acceleration a_foot, K a_foot predicts dL/dt, which moves the centre of
  /// pressure away from the pendulum's ZMP by (-dL_y, dL_x) / (m g) (the angular-momentum term of the ZMP,
  /// S. Kajita et al., "Resolved momentum control", IROS 2003, eq. 7). swing_side: 0 left, 1 right.
  Eigen::Matrix3d swing_momentum_map(const Eigen::VectorXd& q, int swing_side);

  const WbcParams& params() const { return params_; }
  WbcParams& params() { return params_; }
  const dynamics::Model& dynamics_model() const;
  double mass() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  WbcParams params_;
};

}  // namespace oh::control
