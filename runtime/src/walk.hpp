// The walking controller: gait state machine, footstep planning, LIPM MPC with footstep adaptation and swing
// trajectories (control/locomotion) feeding the whole-body controller (control/wbc).
#pragma once

#include "control/locomotion/locomotion.hpp"
#include "control/wbc/wbc.hpp"
#include "dynamics/dynamics.hpp"
#include "runtime/runner.hpp"

#include <array>
#include <functional>

namespace oh::runtime {

/// A velocity command as a function of time since the start of the run: (vx [m/s], vy [m/s], wz [rad/s]) in the
/// robot's heading frame.
using CommandFn = std::function<Eigen::Vector3d(double)>;

/// Walks on the command: stands while the command is zero, starts with a weight shift, steps with touchdown
/// detection (early touchdown on contact force, late touchdown by lowering the swing foot), and stops with the
/// feet side by side. The MPC runs at 100 Hz; the WBC at the control rate. Gait, MPC and WBC parameters can be
/// overridden with the profile YAML key `walking:` (GaitParams::override_keys() and apply_overrides()).
class WalkController : public Controller {
 public:
  WalkController(const model::Model& model, const model::Profile& profile, double dt, CommandFn command);
  std::string name() const override { return "mpc+wbc"; }
  void reset(const RobotState& state, const Estimate& estimate) override;
  void update(const RobotState& state, const Estimate& estimate, std::vector<MotorCommand>& out) override;
  nlohmann::json metrics() const override;
  const control::GaitParams& gait() const { return gait_; }
  int steps_taken() const { return steps_taken_; }
  /// Median and 99th percentile of the MPC solve time [us].
  std::pair<double, double> mpc_solve_us() const;
  /// The least number of steps (0-3) that can bring a capture point to rest under this controller's own pendulum
  /// model and recovery limits (control::capture_steps: the MPC's ZMP boxes and step reach, every step as quick
  /// as recovery allows, the swing in the air landing as soon as it may), from the current support: -1 when
  /// none within 3 steps. com, com_vel: world [m, m/s]; the capture point is c + c'/omega in xy. A capture point
  /// that is not capturable here can be caught only by means the model leaves out (crossing steps, momentum).
  int capture_steps(const Eigen::Vector3d& com, const Eigen::Vector3d& com_vel) const;
  /// Gives the controller the ground's upward unit normal at a world point (xy) [m] (a known terrain, e.g. from a
  /// map): swing soles then land parallel to the ground there. Unset (the default): blind, soles land level.
  using NormalFn = std::function<Eigen::Vector3d(const Eigen::Vector2d&)>;
  void set_terrain_normal(NormalFn normal) { terrain_normal_ = std::move(normal); }

 private:
  enum class Phase { kStand, kDouble, kSingle };
  control::Footstep measured_step(const Eigen::VectorXd& q, int side);
  /// The first weight shift from standing takes one step period.
  double start_duration() const { return gait_.t_step(); }
  /// Applies Profile::walking entries that are not GaitParams fields to the WBC and MPC parameters; throws
  /// std::invalid_argument for an unknown name or a negative value.
  void apply_overrides();
  void run_mpc(double t, const Eigen::VectorXd& q, const Eigen::Vector2d& c, const Eigen::Vector2d& cd, const Eigen::Vector3d& cmd);

  const model::Model& model_;
  const model::Profile& profile_;
  control::WholeBodyController wbc_;
  dynamics::Data data_;
  control::GaitParams gait_;
  control::FootstepPlanner planner_;
  control::LipmMpc mpc_;
  CommandFn command_;
  control::WbcTargets targets_;
  double dt_ = 0.002, t0_ = 0.0, phase_t_ = 0.0, last_mpc_ = -1.0, weight_ = 0.0;
  Phase phase_ = Phase::kStand;
  control::Footstep stance_, prev_, target_;  ///< stance foot, foot left behind (double support), swing target
  control::SwingTrajectory swing_;
  Eigen::Vector2d zmp_ = Eigen::Vector2d::Zero();  ///< the MPC's ZMP for now (world xy)
  Eigen::Vector2d com_offset_ = Eigen::Vector2d::Zero();  ///< standing CoM relative to the feet midpoint
  double com_z_offset_ = 0.0;
  Eigen::Vector2d shift_from_ = Eigen::Vector2d::Zero();  ///< CoM at reset: start of the initial shift
  double shift_T_ = 0.0;  ///< duration of the initial CoM shift onto the standing target [s] (0: none)
  Eigen::Vector2d feet_offset_ = Eigen::Vector2d::Zero();  ///< left sole relative to the right one, right sole frame
  Eigen::Matrix3d pelvis_rel_ = Eigen::Matrix3d::Identity();  ///< nominal base orientation with its yaw removed
  Eigen::Matrix3d torso_rel_ = Eigen::Matrix3d::Identity();  ///< nominal torso orientation with its yaw removed
  double stand_blend_ = 0.5;
  double double_duration_ = 0.1;  ///< duration of the current double support [s] (t_double, longer after an early touchdown)
  /// Planned duration of the current single support [s]: t_single, shorter when the MPC lands the step early.
  double single_duration_ = 0.4;
  /// Progress of the swing on its trajectory's own clock [s, 0..swing_.duration]: it advances at the rate that
  /// reaches the end at the planned touchdown, so retiming the step keeps the reference continuous.
  double swing_tau_ = 0.0;
  /// Step timing adaptation (nonzero: on): each MPC solve also tries shorter remaining phase durations and keeps
  /// the one of least cost (a pushed robot steps sooner); single support lasts at least timing_min_single
  /// t_single.
  double timing_adaptation_ = 1.0, timing_min_single_ = 0.6;
  double swing_freeze_ = 0.7;  ///< fraction of the swing after which its landing target stays where it is
  /// Recovery mode: for recovery_time after an MPC plan that costs more than the timing search's saving threshold
  /// (the DCM ran off, e.g. after a push), the WBC's cop_scale is at most recovery_cop_scale, the landing point
  /// adapts until recovery_swing_freeze of the swing and single support may shorten to recovery_min_single of
  /// t_single; once past the first two steps, swings on level ground lift the foot recovery_step_height of the
  /// step height, and after a push (observed_push_until_) the WBC damps the centroidal angular momentum
  /// (WbcParams::w_ang_mom) with the weight recovery_ang_mom w_com / (m z_c)^2, m the total mass [kg] and z_c the
  /// gait's CoM height [m]: that scale makes the task's L' error [N m] (of order m z_c times a CoM acceleration)
  /// weigh recovery_ang_mom times as much as the same CoM acceleration error, on any robot.
  static constexpr double kNever = 1e9;  ///< [s] a time long past
  double last_costly_plan_ = -kNever;  ///< [s] the MPC's last costly plan: recovery mode lasts recovery_time after it
  /// True while in recovery mode at time t [s] (within recovery_time of the last costly plan).
  bool recovering(double t) const { return t < last_costly_plan_ + recovery_time_; }
  double recovery_time_ = 3.5;   ///< [s]
  double recovery_cop_scale_ = 0.6, recovery_swing_freeze_ = 1.0, recovery_min_single_ = 0.45;
  double recovery_step_height_ = 0.3;  ///< swing apex after a push, a fraction of the gait's step height
  double recovery_ang_mom_ = 5.0;      ///< angular momentum damping during recovery, relative to the CoM task [-]
  double recovery_ang_mom_weight_ = 0.0;  ///< the WBC weight it gives [(kg m^2/s^2)^-2]
  /// Time until which the controller recovers from a push past its first two steps [s]: swings are low and the
  /// angular momentum is damped.
  double pushed_until_ = -1.0;
  /// Push detection by a momentum observer (see update()): a horizontal CoM velocity change that the measured
  /// contact forces do not explain, larger than push_threshold sqrt(g z_c), counts as a push for recovery_time.
  /// The angular momentum damping needs both this and pushed_until_.
  double push_threshold_ = 0.12;                     ///< [-]
  static constexpr double push_observer_gain = 3.0;  ///< [1/s]
  Eigen::Vector2d push_observer_v_ = Eigen::Vector2d::Zero();  ///< CoM velocity the contact forces predict [m/s]
  bool push_observer_on_ = false;
  double observed_push_until_ = -1.0;  ///< [s]
  double uneven_until_ = -1.0;  ///< time until which the ground counts as uneven (a foot landed off level) [s]
  /// Blind slope estimate from the footholds: the ground's rise per metre along the stance foot's heading [-],
  /// the smaller (minmod) of the last two foot-to-foot slopes, so one step up a block (a single rise) gives 0 and a
  /// ramp (two rises in a row) its gradient. The swing aims its landing height along it. 0 when off.
  double ground_slope_ = 0.0, last_step_slope_ = 0.0;
  double slope_min_ = 0.0, slope_max_ = 0.0;  ///< ground_slope_'s range since reset() (metrics)
  std::array<double, 2> foothold_z_{0.0, 0.0};  ///< each sole's height in its last single support [m]
  double slope_estimate_ = 1.0;  ///< nonzero: estimate ground_slope_ (profile key `slope_estimate`)
  /// Landing height [m] for a swing from `stance` to `land` xy [m] on the estimated slope.
  double predicted_ground_z(const control::Footstep& stance, const Eigen::Vector2d& land) const;
  double swing_apex_ = 0.0;  ///< apex of the swings planned this tick [m]
  NormalFn terrain_normal_;  ///< known terrain, or empty (blind)
  /// Known terrain: at each touchdown, the angle between the landing sole's normal and the ground's [rad].
  std::vector<double> touchdown_tilt_error_;
  double stop_step_scale_ = 10.0;  ///< the MPC's step-tracking weights multiply by this under a zero command
  double reach_scale_ = 2.0;  ///< the MPC's step reach relative to the footstep planner's (max_step_x, max_step_y)
  control::CaptureLimits capture_limits_;  ///< the MPC's reach and the quickest recovery step (capture_steps)
  /// The rate d swing_tau / dt that ends the swing `remaining` seconds from now.
  double swing_rate(double remaining) const;
  control::LipmMpc::Output mpc_out_;  ///< the chosen solve
  int steps_taken_ = 0, mpc_failures_ = 0, qp_failures_ = 0;
  std::vector<double> mpc_us_;
  bool trace_ = false;  ///< OH_WALK_TRACE set: print the gait state every 20 ms on stderr
  double leg_posture_scale_ = 1.0, arm_posture_scale_ = 1.0;  ///< posture weight multipliers while walking
  double touchdown_clearance_ = 0.003;  ///< [m] a swing foot this close at the planned time has landed
  /// Swing progress (0 lift-off, 1 planned touchdown) from which any firm contact is the touchdown in steady
  /// walking (profile key `touchdown_progress`); for touchdown_push_hold after a costly plan (a push) it is 0.8.
  double touchdown_progress_ = 0.95;
  double touchdown_push_hold_ = 0.5;  ///< [s] (profile key `touchdown_push_hold`)
  double mpc_period_ = 0.01;  ///< [s] between MPC solves (100 Hz)
  double use_zmp_reference_ = 0.0;  ///< nonzero: the WBC's reference wrenches follow the MPC's ZMP
  /// Scale of the swing leg's predicted centre-of-pressure offset given to the MPC (1: as predicted, 0: none).
  double swing_momentum_ = 1.0;
  double swing_momentum_bound_ = 2.0;  ///< bound on each component of that offset [sole lengths]
  /// The MPC's ZMP box keeps the stance leg's static joint torques (the robot's weight on one foot) within this share
  /// of their limits. Above 1 because in double support the weight is shared: H1 (the only robot here it cuts)
  /// at 1.0 walks 8.43 m in 20 s at 0.5 m/s, at 1.2 9.04 m (backward RMSE 0.086 and 0.094), at 1.5 9.27 m but
  /// backward RMSE 0.112; without the cut 9.39 m, but backward at 0.02 m/s without the velocity integral.
  double torque_share_ = 1.2;
  double crouch_ = 0.04;  ///< walking posture: the nominal one crouched by this fraction of the leg length
  /// Velocity tracking: integral gain [1/s] on the stride-filtered velocity error that adds to the command the
  /// planner sees, on the commanded linear axes only (0: off); the filtered velocity (heading frame: vx, vy, wz;
  /// wz for the trace) and the accumulated correction.
  double velocity_ki_ = 0.6;
  Eigen::Vector3d vel_filt_ = Eigen::Vector3d::Zero(), cmd_bias_ = Eigen::Vector3d::Zero();
  double yaw_prev_ = 0.0;
  /// Double support shortens with forward speed, by this fraction at the command limit (humans' double-support
  /// share of the gait cycle also falls with speed).
  double ds_speed_scale_ = 0.7;
  /// The double-support duration [s] for a command (vx [m/s], ...): t_double (1 - ds_speed_scale |vx| / max_vx).
  double double_support(const Eigen::Vector3d& cmd) const;
  /// The command the planner sees: `cmd` plus the integral correction, updated from the measured velocity.
  Eigen::Vector3d corrected_command(const Eigen::Vector3d& cmd, const Eigen::VectorXd& q, const Eigen::Vector3d& cd);
  Eigen::VectorXd q_walk_;  ///< the walking posture (nq)
  /// Per swing side: centroidal angular momentum per unit swing-sole velocity at the current posture
  /// (WholeBodyController::swing_momentum_map) [kg m^2/s per m/s].
  std::array<Eigen::Matrix3d, 2> swing_K_{Eigen::Matrix3d::Zero(), Eigen::Matrix3d::Zero()};
  Eigen::Vector2d trace_offset_ = Eigen::Vector2d::Zero();  ///< the swing's offset now (trace only)
  Eigen::Vector2d cop_offset0_ = Eigen::Vector2d::Zero();  ///< the swing's offset over the MPC's first sample
  /// A swing from `lift` (its own height) to `land` at height z_land [m] over `duration` [s] with apex swing_apex_.
  control::SwingTrajectory planned_swing(const control::Footstep& lift, const control::Footstep& land, double z_land,
                                         double duration) const;
  /// The centre-of-pressure shift (world xy) [m] of a centroidal angular momentum rate dL [N m], scaled by
  /// swing_momentum_: (-dL_y, dL_x) / (m g), each component bounded by twice the sole length.
  Eigen::Vector2d cop_shift(const Eigen::Vector3d& dL) const;
  /// The swing's centre-of-pressure offset (world xy) [m] averaged over [t0, t1] s from now, for an MPC input.
  Eigen::Vector2d swing_cop_offset(const control::LipmMpc::Input& in, double t0, double t1) const;
};

}  // namespace oh::runtime
