#include "control/wbc/wbc.hpp"

#include "control/qp/qp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace oh::control {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
using Mat6X = dynamics::Matrix6Xd;
using Vec6 = Eigen::Matrix<double, 6, 1>;

/// Rotation error log(R_ref R^T) as a world-axis rotation vector [rad].
Eigen::Vector3d orientation_error(const Eigen::Matrix3d& R_ref, const Eigen::Matrix3d& R) {
  const Eigen::AngleAxisd aa(R_ref * R.transpose());
  double angle = aa.angle();
  Eigen::Vector3d axis = aa.axis();
  if (angle > M_PI) angle -= 2 * M_PI;
  return axis * angle;
}

}  // namespace

WbcParams WbcParams::defaults(const model::Model& model, const model::Profile& profile) {
  WbcParams p;
  const double g = model.gravity.norm() > 0 ? model.gravity.norm() : 9.81;
  const double h = profile.com_height > 0.1 ? profile.com_height : 0.8;
  const double omega = std::sqrt(g / h);  // LIPM natural frequency [rad/s]
  // CoM servo about 2.5x faster than the pendulum, critically damped.
  const double wn = 2.5 * omega;
  p.kp_com = wn * wn;
  p.kd_com = 2.0 * wn;
  return p;
}

struct WholeBodyController::Impl {
  model::Model model;
  model::Profile profile;
  dynamics::Model dm;
  dynamics::Data data;
  double dt;
  int nv, n_unact, n_act, n_joint;
  std::vector<int> unact_dofs;           ///< base dofs and 1-DoF joints without actuator
  std::vector<int> act_dofs;             ///< v indices of actuated 1-DoF joints
  std::vector<int> joint_ids;            ///< 1-DoF joints (output order)
  std::vector<int> joint_actuated;       ///< per output joint: 1 if it has an actuator
  Eigen::VectorXd tau_max;               ///< per dof, +inf when unknown
  std::array<int, 2> sole_frame{}, hand_frame{-1, -1};
  int torso_frame = 0;
  std::array<double, 2> sole_length{}, sole_width{};
  double mass = 0;

  Mat6X J_sole[2], J_tmp, J_torso;
  Vec6 drift_sole_local[2], drift_sole_lwa[2];
  Eigen::Vector3d drift_torso, drift_hand[2];
  Eigen::Matrix<double, 3, Eigen::Dynamic> J_hand[2];
  Eigen::Matrix3Xd Jcom;
  Eigen::Vector3d drift_com;
  Eigen::VectorXd zero_a;
  qp::QpProblem prob;
  qp::QpSolver solver;
  WbcOutput out;

  Impl(const model::Model& source, const model::Profile& prof, double dt_)
      : model(with_soles(source, prof)), profile(prof), dm(model), data(dm), dt(dt_) {}

  static model::Model with_soles(const model::Model& source, const model::Profile& prof) {
    model::Model m = source;
    const model::Foot* feet[2] = {&prof.left_foot, &prof.right_foot};
    const char* names[2] = {"__wbc_left_sole", "__wbc_right_sole"};
    for (int i = 0; i < 2; ++i)
      m.frames.push_back({names[i], model::Frame::Kind::kSite, feet[i]->body, feet[i]->sole_center, feet[i]->sole_quat});
    return m;
  }
};

WholeBodyController::WholeBodyController(const model::Model& model, const model::Profile& profile, double dt,
                                         std::optional<WbcParams> params)
    : impl_(std::make_unique<Impl>(model, profile, dt)),
      params_(params ? *params : WbcParams::defaults(model, profile)) {
  Impl& s = *impl_;
  if (!model.has_floating_base()) throw std::invalid_argument("WholeBodyController: the model has no floating base");
  s.nv = s.dm.nv;
  const int n_frames = static_cast<int>(s.model.frames.size());
  s.sole_frame = {n_frames - 2, n_frames - 1};
  s.hand_frame = {profile.left_hand_frame, profile.right_hand_frame};
  s.torso_frame = s.dm.body_frame[profile.torso_body];
  s.sole_length = {profile.left_foot.length, profile.right_foot.length};
  s.sole_width = {profile.left_foot.width, profile.right_foot.width};
  s.mass = model.total_mass();
  s.tau_max = Eigen::VectorXd::Constant(s.nv, kInf);
  for (int d = 0; d < 6; ++d) s.unact_dofs.push_back(d);
  for (size_t j = 0; j < model.joints.size(); ++j) {
    const auto& jt = model.joints[j];
    if (jt.nv != 1) continue;
    s.joint_ids.push_back(static_cast<int>(j));
    const bool act = model.actuator_for_joint(static_cast<int>(j)) >= 0;
    s.joint_actuated.push_back(act ? 1 : 0);
    (act ? s.act_dofs : s.unact_dofs).push_back(jt.v_index);
    if (jt.effort_limit > 0) s.tau_max[jt.v_index] = jt.effort_limit;
  }
  s.n_unact = static_cast<int>(s.unact_dofs.size());
  s.n_act = static_cast<int>(s.act_dofs.size());
  s.n_joint = static_cast<int>(s.joint_ids.size());

  const int n = s.nv + 12, n_eq = s.n_unact + 12, n_ineq = s.n_act + 20;
  s.prob.resize(n, n_eq, n_ineq);
  s.solver.resize(n, n_eq, n_ineq);
  s.solver.settings().regularization = 0.0;
  for (int i = 0; i < 2; ++i) {
    s.J_sole[i].setZero(6, s.nv);
    s.J_hand[i].setZero(3, s.nv);
  }
  s.J_tmp.setZero(6, s.nv);
  s.J_torso.setZero(6, s.nv);
  s.Jcom.setZero(3, s.nv);
  s.zero_a = Eigen::VectorXd::Zero(s.nv);
  WbcOutput& o = s.out;
  o.a = Eigen::VectorXd::Zero(s.nv);
  for (Eigen::VectorXd* x : {&o.tau, &o.q_ref, &o.dq_ref, &o.kp, &o.kd}) *x = Eigen::VectorXd::Zero(s.n_joint);
  o.wrench = {Vec6::Zero(), Vec6::Zero()};
}

WholeBodyController::~WholeBodyController() = default;

const dynamics::Model& WholeBodyController::dynamics_model() const { return impl_->dm; }
double WholeBodyController::mass() const { return impl_->mass; }

Eigen::Isometry3d WholeBodyController::sole_pose(const Eigen::VectorXd& q, int side) {
  Impl& s = *impl_;
  dynamics::forward_kinematics(s.dm, s.data, q);
  const dynamics::SE3& X = dynamics::frame_placement(s.dm, s.data, s.sole_frame[side]);
  Eigen::Isometry3d T = Eigen::Isometry3d::Identity();
  T.linear() = X.R;
  T.translation() = X.p;
  return T;
}

Eigen::Vector3d WholeBodyController::hand_position(const Eigen::VectorXd& q, int side) {
  Impl& s = *impl_;
  if (s.hand_frame[side] < 0) return Eigen::Vector3d::Constant(std::nan(""));
  dynamics::forward_kinematics(s.dm, s.data, q);
  return dynamics::frame_placement(s.dm, s.data, s.hand_frame[side]).p;
}

Eigen::Vector3d WholeBodyController::com(const Eigen::VectorXd& q) {
  return dynamics::center_of_mass(impl_->dm, impl_->data, q);
}

Eigen::Quaterniond WholeBodyController::torso_orientation(const Eigen::VectorXd& q) {
  Impl& s = *impl_;
  dynamics::forward_kinematics(s.dm, s.data, q);
  return Eigen::Quaterniond(dynamics::frame_placement(s.dm, s.data, s.torso_frame).R);
}

const WbcOutput& WholeBodyController::update(const Eigen::VectorXd& q, const Eigen::VectorXd& v,
                                             const WbcTargets& tg) {
  Impl& s = *impl_;
  const WbcParams& P = params_;
  WbcOutput& o = s.out;
  const int nv = s.nv;
  using dynamics::ReferenceFrame;

  // --- Kinematics, Jacobians and drift terms (a = 0). ---
  dynamics::forward_kinematics(s.dm, s.data, q, v, s.zero_a);
  dynamics::compute_joint_jacobians(s.dm, s.data);
  dynamics::SE3 X_sole[2];
  Vec6 v_sole_lwa[2];
  for (int i = 0; i < 2; ++i) {
    X_sole[i] = dynamics::frame_placement(s.dm, s.data, s.sole_frame[i]);
    dynamics::frame_jacobian(s.dm, s.data, s.sole_frame[i], ReferenceFrame::kLocal, s.J_sole[i]);
    s.drift_sole_local[i] = dynamics::frame_acceleration(s.dm, s.data, s.sole_frame[i], ReferenceFrame::kLocal).vector();
    s.drift_sole_lwa[i] =
        dynamics::frame_classical_acceleration(s.dm, s.data, s.sole_frame[i], ReferenceFrame::kLocalWorldAligned).vector();
    v_sole_lwa[i] = dynamics::frame_velocity(s.dm, s.data, s.sole_frame[i], ReferenceFrame::kLocalWorldAligned).vector();
    if (s.hand_frame[i] >= 0 && tg.hand[i]) {
      dynamics::frame_placement(s.dm, s.data, s.hand_frame[i]);
      dynamics::frame_jacobian(s.dm, s.data, s.hand_frame[i], ReferenceFrame::kLocalWorldAligned, s.J_tmp);
      s.J_hand[i] = s.J_tmp.topRows<3>();
      s.drift_hand[i] =
          dynamics::frame_classical_acceleration(s.dm, s.data, s.hand_frame[i], ReferenceFrame::kLocalWorldAligned).linear;
    }
  }
  const dynamics::SE3 X_torso = dynamics::frame_placement(s.dm, s.data, s.torso_frame);
  dynamics::frame_jacobian(s.dm, s.data, s.torso_frame, ReferenceFrame::kLocalWorldAligned, s.J_torso);
  const dynamics::Motion a_torso = dynamics::frame_acceleration(s.dm, s.data, s.torso_frame, ReferenceFrame::kLocalWorldAligned);
  const dynamics::Motion v_torso = dynamics::frame_velocity(s.dm, s.data, s.torso_frame, ReferenceFrame::kLocalWorldAligned);
  s.drift_torso = a_torso.angular;
  s.Jcom = dynamics::jacobian_center_of_mass(s.dm, s.data, q);
  const Eigen::Vector3d com = s.data.com;
  const Eigen::Vector3d vcom = s.Jcom * v;
  s.drift_com = dynamics::compute_centroidal_momentum_time_variation(s.dm, s.data, q, v, s.zero_a).linear / s.data.mass;
  const Eigen::MatrixXd& M = dynamics::crba(s.dm, s.data, q);
  const Eigen::VectorXd& h = dynamics::nonlinear_effects(s.dm, s.data, q, v);

  // --- Cost. ---
  qp::QpProblem& pr = s.prob;
  pr.H.setZero();
  pr.g.setZero();
  auto Haa = pr.H.topLeftCorner(nv, nv);
  auto ga = pr.g.head(nv);
  auto add_task = [&](const auto& J, const auto& r, double w) {
    Haa.noalias() += w * J.transpose() * J;
    ga.noalias() -= w * J.transpose() * r;
  };
  {
    const Eigen::Vector3d a_des = tg.com_acc + P.kp_com * (tg.com - com) + P.kd_com * (tg.com_vel - vcom);
    add_task(s.Jcom, a_des - s.drift_com, P.w_com);
  }
  {
    const Eigen::Vector3d e = orientation_error(tg.torso.toRotationMatrix(), X_torso.R);
    const Eigen::Vector3d a_des = P.kp_torso * e - P.kd_torso * v_torso.angular;
    add_task(s.J_torso.bottomRows<3>(), a_des - s.drift_torso, P.w_torso);
  }
  for (int i = 0; i < 2; ++i) {
    if (!tg.contact[i]) {
      Vec6 e;
      e.head<3>() = tg.foot[i].translation() - X_sole[i].p;
      e.tail<3>() = orientation_error(tg.foot[i].linear(), X_sole[i].R);
      const Vec6 a_des = P.kp_swing * e + P.kd_swing * (tg.foot_vel[i] - v_sole_lwa[i]);
      dynamics::frame_jacobian(s.dm, s.data, s.sole_frame[i], ReferenceFrame::kLocalWorldAligned, s.J_tmp);
      add_task(s.J_tmp, a_des - s.drift_sole_lwa[i], P.w_swing);
    }
    if (s.hand_frame[i] >= 0 && tg.hand[i]) {
      const Eigen::Vector3d p = s.data.oMf[s.hand_frame[i]].p;
      const Eigen::Vector3d vh = s.J_hand[i] * v;
      const Eigen::Vector3d a_des = P.kp_hand * (*tg.hand[i] - p) - P.kd_hand * vh;
      add_task(s.J_hand[i], a_des - s.drift_hand[i], P.w_hand);
    }
  }
  for (int k = 0; k < s.n_joint; ++k) {
    const auto& jt = s.model.joints[s.joint_ids[k]];
    const int d = jt.v_index;
    const double qd = tg.q_posture.size() == q.size() ? tg.q_posture[jt.q_index] : s.profile.q_nominal[jt.q_index];
    const double a_des = P.kp_posture * (qd - q[jt.q_index]) - P.kd_posture * v[d];
    pr.H(d, d) += P.w_posture;
    pr.g[d] -= P.w_posture * a_des;
  }
  for (int d = 0; d < nv; ++d) pr.H(d, d) += P.w_acc;
  const int n_contact = int(tg.contact[0]) + int(tg.contact[1]);
  const double g_norm = s.dm.gravity.norm();
  for (int i = 0; i < 2; ++i) {
    const int c = nv + 6 * i;
    Vec6 w_ref = Vec6::Zero();
    if (tg.contact[i] && n_contact > 0) w_ref[2] = s.mass * g_norm / n_contact;
    for (int k = 0; k < 6; ++k) {
      pr.H(c + k, c + k) += P.w_force;
      pr.g[c + k] -= P.w_force * w_ref[k];
    }
  }

  // --- Equalities: unactuated rows of the equations of motion, then contacts. ---
  pr.A_eq.setZero();
  for (int r = 0; r < s.n_unact; ++r) {
    const int d = s.unact_dofs[r];
    pr.A_eq.row(r).head(nv) = M.row(d);
    for (int i = 0; i < 2; ++i) pr.A_eq.row(r).segment<6>(nv + 6 * i) = -s.J_sole[i].col(d).transpose();
    pr.b_eq[r] = -h[d];
  }
  for (int i = 0; i < 2; ++i) {
    const int r0 = s.n_unact + 6 * i;
    if (tg.contact[i]) {
      pr.A_eq.block(r0, 0, 6, nv) = s.J_sole[i];
      pr.b_eq.segment<6>(r0) = -s.drift_sole_local[i] - P.k_contact * (s.J_sole[i] * v);
    } else {
      pr.A_eq.block<6, 6>(r0, nv + 6 * i).setIdentity();
      pr.b_eq.segment<6>(r0).setZero();
    }
  }

  // --- Inequalities: torque limits, then the contact wrench cones. ---
  pr.C.setZero();
  for (int r = 0; r < s.n_act; ++r) {
    const int d = s.act_dofs[r];
    pr.C.row(r).head(nv) = M.row(d);
    for (int i = 0; i < 2; ++i) pr.C.row(r).segment<6>(nv + 6 * i) = -s.J_sole[i].col(d).transpose();
    pr.l[r] = -s.tau_max[d] - h[d];
    pr.u[r] = s.tau_max[d] - h[d];
  }
  for (int i = 0; i < 2; ++i) {
    const int r0 = s.n_act + 10 * i, c = nv + 6 * i;
    const double mu = P.mu, hw = 0.5 * s.sole_width[i], hl = 0.5 * s.sole_length[i];
    const double mu_z = mu * std::min(hw, hl);
    const std::array<std::pair<int, double>, 5> rows{{{0, mu}, {1, mu}, {3, hw}, {4, hl}, {5, mu_z}}};
    for (int k = 0; k < 5; ++k) {
      const auto [comp, coef] = rows[k];
      // comp - coef fz <= 0  and  comp + coef fz >= 0
      pr.C(r0 + 2 * k, c + comp) = 1.0;
      pr.C(r0 + 2 * k, c + 2) = -coef;
      pr.l[r0 + 2 * k] = -kInf;
      pr.u[r0 + 2 * k] = 0.0;
      pr.C(r0 + 2 * k + 1, c + comp) = 1.0;
      pr.C(r0 + 2 * k + 1, c + 2) = coef;
      pr.l[r0 + 2 * k + 1] = 0.0;
      pr.u[r0 + 2 * k + 1] = kInf;
    }
  }

  // --- Bounds: joint limits as acceleration bounds; minimum normal force. ---
  pr.lb.setConstant(-kInf);
  pr.ub.setConstant(kInf);
  const double T = P.limit_horizon;
  for (int k = 0; k < s.n_joint; ++k) {
    const auto& jt = s.model.joints[s.joint_ids[k]];
    const int d = jt.v_index;
    double lo = -kInf, hi = kInf;
    if (jt.limited) {
      const double qj = q[jt.q_index], dqj = v[d];
      lo = 2.0 * (jt.lower - qj - dqj * T) / (T * T);
      hi = 2.0 * (jt.upper - qj - dqj * T) / (T * T);
    }
    if (jt.velocity_limit > 0) {
      lo = std::max(lo, (-jt.velocity_limit - v[d]) / s.dt);
      hi = std::min(hi, (jt.velocity_limit - v[d]) / s.dt);
    }
    // Outside a limit the bound pair may cross: keep the one that pushes back inside, never an empty box.
    if (lo > hi) lo = hi = 0.5 * (lo + hi);
    pr.lb[d] = lo;
    pr.ub[d] = hi;
  }
  for (int i = 0; i < 2; ++i)
    if (tg.contact[i]) pr.lb[nv + 6 * i + 2] = P.f_min;

  // --- Solve and map to joint commands. ---
  // An infeasible problem (a joint already past a limit, torque limits that cannot hold the contacts) is
  // relaxed in steps: first the joint-limit acceleration bounds, then the torque limits (the result is then
  // clamped to the limits). The status says which relaxation was needed.
  qp::QpStatus status = s.solver.solve(pr, /*warm_start=*/true);
  o.status = qp::to_string(status);
  if (status == qp::QpStatus::kInfeasible) {
    pr.lb.head(nv).setConstant(-kInf);
    pr.ub.head(nv).setConstant(kInf);
    s.solver.clear_active_set();
    status = s.solver.solve(pr, false);
    o.status = std::string(qp::to_string(status)) + " (joint limits relaxed)";
    if (status == qp::QpStatus::kInfeasible) {
      pr.l.head(s.n_act).setConstant(-kInf);
      pr.u.head(s.n_act).setConstant(kInf);
      status = s.solver.solve(pr, false);
      o.status = std::string(qp::to_string(status)) + " (joint and torque limits relaxed)";
    }
  }
  o.ok = status == qp::QpStatus::kOptimal;
  o.qp_iterations = s.solver.solution().iterations;
  if (o.ok) {
    const Eigen::VectorXd& x = s.solver.solution().x;
    o.a = x.head(nv);
    for (int i = 0; i < 2; ++i) o.wrench[i] = x.segment<6>(nv + 6 * i);
  } else {
    s.solver.clear_active_set();
    o.a.setZero();
    for (int i = 0; i < 2; ++i) o.wrench[i].setZero();
  }
  const double w = P.joint_omega;
  for (int k = 0; k < s.n_joint; ++k) {
    const auto& jt = s.model.joints[s.joint_ids[k]];
    const int d = jt.v_index;
    double tau = M.row(d).dot(o.a) + h[d];
    for (int i = 0; i < 2; ++i) tau -= s.J_sole[i].col(d).dot(o.wrench[i]);
    tau += jt.damping * v[d];  // MuJoCo applies -damping * v as a passive force
    if (!s.joint_actuated[k]) tau = 0.0;
    o.tau[k] = std::clamp(tau, -s.tau_max[d], s.tau_max[d]);
    o.dq_ref[k] = v[d] + o.a[d] * s.dt;
    o.q_ref[k] = q[jt.q_index] + v[d] * s.dt + 0.5 * o.a[d] * s.dt * s.dt;
    const double Mjj = M(d, d);
    o.kp[k] = s.joint_actuated[k] ? Mjj * w * w : 0.0;
    o.kd[k] = s.joint_actuated[k] ? 2.0 * Mjj * w : 0.0;
  }
  return o;
}

}  // namespace oh::control
