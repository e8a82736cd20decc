#include "runtime/src/walk.hpp"

#include "runtime/src/common.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace oh::runtime {
namespace {

// The steepest ground the blind slope estimate assumes (20 degrees), and the least rise between two footholds it
// counts (below: level ground, where the measured sole heights differ by a millimetre or two) over a run along the
// heading of at least kMinRun.
constexpr double kMaxGroundSlope = 0.36, kMinRise = 0.005, kMinRun = 0.03;

double wrap(double a) { return std::atan2(std::sin(a), std::cos(a)); }

/// Orientation of the floating base (world <- base) in configuration q: the free joint of the profile's base body.
Eigen::Matrix3d base_rotation(const model::Model& model, const model::Profile& profile, const Eigen::VectorXd& q) {
  const int i = model.joints[model.bodies[profile.base_body].joints.front()].q_index + 3;
  return Eigen::Quaterniond(q[i], q[i + 1], q[i + 2], q[i + 3]).normalized().toRotationMatrix();
}

/// Clips a convex polygon (counter-clockwise) to the half-plane n . p <= b (Sutherland-Hodgman, one edge).
std::vector<Eigen::Vector2d> clip_half_plane(const std::vector<Eigen::Vector2d>& poly, const Eigen::Vector2d& n,
                                             double b) {
  std::vector<Eigen::Vector2d> out;
  for (size_t k = 0; k < poly.size(); ++k) {
    const Eigen::Vector2d& a = poly[k];
    const Eigen::Vector2d& c = poly[(k + 1) % poly.size()];
    const double da = n.dot(a) - b, dc = n.dot(c) - b;
    if (da <= 0) out.push_back(a);
    if ((da < 0 && dc > 0) || (da > 0 && dc < 0)) out.push_back(a + (c - a) * (da / (da - dc)));
  }
  return out;
}

/// Signed distance of p inside a convex polygon (counter-clockwise): the least distance to an edge's line,
/// negative outside. -inf for fewer than 3 vertices.
double inside_margin(const std::vector<Eigen::Vector2d>& poly, const Eigen::Vector2d& p) {
  if (poly.size() < 3) return -std::numeric_limits<double>::infinity();
  double m = std::numeric_limits<double>::infinity();
  for (size_t k = 0; k < poly.size(); ++k) {
    const Eigen::Vector2d& a = poly[k];
    const Eigen::Vector2d& b = poly[(k + 1) % poly.size()];
    const Eigen::Vector2d n = Eigen::Vector2d(b.y() - a.y(), a.x() - b.x()).normalized();  // outward
    m = std::min(m, n.dot(a - p));
  }
  return m;
}

}  // namespace

WalkController::WalkController(const model::Model& model, const model::Profile& profile, double dt, CommandFn command)
    : model_(model), profile_(profile), wbc_(model, profile, dt), data_(wbc_.dynamics_model()),
      gait_(control::GaitParams::from_profile(model, profile)), planner_(gait_), mpc_(gait_),
      command_(std::move(command)), dt_(dt) {
  weight_ = model.total_mass() * model.gravity.norm();
  trace_ = std::getenv("OH_WALK_TRACE") != nullptr;
  // Walking leans on the CoM following the MPC's pendulum: its acceleration must win over posture and torso.
  wbc_.params().w_com = 1000.0;
  // The pelvis stays level under its heading: the legs then work from a steady root while the waist lets the
  // torso move (without it the built-in robot's pelvis rocked by 0.2-0.3 rad each step). Without a waist the torso
  // task already holds the pelvis.
  wbc_.params().w_pelvis = profile.torso_body != profile.base_body ? 10.0 : 0.0;
  // A body with neither waist nor arms (the upper body one rigid block with the pelvis) has only that task to hold
  // the whole upper body against the swing leg's reaction: three times the torso's weight. Unitree's 12-joint G1
  // (with the feet's rectangle yaw cone, WbcParams::rectangle_yaw_cone) walks 7.92 m in 20 s at 0.5 m/s with it
  // (vx RMSE 0.080, yaw rate 0.117), 7.23 m with 1 (RMSE 0.117, 0.48), 6.9-7.3 m with 2, 4 or 5.
  if (profile.waist_joints.empty() && profile.arm_joints.empty()) wbc_.params().w_torso *= 3.0;
  // The swing foot keeps to its trajectory: the MPC planned the centre of pressure for that swing's momentum.
  wbc_.params().w_swing = 1000.0;
  // Steps adapt freely along the heading (the CoM's progress sets the stride) but hold their width.
  mpc_.w_step = 0.5;
  if (gait_.leg_dof < 6) {
    // A leg that cannot set its sole's full pose (e.g. no ankle roll) can neither hold the swing sole's
    // orientation, which the swing's momentum map assumes, nor track a 6-D swing pose tightly without pulling
    // the body along: no swing-momentum offsets and a soft swing task. (H1, 5-DoF legs: fell within 4 s at any
    // command before; now walks 0.5 m/s for 20 s.)
    swing_momentum_ = 0.0;
    wbc_.params().w_swing = 100.0;
  }
  if (wbc_.params().passive_sole_roll) {
    // Soles that hold no roll moment (line contacts) balance sideways by stepping alone: the landing point keeps
    // adapting until touchdown, a pushed step may be quicker, and recovery steps stay nearer the planner's reach
    // (H1 lifted a trailing foot at the end of its reach too late and fell). H1 under random:0.6:3: 27 of 30 seeds
    // survive (seeds 1-30), 12 of 30 with the general defaults (swing_freeze 0.7, timing_min_single 0.6,
    // reach_scale 2); each of the three alone or in pairs: 5-7 of 10.
    swing_freeze_ = 1.0;
    timing_min_single_ = 0.45;
    reach_scale_ = 1.4;
    // And a lighter angular momentum damping after a push. H1: random:0.6:3 30 of seeds 1-30 and single 1.0 m/s
    // pushes 55 of 64 at 2 (27 and 52 without); at the general 5, 29 and 55, seed 3 falling.
    recovery_ang_mom_ = 2.0;
  }
  apply_overrides();
  // Walking posture: the nominal one, or crouched by a fraction of the leg length (bent knees: a straight leg is
  // singular and lifts its foot only by rolling the pelvis). The gait's CoM height follows unless overridden.
  q_walk_ = model::crouched(model, profile, profile.q_nominal, crouch_);
  if (crouch_ > 0 && profile.walking.count("com_height") == 0)
    gait_.com_height -= model::center_of_mass(model, profile.q_nominal).z() - model::center_of_mass(model, q_walk_).z();
  {
    const double mz = model.total_mass() * std::max(gait_.com_height, 0.1);
    recovery_ang_mom_weight_ = recovery_ang_mom_ * wbc_.params().w_com / (mz * mz);
  }
  // The MPC's ZMP box inside the support polygon the WBC enforces (left sole frame, scaled like the WBC's).
  {
    const Eigen::VectorXd& q = profile_.q_nominal;
    const Eigen::Isometry3d to_sole = wbc_.sole_pose(q, control::kLeft).inverse();
    const Eigen::Vector3d ctr = to_sole * wbc_.support_center(q, control::kLeft);
    std::vector<Eigen::Vector2d> poly;
    for (const Eigen::Vector3d& v : wbc_.support_polygon(q, control::kLeft)) {
      const Eigen::Vector3d p = to_sole * v;
      poly.push_back(ctr.head<2>() + wbc_.params().cop_scale * (p - ctr).head<2>());
    }
    // Where the stance leg's joints can hold the robot's weight: the ground force (0, 0, m g) at a centre of
    // pressure c loads joint j (anchor p_j, axis a_j) with tau_j = a_j . ((c - p_j) x f), which must stay within
    // torque_share of its effort limit. Each joint cuts the polygon by two half-planes. A foot whose ankle is
    // weak for its robot's weight loses part of its sole: H1's 40 N m ankle holds its 51 kg only up to 8 cm in
    // front of the ankle, 2.7 cm in front of the sole centre at torque_share 1 (the WBC, which enforces the limit,
    // kept the centre of pressure there while the MPC planned up to 8 cm, and H1 walked backward at 0.02 m/s for a
    // 0.3 m/s command). Legs too weak to hold the weight anywhere on the sole keep the sole's polygon.
    dynamics::forward_kinematics(wbc_.dynamics_model(), data_, q);
    const std::vector<Eigen::Vector2d> sole_poly = poly;
    for (const int j : profile_.left_leg.joints) {
      const model::Joint& jt = model_.joints[j];
      if (jt.nv != 1 || jt.type != model::JointType::kRevolute || !(jt.effort_limit > 0)) continue;
      const dynamics::SE3& X = dynamics::frame_placement(wbc_.dynamics_model(), data_,
                                                         wbc_.dynamics_model().body_frame[jt.body]);
      const Eigen::Vector3d p = to_sole * (X.R * jt.pos + X.p);
      const Eigen::Vector3d a = to_sole.linear() * (X.R * jt.axis);
      // tau(c) = a . ((c - p) x f) = W (a_x (c_y - p_y) - a_y (c_x - p_x)) = n . c - n . p for c on the sole plane,
      // f = (0, 0, W); a vertical axis carries no torque.
      const Eigen::Vector2d n = weight_ * Eigen::Vector2d(-a.y(), a.x());
      if (n.norm() < 1e-9) continue;
      const double tau_p = n.dot(p.head<2>()), lim = torque_share_ * jt.effort_limit;
      poly = clip_half_plane(poly, n, tau_p + lim);
      poly = clip_half_plane(poly, -n, -tau_p + lim);
    }
    if (poly.size() < 3) poly = sole_poly;
    gait_.fit_zmp_box(poly);
    planner_ = control::FootstepPlanner(gait_);
    const control::LipmMpc tuned = mpc_;  // its weights are set by the overrides
    // The MPC may place a step beyond the planner's reach (a recovery step), by reach_scale.
    control::GaitParams reach = gait_;
    reach.max_step_x *= reach_scale_;
    reach.max_step_y *= reach_scale_;
    mpc_ = control::LipmMpc(reach);
    mpc_.w_zmp = tuned.w_zmp, mpc_.w_step = tuned.w_step, mpc_.w_step_lateral = tuned.w_step_lateral;
    mpc_.w_dcm = tuned.w_dcm, mpc_.w_jerk = tuned.w_jerk;
    // The same reach, with the quickest recovery step, for the capture analysis (capture_steps).
    capture_limits_ = control::CaptureLimits::from_gait(reach, std::min(timing_min_single_, recovery_min_single_));
  }
}

double WalkController::predicted_ground_z(const control::Footstep& stance, const Eigen::Vector2d& land) const {
  const Eigen::Vector2d h(std::cos(stance.yaw), std::sin(stance.yaw));
  return stance.z + ground_slope_ * h.dot(land - stance.pos);
}

control::SwingTrajectory WalkController::planned_swing(const control::Footstep& lift, const control::Footstep& land,
                                                       double z_land, double duration) const {
  control::SwingTrajectory tr;
  tr.lift = lift;
  tr.z_lift = lift.z;
  tr.land = land;
  tr.z_land = z_land;
  tr.apex = swing_apex_;
  tr.duration = duration;
  if (terrain_normal_) {
    tr.lift_normal = terrain_normal_(lift.pos);
    tr.land_normal = terrain_normal_(land.pos);
  }
  return tr;
}

Eigen::Vector2d WalkController::cop_shift(const Eigen::Vector3d& dL) const {
  // Bounded by twice the sole length: far beyond what a normal swing needs (G1 at 0.5 m/s: 1.5 sole lengths),
  // it keeps a momentum map taken in a falling, contorted posture from throwing the MPC's plan off.
  const double bound = swing_momentum_bound_ * std::max(profile_.left_foot.length, profile_.right_foot.length);
  const Eigen::Vector2d d = swing_momentum_ * Eigen::Vector2d(-dL.y(), dL.x()) / weight_;
  return bound > 0 ? d.cwiseMax(-bound).cwiseMin(bound) : d;
}

Eigen::Vector2d WalkController::swing_cop_offset(const control::LipmMpc::Input& in, double t0, double t1) const {
  // Swing sole velocity at time t from now: the swing in progress, or a planned one (support interval on step j:
  // from step j - 1 to step j + 1) with the swing trajectory's profile.
  auto foot_vel = [&](double t, int& side) -> Eigen::Vector3d {
    Eigen::Vector3d p, v = Eigen::Vector3d::Zero();
    double yaw = 0, yaw_rate = 0;
    for (size_t i = 0; i < in.support.size(); ++i) {
      const control::SupportInterval& s = in.support[i];
      if (t < s.t0 || t >= s.t1) continue;
      if (s.next >= 0) return v;
      if (i == 0 && phase_ == Phase::kSingle) {
        // The swing in progress, on its clock: it ends at this interval's end.
        side = swing_.lift.side;
        const double rate = swing_rate(s.t1);
        swing_.sample(swing_tau_ + rate * t, p, yaw, v, yaw_rate);
        return v * rate;
      }
      const int j = s.foot;
      if (j < 1 || j + 1 >= static_cast<int>(in.steps.size())) return v;
      const control::SwingTrajectory tr = planned_swing(in.steps[static_cast<size_t>(j - 1)],
                                                        in.steps[static_cast<size_t>(j + 1)],
                                                        in.steps[static_cast<size_t>(j)].z, s.t1 - s.t0);
      side = tr.land.side;
      tr.sample(t - s.t0, p, yaw, v, yaw_rate);
      return v;
    }
    return v;
  };
  int side0 = -1, side1 = -1;
  const Eigen::Vector3d v0 = foot_vel(t0, side0), v1 = foot_vel(t1 - 1e-9, side1);
  const int side = side1 >= 0 ? side1 : side0;
  if (side < 0) return Eigen::Vector2d::Zero();
  // dL/dt = K a_foot with the acceleration averaged over the interval; a swing that ends (or starts) inside it
  // contributes its velocity change.
  const Eigen::Vector3d dL = swing_K_[side] * ((side0 == side ? v1 - v0 : v1) / (t1 - t0));
  return cop_shift(dL);
}

double WalkController::double_support(const Eigen::Vector3d& cmd) const {
  const double speed = gait_.max_vx > 0 ? std::min(1.0, std::abs(cmd.x()) / gait_.max_vx) : 0.0;
  return gait_.t_double * (1.0 - std::clamp(ds_speed_scale_, 0.0, 0.9) * speed);
}

Eigen::Vector3d WalkController::corrected_command(const Eigen::Vector3d& cmd, const Eigen::VectorXd& q,
                                                  const Eigen::Vector3d& cd) {
  const double yaw = yaw_of(base_rotation(model_, profile_, q));
  const double yaw_rate = wrap(yaw - yaw_prev_) / dt_;
  yaw_prev_ = yaw;
  if (velocity_ki_ <= 0) return cmd;
  const bool moving = cmd.cwiseAbs().maxCoeff() > 1e-3;
  if (phase_ == Phase::kStand || !moving) {
    vel_filt_ = cmd;
    cmd_bias_.setZero();
    return cmd;
  }
  // Velocity in the heading frame, low-passed over a stride (two steps) so the sway within a step averages out.
  const Eigen::Vector2d v = Eigen::Rotation2Dd(-yaw) * cd.head<2>();
  const double tau = 2.0 * gait_.t_step();
  vel_filt_ += (Eigen::Vector3d(v.x(), v.y(), yaw_rate) - vel_filt_) * std::min(1.0, dt_ / tau);
  // Integral action: model errors (the pendulum's, the swing leg's) leave the speed the gait settles at short
  // of (or beyond) the command; the correction is bounded by half the command limits so a push or a stall cannot
  // wind it up further.
  // Only along the commanded linear axes: the turn rate tracks well without it, and corrections of the
  // sway while turning in place made it fall more often under pushes.
  Eigen::Vector3d lim = 0.5 * Eigen::Vector3d(gait_.max_vx, gait_.max_vy, 0.0);
  for (int i = 0; i < 2; ++i)
    if (std::abs(cmd[i]) < 1e-3) lim[i] = 0.0;
  cmd_bias_ = (cmd_bias_ + velocity_ki_ * dt_ * (cmd - vel_filt_)).cwiseMax(-lim).cwiseMin(lim);
  return cmd + cmd_bias_;
}

void WalkController::apply_overrides() {
  control::WbcParams& w = wbc_.params();
  double passive_sole_roll = w.passive_sole_roll ? 1.0 : 0.0, rectangle_yaw_cone = w.rectangle_yaw_cone ? 1.0 : 0.0;
  const std::vector<std::pair<const char*, double*>> table = {
      {"w_com", &w.w_com},
      {"w_torso", &w.w_torso},
      {"w_pelvis", &w.w_pelvis},
      {"pelvis_roll_scale", &w.pelvis_roll_scale},
      {"w_swing", &w.w_swing},
      {"w_posture", &w.w_posture},
      {"w_ang_mom", &w.w_ang_mom},
      {"kd_ang_mom", &w.kd_ang_mom},
      {"kp_com", &w.kp_com},
      {"kd_com", &w.kd_com},
      {"kp_torso", &w.kp_torso},
      {"kd_torso", &w.kd_torso},
      {"kp_swing", &w.kp_swing},
      {"kd_swing", &w.kd_swing},
      {"joint_omega", &w.joint_omega},
      {"cop_scale", &w.cop_scale},
      {"mu", &w.mu},
      {"w_force", &w.w_force},
      {"w_cop", &w.w_cop},
      {"zmp_reference", &use_zmp_reference_},
      {"mpc_period", &mpc_period_},
      {"mpc_w_zmp", &mpc_.w_zmp},
      {"mpc_w_step", &mpc_.w_step},
      {"mpc_w_step_lateral", &mpc_.w_step_lateral},
      {"mpc_w_dcm", &mpc_.w_dcm},
      {"mpc_w_jerk", &mpc_.w_jerk},
      {"leg_posture_scale", &leg_posture_scale_},
      {"arm_posture_scale", &arm_posture_scale_},
      {"touchdown_clearance", &touchdown_clearance_},
      {"touchdown_progress", &touchdown_progress_},
      {"touchdown_push_hold", &touchdown_push_hold_},
      {"swing_momentum", &swing_momentum_},
      {"crouch", &crouch_},
      {"velocity_ki", &velocity_ki_},
      {"ds_speed_scale", &ds_speed_scale_},
      {"timing_adaptation", &timing_adaptation_},
      {"timing_min_single", &timing_min_single_},
      {"reach_scale", &reach_scale_},
      {"swing_freeze", &swing_freeze_},
      {"swing_momentum_bound", &swing_momentum_bound_},
      {"torque_share", &torque_share_},
      {"stop_step_scale", &stop_step_scale_},
      {"recovery_time", &recovery_time_},
      {"recovery_cop_scale", &recovery_cop_scale_},
      {"recovery_swing_freeze", &recovery_swing_freeze_},
      {"recovery_min_single", &recovery_min_single_},
      {"recovery_step_height", &recovery_step_height_},
      {"recovery_ang_mom", &recovery_ang_mom_},
      {"slope_estimate", &slope_estimate_},
      {"push_threshold", &push_threshold_},
      {"passive_sole_roll", &passive_sole_roll},
      {"rectangle_yaw_cone", &rectangle_yaw_cone}};
  const auto& gait_keys = control::GaitParams::override_keys();
  for (const auto& [key, value] : profile_.walking) {
    if (std::find(gait_keys.begin(), gait_keys.end(), key) != gait_keys.end()) continue;  // GaitParams took it
    const auto it = std::find_if(table.begin(), table.end(), [&](const auto& e) { return key == e.first; });
    if (it == table.end()) {
      std::string allowed;
      for (const auto& k : gait_keys) allowed += k + ", ";
      for (const auto& e : table) allowed += std::string(e.first) + (&e == &table.back() ? "" : ", ");
      throw std::invalid_argument("profile walking." + key + ": unknown parameter (allowed: " + allowed + ")");
    }
    if (!(value >= 0)) throw std::invalid_argument("profile walking." + key + ": expected a non-negative number");
    *it->second = value;
  }
  w.passive_sole_roll = passive_sole_roll > 0.5;
  w.rectangle_yaw_cone = rectangle_yaw_cone > 0.5;
}

control::Footstep WalkController::measured_step(const Eigen::VectorXd& q, int side) {
  const Eigen::Isometry3d X = wbc_.sole_pose(q, side);
  control::Footstep f;
  f.side = side;
  f.pos = X.translation().head<2>();
  f.z = X.translation().z();
  f.yaw = yaw_of(X.linear());
  return f;
}

void WalkController::reset(const RobotState& state, const Estimate& est) {
  t0_ = state.t;
  yaw_prev_ = yaw_of(base_rotation(model_, profile_, est.q));
  vel_filt_.setZero();
  cmd_bias_.setZero();
  phase_ = Phase::kStand;
  phase_t_ = 0.0;
  last_costly_plan_ = -kNever;
  uneven_until_ = -1.0;
  pushed_until_ = -1.0;
  observed_push_until_ = -1.0;
  push_observer_on_ = false;
  stance_ = measured_step(est.q, control::kLeft);
  prev_ = measured_step(est.q, control::kRight);
  foothold_z_ = {stance_.z, prev_.z};
  ground_slope_ = last_step_slope_ = slope_min_ = slope_max_ = 0.0;
  const Eigen::Vector3d c = wbc_.com(est.q);
  const Eigen::Vector2d mid = 0.5 * (stance_.pos + prev_.pos);
  com_offset_ = c.head<2>() - mid;
  {
    // Walking starts by moving the ZMP behind the CoM: stand with the CoM where the double-support ZMP region
    // (the feet's ZMP boxes) reaches at least half a box length behind and ahead of it.
    const double yaw = stance_.yaw + 0.5 * wrap(prev_.yaw - stance_.yaw);
    const Eigen::Rotation2Dd R(yaw);
    Eigen::Vector2d d = R.inverse() * com_offset_;
    const double zx = gait_.zmp_center.x(), h = 0.5 * gait_.zmp_half_length;
    d.x() = std::clamp(d.x(), zx - h, zx + h);
    const Eigen::Vector2d shift = R * d - com_offset_;
    // Within the settling tolerance of the start (below) the CoM stays where it stands.
    if (shift.norm() >= 0.25 * gait_.zmp_half_length) com_offset_ = R * d;
    // The shift follows a minimum-jerk profile slow enough that its peak acceleration (5.77 D / T^2) needs the ZMP
    // at most half a box length from the CoM; none when the CoM already stands there.
    shift_from_ = c.head<2>();
    const double a_max = gait_.omega() * gait_.omega() * h;
    shift_T_ = shift.norm() >= 0.25 * gait_.zmp_half_length ? std::sqrt(5.77 * shift.norm() / a_max) : 0.0;
  }
  com_z_offset_ = c.z() - 0.5 * (stance_.z + prev_.z) - gait_.com_height;
  zmp_ = c.head<2>();
  targets_.q_posture = q_walk_;
  targets_.posture_scale = Eigen::VectorXd::Ones(model_.nv);
  for (int j : profile_.leg_joints) targets_.posture_scale[model_.joints[j].v_index] = leg_posture_scale_;
  for (int j : profile_.arm_joints) targets_.posture_scale[model_.joints[j].v_index] = arm_posture_scale_;
  targets_.contact = {true, true};
  targets_.foot_vel = {Eigen::Matrix<double, 6, 1>::Zero(), Eigen::Matrix<double, 6, 1>::Zero()};
  for (int i = 0; i < 2; ++i) targets_.foot[i] = wbc_.sole_pose(est.q, i);
  // The torso's nominal orientation relative to the heading of the feet.
  Eigen::VectorXd q_upright = profile_.q_nominal;
  const Eigen::Matrix3d Rt = wbc_.torso_orientation(q_upright).toRotationMatrix();
  torso_rel_ = Eigen::AngleAxisd(-yaw_of(Rt), Eigen::Vector3d::UnitZ()).toRotationMatrix() * Rt;
  targets_.torso = Eigen::Quaterniond(torso_rel_);
  const Eigen::Matrix3d Rp = base_rotation(model_, profile_, q_upright);
  pelvis_rel_ = Eigen::AngleAxisd(-yaw_of(Rp), Eigen::Vector3d::UnitZ()).toRotationMatrix() * Rp;
}

double WalkController::swing_rate(double remaining) const {
  return std::max(0.0, swing_.duration - swing_tau_) / std::max(remaining, dt_);
}

void WalkController::run_mpc(double now, const Eigen::VectorXd& q, const Eigen::Vector2d& c, const Eigen::Vector2d& cd, const Eigen::Vector3d& cmd) {
  control::WalkingPhase ph;
  ph.single = phase_ == Phase::kSingle;
  ph.elapsed = phase_t_;
  const bool starting = !ph.single && steps_taken_ == 0;
  ph.duration = ph.single ? single_duration_ : (starting ? start_duration() : double_duration_);
  ph.blend0 = stand_blend_;
  ph.stance = stance_;
  ph.prev = prev_;
  const double freeze = recovering(now) ? std::max(swing_freeze_, recovery_swing_freeze_) : swing_freeze_;
  const bool late = ph.single && swing_tau_ > freeze * swing_.duration;
  if (late) ph.frozen = &swing_.land;
  // The plan uses this command's double-support time (the step period sets the stride).
  control::GaitParams gait = gait_;
  gait.t_double = double_support(cmd);
  const control::FootstepPlanner planner(gait);
  // The maps at the current posture: they change a lot with the knee's bend (a straight leg lifts its foot
  // only by rolling the pelvis).
  if (swing_momentum_ > 0)
    for (int side = 0; side < 2; ++side) swing_K_[side] = wbc_.swing_momentum_map(q, side);
  // The last solve's swing offset over its first sample and whether its first planned step was frozen.
  Eigen::Vector2d last_cop0 = Eigen::Vector2d::Zero();
  bool last_fixed0 = false;
  auto solve = [&](double duration) -> const control::LipmMpc::Output& {
    ph.duration = duration;
    control::LipmMpc::Input in = control::walking_mpc_input(gait, planner, ph, cmd, c, cd);
    if (swing_momentum_ > 0) {
      in.cop_offset.resize(static_cast<size_t>(mpc_.horizon()));
      for (int k = 0; k < mpc_.horizon(); ++k)
        in.cop_offset[static_cast<size_t>(k)] = swing_cop_offset(in, k * mpc_.dt(), (k + 1) * mpc_.dt());
    }
    last_cop0 = in.cop_offset.empty() ? Eigen::Vector2d::Zero() : in.cop_offset.front();
    last_fixed0 = in.step_fixed[0];
    return mpc_.solve(in);
  };
  // Stopping (a zero command): the steps hold the planner's placements stop_step_scale times more firmly, so the
  // feet come together instead of settling where the MPC found a little balance (H1 stepped in place 6 cm wide
  // and 10 cm staggered after a stop; with the scale 10 it stands, feet within 1.3 cm of nominal).
  const double w_step = mpc_.w_step, w_step_lateral = mpc_.w_step_lateral;
  if (cmd.cwiseAbs().maxCoeff() <= 1e-3) mpc_.w_step *= stop_step_scale_, mpc_.w_step_lateral *= stop_step_scale_;
  const auto t_start = std::chrono::steady_clock::now();
  const double nominal = ph.duration;
  mpc_out_ = solve(nominal);
  cop_offset0_ = last_cop0;
  bool fixed0 = last_fixed0;
  // Step timing adaptation: the remaining phase shortened to 70 % and 40 % and to its minimum (single support:
  // the minimum swing time; double support: lift off at once). The one of least cost wins when it saves a tenth
  // of the nominal cost and at least the cost of a terminal DCM error of half the ZMP box's length (more than
  // the centre of pressure can correct within the foot): a pushed robot's DCM runs off and an earlier step
  // catches it, while steady walking keeps its nominal timing (savings there stay below a third of that).
  const double min_saving = mpc_.w_dcm * gait_.zmp_half_length * gait_.zmp_half_length;
  // Recovery: a plan that costs more than the saving threshold means the DCM ran off (a push). For the next
  // recovery_time the WBC keeps the centre of pressure further inside the soles (at G1's default 0.9 of its
  // 6 cm wide, four-sphere soles the stance foot rocked on its edges, with contact forces chattering between 0
  // and 1 kN), the landing point adapts until later in the swing and a step may be quicker. G1 under
  // random:0.6:3 (a push every 3 s): 28 of seeds 1-40 survive with recovery_time 3.5 s, about 20 with 2 s, 9 of
  // seeds 1-20 with 1 s (0 without the mode); single 0.6 m/s pushes, 8 directions x 8 instants: 60 of 64 (38).
  // The same settings all the time cost G1 its forward speed (8.40 m in 20 s at 0.5 m/s).
  if (mpc_out_.ok && mpc_out_.cost > min_saving) {
    last_costly_plan_ = now;
    if (steps_taken_ >= 2) pushed_until_ = now + recovery_time_;
  }
  const double min_single = recovering(now) ? std::min(timing_min_single_, recovery_min_single_) : timing_min_single_;
  if (timing_adaptation_ > 0 && !starting && mpc_out_.ok && mpc_out_.cost > min_saving) {
    const double rem = std::max(nominal - phase_t_, 0.0);
    const double rem_min =
        ph.single ? std::max(min_single * gait_.t_single - phase_t_, ph.min_remaining) : 0.01;
    double best_cost = std::min(0.9 * mpc_out_.cost, mpc_out_.cost - min_saving), best = nominal, tried = rem;
    for (const double f : {0.7, 0.4, 0.0}) {
      const double r = std::max(f * rem, rem_min);
      if (r >= tried - 1e-3) continue;
      tried = r;
      const control::LipmMpc::Output& o = solve(phase_t_ + r);
      if (o.ok && o.cost < best_cost) {
        best_cost = o.cost, best = phase_t_ + r;
        mpc_out_ = o;
        cop_offset0_ = last_cop0, fixed0 = last_fixed0;
      }
    }
    if (best != nominal) (ph.single ? single_duration_ : double_duration_) = best;
  }
  mpc_.w_step = w_step, mpc_.w_step_lateral = w_step_lateral;
  mpc_us_.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t_start).count());
  if (!mpc_out_.ok) ++mpc_failures_;
  zmp_ = mpc_out_.zmp;
  if (phase_ == Phase::kSingle) {
    target_ = mpc_out_.steps[1];
    if (!fixed0) {
      // The landing height follows the moved target along the estimated slope.
      swing_.z_land += predicted_ground_z(stance_, target_.pos) - predicted_ground_z(stance_, swing_.land.pos);
      swing_.land = target_;
      if (terrain_normal_) swing_.land_normal = terrain_normal_(target_.pos);
    }
  } else {
    target_ = mpc_out_.steps[2];
  }
  last_mpc_ = now;
}

void WalkController::update(const RobotState& state, const Estimate& est, std::vector<MotorCommand>& out) {
  const double t = state.t - t0_;
  const Eigen::Vector3d cmd = planner_.clamp_command(command_ ? command_(t) : Eigen::Vector3d::Zero());
  const bool moving_cmd = cmd.cwiseAbs().maxCoeff() > 1e-3;
  dynamics::center_of_mass(wbc_.dynamics_model(), data_, est.q, est.v);
  const Eigen::Vector3d c = data_.com, cd = data_.vcom;
  const Eigen::Vector3d cmd_plan = corrected_command(cmd, est.q, cd);
  double fz[2] = {weight_, weight_};
  for (int i = 0; i < 2 && i < static_cast<int>(state.contact_wrenches.size()); ++i) fz[i] = state.contact_wrenches[i][2];
  phase_t_ += dt_;
  // Push detection: a momentum observer. The measured contact forces predict the CoM's horizontal velocity,
  // v' = sum f_xy / m, and the prediction follows the measured velocity at push_observer_gain; the residual is the
  // velocity change that no contact force explains (an external push). Plain walking keeps it below 0.06 m/s on
  // G1 and H1, a foot landing on a 4 cm step below 0.3 m/s; a 1.0 m/s push raises it to 0.5-0.9 m/s. Unlike the
  // recovery trigger (the plan's cost), it is not tripped by H1's plain walking. Source: the momentum-based
  // disturbance observer (De Luca and Mattone, ICRA 2005), here on the centroidal linear momentum. Without foot
  // force sensors no push is detected.
  if (state.contact_wrenches.size() >= 2) {
    Eigen::Vector2d f_xy = Eigen::Vector2d::Zero();
    for (const auto& w : state.contact_wrenches) f_xy += w.head<2>();
    if (!push_observer_on_) push_observer_v_ = cd.head<2>(), push_observer_on_ = true;
    push_observer_v_ += dt_ * f_xy * (model_.gravity.norm() / weight_);
    const Eigen::Vector2d residual = cd.head<2>() - push_observer_v_;
    push_observer_v_ += std::min(push_observer_gain * dt_, 1.0) * residual;
    if (residual.norm() > push_threshold_ * std::sqrt(model_.gravity.norm() * gait_.com_height))
      observed_push_until_ = t + recovery_time_;
  }
  // Swings after a push lift the foot only recovery_step_height of the step height: a quick step then lands sooner
  // and puts less vertical momentum on the body. G1 under random:0.6:3 survives 34 of seeds 1-40 at 0.3 (all of
  // 1-10), 32 at 0.5, 28 at full height; H1 keeps 10 of 10. Not on uneven ground (a foot landed 1 cm above or
  // below the stance foot within recovery_time), where a blind swing needs all its clearance, and not after the
  // start: starting from rest can cost more than the threshold (H1: 0.09-0.1), and H1 then hit the 4 cm step's
  // edge with a low swing.
  swing_apex_ = gait_.step_height * (t < pushed_until_ && t >= uneven_until_ ? recovery_step_height_ : 1.0);
  // The CoM height moves from where the robot stood at the start to the gait's CoM height (the profile's nominal
  // posture) at a tenth of the leg length per second.
  const double dz_max = 0.1 * std::max(profile_.leg_length, 0.2) * dt_;
  com_z_offset_ -= std::clamp(com_z_offset_, -dz_max, dz_max);

  // --- Gait state machine. ---
  // Leaves standing once the CoM has settled at its standing target, height included (at once when it starts
  // there).
  const bool settled = t >= shift_T_ && (c.head<2>() - targets_.com.head<2>()).norm() < 0.25 * gait_.zmp_half_length &&
                       cd.head<2>().norm() < 0.1 && std::abs(com_z_offset_) < 0.005;
  if (phase_ == Phase::kStand && moving_cmd && settled) {
    const int swing = (cmd.y() > 0 || (cmd.y() == 0 && cmd.z() > 0)) ? control::kLeft : control::kRight;
    stance_ = measured_step(est.q, 1 - swing);
    prev_ = measured_step(est.q, swing);
    stand_blend_ = 0.5;
    phase_ = Phase::kDouble;
    phase_t_ = 0.0;
    last_mpc_ = -1.0;
    shift_T_ = 0.0;
  } else if (phase_ == Phase::kDouble) {
    const double dur = steps_taken_ == 0 ? start_duration() : double_duration_;
    if (phase_t_ >= dur) {
      const Eigen::Vector2d d = Eigen::Rotation2Dd(-stance_.yaw) * (prev_.pos - stance_.pos);
      const double side = prev_.side == control::kLeft ? 1.0 : -1.0;
      const bool together = std::abs(d.x()) < 0.03 && std::abs(side * d.y() - gait_.nominal_width) < 0.03 &&
                            std::abs(wrap(prev_.yaw - stance_.yaw)) < 0.05;
      // Stop when the CoM is slow, or when its capture point (DCM, c + c'/omega; Englsberger 2015) lies inside the
      // feet's support hull by a margin: the double stance can then bring it to rest without another step. A
      // narrow-footed robot's CoM still sways sideways at 0.2-0.3 m/s at the end of each double support, so the
      // speed alone kept G1, H1 and TienKung stepping in place after a stop command.
      const Eigen::Vector2d dcm = c.head<2>() + cd.head<2>() / gait_.omega();
      if (!moving_cmd && together && (cd.head<2>().norm() < 0.15 || inside_margin(wbc_.support_hull(est.q), dcm) > 0.02)) {
        phase_ = Phase::kStand;
      } else {
        phase_ = Phase::kSingle;
        // The slope from the foot about to lift to the stance foot, along the stance heading.
        const Eigen::Vector2d h(std::cos(stance_.yaw), std::sin(stance_.yaw));
        const double run = h.dot(stance_.pos - prev_.pos);
        // The lifting foot's height as it stood in its own single support (at lift-off its heel is already up).
        const double rise = stance_.z - foothold_z_[static_cast<size_t>(prev_.side)];
        if (std::abs(run) > kMinRun) {  // a step in place (or a short recovery step) says nothing: keep the estimate
          const double step_slope = std::abs(rise) > kMinRise ? rise / run : 0.0;
          const double minmod = step_slope * last_step_slope_ > 0
                                    ? (std::abs(step_slope) < std::abs(last_step_slope_) ? step_slope : last_step_slope_)
                                    : 0.0;
          ground_slope_ = slope_estimate_ > 0 ? std::clamp(minmod, -kMaxGroundSlope, kMaxGroundSlope) : 0.0;
          last_step_slope_ = step_slope;
          slope_min_ = std::min(slope_min_, ground_slope_), slope_max_ = std::max(slope_max_, ground_slope_);
        }
        swing_ = planned_swing(prev_, target_, predicted_ground_z(stance_, target_.pos), gait_.t_single);
        single_duration_ = gait_.t_single;
        swing_tau_ = 0.0;
      }
      phase_t_ = 0.0;
      last_mpc_ = -1.0;
    }
  } else if (phase_ == Phase::kSingle) {
    const int sw = swing_.lift.side;
    swing_tau_ = std::min(swing_.duration, swing_tau_ + swing_rate(single_duration_ - (phase_t_ - dt_)) * dt_);
    const double progress = swing_tau_ / swing_.duration;  // 0 at lift-off, 1 at the planned touchdown
    // Early touchdown needs a clear load; near the planned touchdown any firm contact counts (the swing task
    // holds the foot at the ground and would otherwise keep it from taking load). "Near" is the last 5 % of the
    // swing in steady walking: a low swing (recovery_step_height) drags its foot in and touched at 80-90 % of
    // its swing, and with those touchdowns counted the swing's last part was cut short at every step; G1's
    // capture point at lift-off then swayed further sideways each step (0.06 to 0.11 m from the stance foot
    // within eight steps, against a steady 0.06 at full height or with the 5 %). Right after a push (for
    // touchdown_push_hold after a costly plan) the last 20 %: a foot down sooner catches the push.
    // From the planned time on, a foot whose lowest corner is within touchdown_clearance_ of the stance height
    // counts as landed: the contact constraint then presses it down (a foot held by the swing task can hover at the ground, or
    // rest on one edge, without taking load).
    double clearance = 1e9;  // lowest corner of the swing foot's support polygon above the expected ground
    const double z_ground = predicted_ground_z(stance_, swing_.land.pos);
    for (const Eigen::Vector3d& p : wbc_.support_polygon(est.q, sw)) clearance = std::min(clearance, p.z() - z_ground);
    // An early contact counts only near the target: a swing foot scuffing the ground on its way is not a step.
    const double foot_length = std::max(profile_.left_foot.length, profile_.right_foot.length);
    const bool near_target =
        (wbc_.sole_pose(est.q, sw).translation().head<2>() - swing_.land.pos).norm() < 0.5 * foot_length;
    const bool touched = (progress > 0.5 && near_target && fz[sw] > 0.15 * weight_) ||
                         (progress > (t < last_costly_plan_ + touchdown_push_hold_ ? 0.8 : touchdown_progress_) && fz[sw] > 0.03 * weight_) ||
                         (phase_t_ >= single_duration_ - 1e-9 && clearance < touchdown_clearance_);
    const bool overdue = phase_t_ > single_duration_ + 0.2;
    if (touched || overdue) {
      // An early touchdown at the stance height (a low swing on flat ground) keeps the step's timing: double
      // support lasts the rest of the planned swing as well, so the weight transfer is not rushed while the DCM
      // is still on its way over. Landing higher or lower (terrain) starts the transfer at once.
      const Eigen::Isometry3d X_land = wbc_.sole_pose(est.q, sw);
      const Eigen::Vector3d& p_land = X_land.translation();
      const bool level = std::abs(p_land.z() - predicted_ground_z(stance_, p_land.head<2>())) < 0.01;
      double_duration_ = double_support(cmd) + (level ? std::max(0.0, single_duration_ - phase_t_) : 0.0);
      if (!level) uneven_until_ = t + recovery_time_;
      if (terrain_normal_) {
        const Eigen::Vector3d n = terrain_normal_(X_land.translation().head<2>());
        touchdown_tilt_error_.push_back(std::acos(std::clamp(X_land.linear().col(2).dot(n), -1.0, 1.0)));
      }
      prev_ = stance_;
      stance_ = measured_step(est.q, sw);
      stand_blend_ = 0.0;
      ++steps_taken_;
      phase_ = Phase::kDouble;
      phase_t_ = 0.0;
      last_mpc_ = -1.0;
    }
  }

  // The feet in contact give the ground height, measured every tick: a height taken once at touchdown (when the
  // sole's lowest corner came within touchdown_clearance_ of the stance height, its centre a little above) let
  // each step land a few millimetres higher than the last, and G1 with ground truth climbed 4 cm in 5 s.
  if (phase_ != Phase::kStand) {
    stance_.z = wbc_.sole_pose(est.q, stance_.side).translation().z();
    if (phase_ == Phase::kDouble) prev_.z = wbc_.sole_pose(est.q, prev_.side).translation().z();
    if (phase_ == Phase::kSingle) foothold_z_[static_cast<size_t>(stance_.side)] = stance_.z;
  }

  // --- References for the whole-body controller. ---
  const double w2 = gait_.omega() * gait_.omega();
  if (phase_ == Phase::kStand) {
    const control::Footstep l = measured_step(est.q, control::kLeft), r = measured_step(est.q, control::kRight);
    feet_offset_ = Eigen::Rotation2Dd(-r.yaw) * (l.pos - r.pos);
    targets_.contact = {true, true};
    const Eigen::Vector2d mid = 0.5 * (l.pos + r.pos);
    targets_.com = Eigen::Vector3d(mid.x() + com_offset_.x(), mid.y() + com_offset_.y(),
                                   0.5 * (l.z + r.z) + gait_.com_height + com_z_offset_);
    targets_.com_vel.setZero();
    targets_.com_acc.setZero();
    if (t < shift_T_) {  // the initial CoM shift (minimum jerk)
      const double T = shift_T_, s = t / T;
      const double mj = s * s * s * (10.0 - 15.0 * s + 6.0 * s * s);
      const double dmj = 30.0 * s * s * (1.0 - s) * (1.0 - s) / T;
      const double ddmj = 60.0 * s * (1.0 - s) * (1.0 - 2.0 * s) / (T * T);
      const Eigen::Vector2d D = targets_.com.head<2>() - shift_from_;
      targets_.com.head<2>() = shift_from_ + mj * D;
      targets_.com_vel.head<2>() = dmj * D;
      targets_.com_acc.head<2>() = ddmj * D;
    }
    zmp_ = targets_.com.head<2>();
  } else {
    if (last_mpc_ < 0 || t - last_mpc_ >= mpc_period_ - 1e-9) run_mpc(t, est.q, c.head<2>(), cd.head<2>(), cmd_plan);
    const double z_feet = phase_ == Phase::kSingle ? stance_.z : 0.5 * (stance_.z + prev_.z);
    targets_.com = Eigen::Vector3d(c.x(), c.y(), z_feet + gait_.com_height + com_z_offset_);
    targets_.com_vel = Eigen::Vector3d(cd.x(), cd.y(), 0.0);
    // The MPC planned the centre of pressure p_0 + d_0 with d_0 the swing's offset averaged over its first sample;
    // the pendulum ZMP applied now keeps that centre of pressure under the swing's offset at this instant.
    Eigen::Vector2d zmp_now = zmp_;
    if (swing_momentum_ > 0) {
      Eigen::Vector2d d_now = Eigen::Vector2d::Zero();
      if (phase_ == Phase::kSingle) {
        const double h = 0.5 * dt_, rate = swing_rate(single_duration_ - phase_t_);
        Eigen::Vector3d p, v0, v1;
        double yaw = 0, yaw_rate = 0;
        swing_.sample(swing_tau_ - rate * h, p, yaw, v0, yaw_rate);
        swing_.sample(swing_tau_ + rate * h, p, yaw, v1, yaw_rate);
        const Eigen::Vector3d dL = swing_K_[swing_.lift.side] * (rate * (v1 - v0) / (2 * h));  // d(rate v)/dt
        d_now = cop_shift(dL);
      }
      zmp_now = zmp_ + cop_offset0_ - d_now;
      trace_offset_ = d_now;
    }
    targets_.com_acc = Eigen::Vector3d(w2 * (c.x() - zmp_now.x()), w2 * (c.y() - zmp_now.y()), 0.0);
    targets_.contact = {true, true};
    if (phase_ == Phase::kSingle) {
      const int sw = swing_.lift.side;
      targets_.contact[sw] = false;
      Eigen::Vector3d p, v;
      double yaw = 0, yaw_rate = 0;
      swing_.sample(swing_tau_, p, yaw, v, yaw_rate);
      const double rate = swing_rate(single_duration_ - phase_t_);
      v *= rate;
      yaw_rate *= rate;
      if (phase_t_ > single_duration_) p.z() -= 0.2 * (phase_t_ - single_duration_);  // late touchdown: reach down
      Eigen::Isometry3d X = Eigen::Isometry3d::Identity();
      X.linear() = swing_.orientation(swing_tau_, yaw);
      X.translation() = p;
      targets_.foot[sw] = X;
      targets_.foot_vel[sw] << v, 0.0, 0.0, yaw_rate;
    }
  }
  // Torso heading follows the feet.
  const double heading = phase_ == Phase::kSingle ? stance_.yaw + 0.5 * wrap(swing_.land.yaw - stance_.yaw)
                                                  : stance_.yaw + 0.5 * wrap(prev_.yaw - stance_.yaw);
  // Built from the stored yaw-free nominal each tick: composing onto the previous target would let rounding
  // errors in the quaternion's norm grow until it is no longer finite.
  const Eigen::Matrix3d Rh = Eigen::AngleAxisd(heading, Eigen::Vector3d::UnitZ()).toRotationMatrix();
  targets_.torso = Eigen::Quaterniond(Rh * torso_rel_);
  targets_.pelvis = Eigen::Quaterniond(Rh * pelvis_rel_);

  if (use_zmp_reference_) targets_.zmp = zmp_;
  const double cop_scale = wbc_.params().cop_scale;
  // Recovery past the first two steps damps the angular momentum: a recovery step of 0.8-1.1 m in 0.35 s, with
  // the CoM acceleration the MPC asks for beyond what the sole can give, otherwise makes the WBC throw the torso
  // (0.5-1.7 rad from its target after 1.0 m/s pushes on G1) while the stance foot unloads. Only after a push the
  // momentum observer saw: H1's plain walking trips the recovery trigger, and with the damping on at the 4 cm
  // step's riser its base tilted 0.45 rad (0.11 without). At recovery_ang_mom 5, single 1.0 m/s pushes (8
  // directions x 8 instants, 0.5 m/s walk) survived: G1 47 of 64 (40 without; 44 at 7), built-in 50 (52 without:
  // within the count's noise of +-4); random:0.6:3: G1 79 of seeds 1-80 (71), built-in 20 of 20 (20). H1: see the
  // constructor. Not from the start of walking, which trips recovery too: G1 then walked 5.4 m in 20 s at
  // 0.5 m/s; and not all the time (w_ang_mom 2: 7.2 m, not 8.95).
  if (recovering(t)) wbc_.params().cop_scale = std::min(cop_scale, recovery_cop_scale_);
  const double w_ang_mom = wbc_.params().w_ang_mom;
  if (t < pushed_until_ && t < observed_push_until_)
    wbc_.params().w_ang_mom = std::max(w_ang_mom, recovery_ang_mom_weight_);
  const control::WbcOutput& o = wbc_.update(est.q, est.v, targets_);
  wbc_.params().cop_scale = cop_scale;
  wbc_.params().w_ang_mom = w_ang_mom;
  if (!o.ok) ++qp_failures_;
  if (trace_ && (std::getenv("OH_WALK_TRACE_ALL") || std::fmod(t + 1e-9, 0.02) < dt_)) {
    const Eigen::Isometry3d sw = wbc_.sole_pose(est.q, phase_ == Phase::kSingle ? swing_.lift.side : prev_.side);
    const Eigen::Matrix3d Rq = base_rotation(model_, profile_, est.q);
    const Eigen::Matrix3d Rb = Eigen::AngleAxisd(-yaw_of(Rq), Eigen::Vector3d::UnitZ()).toRotationMatrix() * Rq;
    const Eigen::Vector2d base_rp(std::atan2(Rb(2, 1), Rb(2, 2)), -std::asin(std::clamp(Rb(2, 0), -1.0, 1.0)));
    std::fprintf(stderr,
                 "t=%.3f ph=%d c=(%.3f %.3f %.3f) cd=(%.2f %.2f) zmp=(%.3f %.3f) st=%d(%.3f %.3f %.3f) tgt=(%.3f %.3f) "
                 "sw=(%.3f %.3f %.3f) tilt=%.3f fz=(%.0f %.0f) wbc_fz=(%.0f %.0f) cop=(%.3f %.3f) qp=%s acc=(%.2f %.2f) qp_acc=(%.2f %.2f) base_rpy=(%.2f %.2f) torso_err=%.3f dcop=(%.3f %.3f) "
                 "vel=(%.2f %.2f %.2f) bias=(%.2f %.2f %.2f) T=%.3f\n",
                 t, static_cast<int>(phase_), c.x(), c.y(), c.z(), cd.x(), cd.y(), zmp_.x(), zmp_.y(), stance_.side,
                 stance_.pos.x(), stance_.pos.y(), stance_.z, target_.pos.x(), target_.pos.y(), sw.translation().x(),
                 sw.translation().y(), sw.translation().z(), tilt_of(Eigen::Quaterniond(sw.linear())), fz[0], fz[1], o.wrench[0][2], o.wrench[1][2],
                 -o.wrench[stance_.side][4] / std::max(o.wrench[stance_.side][2], 1.0),
                 o.wrench[stance_.side][3] / std::max(o.wrench[stance_.side][2], 1.0), o.status.c_str(), targets_.com_acc.x(),
                 targets_.com_acc.y(), o.com_acc.x(), o.com_acc.y(), base_rp.x(), base_rp.y(),
                 tilt_of(wbc_.torso_orientation(est.q).inverse() * targets_.torso), trace_offset_.x(), trace_offset_.y(),
                 vel_filt_.x(), vel_filt_.y(), vel_filt_.z(), cmd_bias_.x(), cmd_bias_.y(), cmd_bias_.z(),
                 phase_ == Phase::kSingle ? single_duration_ : double_duration_);
  }
  for (size_t k = 0; k < out.size(); ++k) out[k] = MotorCommand{o.q_ref[k], o.dq_ref[k], o.kp[k], o.kd[k], o.tau[k]};
}

int WalkController::capture_steps(const Eigen::Vector3d& com, const Eigen::Vector3d& com_vel) const {
  const control::CaptureLimits& lim = capture_limits_;
  const Eigen::Vector2d xi = com.head<2>() + com_vel.head<2>() / gait_.omega();
  // The capture point relative to a foot's ZMP box centre, in that foot's frame.
  auto rel = [&](const control::Footstep& f) {
    return Eigen::Vector2d(Eigen::Rotation2Dd(-f.yaw) * (xi - gait_.zmp_box_center(f)));
  };
  if (phase_ == Phase::kSingle)
    return control::capture_steps(lim, rel(stance_), stance_.side, std::max(lim.step_time - phase_t_, 0.0));
  // Both feet down: at rest when the capture point lies in the hull of the two ZMP boxes; else either foot may
  // stay while the other steps at once.
  std::vector<Eigen::Vector2d> pts;
  for (const control::Footstep* f : {&stance_, &prev_}) {
    const Eigen::Rotation2Dd R(f->yaw);
    for (const double sx : {-1.0, 1.0})
      for (const double sy : {-1.0, 1.0})
        pts.push_back(gait_.zmp_box_center(*f) + R * Eigen::Vector2d(sx * gait_.zmp_half_length, sy * gait_.zmp_half_width));
  }
  const std::vector<Eigen::Vector2d> hull = control::convex_hull(std::move(pts));
  if (inside_margin(hull, xi) >= 0) return 0;
  int best = -1;
  for (const control::Footstep* f : {&stance_, &prev_}) {
    const int n = control::capture_steps(lim, rel(*f), f->side, lim.step_time);
    if (n >= 0 && (best < 0 || n < best)) best = n;
  }
  return best;
}

std::pair<double, double> WalkController::mpc_solve_us() const {
  return {percentile(mpc_us_, 0.5), percentile(mpc_us_, 0.99)};
}

nlohmann::json WalkController::metrics() const {
  const char* phase = phase_ == Phase::kStand ? "stand" : phase_ == Phase::kDouble ? "double_support" : "single_support";
  nlohmann::json m = {{"steps_taken", steps_taken_},
          {"final_phase", phase},
          {"final_feet_offset_m", {feet_offset_.x(), feet_offset_.y()}},
          {"mpc_failures", mpc_failures_},
          {"qp_failures", qp_failures_},
          {"gait", {{"com_height_m", gait_.com_height},
                    {"t_single_s", gait_.t_single},
                    {"t_double_s", gait_.t_double},
                    {"leg_dof", gait_.leg_dof},
                    {"step_height_m", gait_.step_height},
                    {"nominal_width_m", gait_.nominal_width},
                    {"max_step_x_m", gait_.max_step_x},
                    // The MPC's ZMP box in the left sole frame (x forward, y left) [m].
                    {"zmp_box_m", {{"center", {gait_.zmp_center.x(), gait_.zmp_center.y()}},
                                   {"half_length", gait_.zmp_half_length},
                                   {"half_width", gait_.zmp_half_width}}},
                    {"max_command", {gait_.max_vx, gait_.max_vy, gait_.max_wz}}}}};
  // The blind slope estimate's range over the run (rise per metre along the heading).
  m["ground_slope_estimate"] = {{"min", slope_min_}, {"max", slope_max_}};
  if (terrain_normal_ && !touchdown_tilt_error_.empty()) {
    double sum = 0.0, max = 0.0;
    for (double e : touchdown_tilt_error_) sum += e, max = std::max(max, e);
    m["touchdown_tilt_error_rad"] = {{"mean", sum / static_cast<double>(touchdown_tilt_error_.size())}, {"max", max}};
  }
  return m;
}

}  // namespace oh::runtime
