#include "sim/sim.hpp"

#include <mujoco/mujoco.h>

#include <cmath>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <numbers>
#include <stdexcept>

namespace oh::sim {
namespace {

const char* warning_text(int i) {
  switch (i) {
    case mjWARN_INERTIA: return "(near) singular inertia matrix";
    case mjWARN_CONTACTFULL: return "contact buffer full (nconmax)";
    case mjWARN_CNSTRFULL: return "constraint buffer full (njmax)";
    case mjWARN_VGEOMFULL: return "visual geom buffer full";
    case mjWARN_BADQPOS: return "bad number in qpos (state reset by MuJoCo)";
    case mjWARN_BADQVEL: return "bad number in qvel (state reset by MuJoCo)";
    case mjWARN_BADQACC: return "bad number in qacc (simulation unstable, state reset by MuJoCo)";
    case mjWARN_BADCTRL: return "bad number in ctrl";
    default: return "unknown warning";
  }
}

/// MuJoCo's default warning handler appends to MUJOCO_LOG.TXT in the working directory; the simulation reports
/// warnings through Simulation::warnings() instead, and the text goes to the log.
void log_mujoco_warning(const char* msg) { spdlog::warn("MuJoCo: {}", msg); }

std::shared_ptr<mjModel> copy_model(const model::LoadedRobot& robot) {
  if (!robot.mj) throw model::ModelError("Simulation: robot has no compiled MuJoCo model");
  mjModel* m = mj_copyModel(nullptr, robot.mj.get());
  if (!m) throw model::ModelError("Simulation: mj_copyModel failed");
  return {m, model::free_mj_model};
}

}  // namespace

Simulation::Simulation(const model::LoadedRobot& robot, SimOptions options)
    : model_(robot.model), m_(copy_model(robot)), rng_(options.seed) {
  mju_user_warning = log_mujoco_warning;
  d_ = mj_makeData(m_.get());
  if (!d_) throw model::ModelError("Simulation: mj_makeData failed");
  warning_counts_.assign(mjNWARNING, 0);
  for (size_t j = 0; j < model_.joints.size(); ++j)
    if (model_.joints[j].nv == 1) joint_ids_.push_back(static_cast<int>(j));
  if (model_.has_floating_base()) base_body_ = model_.joints[model_.bodies[1].joints[0]].body;
  reset(model_.nominal_q());
}

Simulation::~Simulation() {
  if (d_) mj_deleteData(d_);
}

void Simulation::reset(const Eigen::VectorXd& q) {
  if (q.size() != m_->nq) throw std::invalid_argument(fmt::format("reset: q has {} entries, nq is {}", q.size(), m_->nq));
  if (!q.allFinite()) throw std::invalid_argument("reset: q has non-finite entries");
  mj_resetData(m_.get(), d_);
  Eigen::Map<Eigen::VectorXd>(d_->qpos, m_->nq) = q;
  mj_forward(m_.get(), d_);
  for (auto& dist : disturbances_) dist.applied = false;
  diverged_ = false;
  for (int i = 0; i < mjNWARNING; ++i) warning_counts_[i] = d_->warning[i].number;
}

double Simulation::time() const { return d_->time; }
double Simulation::timestep() const { return m_->opt.timestep; }

void Simulation::set_ctrl(const Eigen::VectorXd& ctrl) {
  if (ctrl.size() != m_->nu)
    throw std::invalid_argument(fmt::format("set_ctrl: {} entries, nu is {}", ctrl.size(), m_->nu));
  bool bad = false;
  for (int i = 0; i < m_->nu; ++i) {
    const double c = ctrl[i];
    bad |= !std::isfinite(c);
    d_->ctrl[i] = std::isfinite(c) ? c : 0.0;
  }
  if (bad) warnings_.push_back(fmt::format("t={:.3f} s: non-finite ctrl replaced by 0", d_->time));
}

void Simulation::step() {
  apply_disturbances();
  const double t = d_->time;
  mj_step(m_.get(), d_);
  // A diverged step (non-finite qpos, qvel or qacc) makes MuJoCo reset the state, time included; the clock
  // goes on, so the warning, the divergence and a caller's fall are reported when they happened.
  if (d_->time < t) d_->time = t + m_->opt.timestep;
  collect_warnings();
}

void Simulation::apply_disturbances() {
  mju_zero(d_->xfrc_applied, 6 * m_->nbody);
  const double t = d_->time;
  for (auto& dist : disturbances_) {
    if (t + 1e-12 < dist.t) continue;
    if (dist.kind == Disturbance::Kind::kVelocityChange) {
      if (dist.applied) continue;
      dist.applied = true;
      if (!model_.has_floating_base()) continue;
      const int dof = model_.joints[model_.bodies[1].joints[0]].v_index;
      for (int i = 0; i < 3; ++i) d_->qvel[dof + i] += dist.value[i];  // free joint: linear part in world
    } else if (t < dist.t + dist.duration) {
      dist.applied = true;
      const int body = dist.body >= 0 ? dist.body : base_body_;
      for (int i = 0; i < 3; ++i) d_->xfrc_applied[6 * body + i] += dist.value[i];
    }
  }
}

void Simulation::collect_warnings() {
  for (int i = 0; i < mjNWARNING; ++i) {
    const int n = d_->warning[i].number;
    if (n != warning_counts_[i]) {
      warnings_.push_back(fmt::format("t={:.3f} s: {} (x{})", d_->time, warning_text(i), n - warning_counts_[i]));
      warning_counts_[i] = n;
      if (i == mjWARN_BADQPOS || i == mjWARN_BADQVEL || i == mjWARN_BADQACC) diverged_ = true;
    }
  }
}

SensorState Simulation::sensors() const {
  SensorState s;
  s.t = d_->time;
  const int b = base_body_;
  s.imu.quat = Eigen::Quaterniond(d_->xquat[4 * b], d_->xquat[4 * b + 1], d_->xquat[4 * b + 2], d_->xquat[4 * b + 3]);
  mjtNum vel[6];  // [angular; linear] in the body frame, about the body origin
  mj_objectVelocity(m_.get(), d_, mjOBJ_XBODY, b, vel, 1);
  s.imu.gyro = Eigen::Vector3d(vel[0], vel[1], vel[2]);
  // Specific force: the body-origin acceleration minus gravity, in the body frame. mj_rnePostConstraint fills
  // cacc for the current state (Featherstone's spatial acceleration); it is cheap next to a physics step.
  mj_rnePostConstraint(m_.get(), d_);
  mjtNum acc[6];
  mj_objectAcceleration(m_.get(), d_, mjOBJ_XBODY, b, acc, 1);
  s.imu.accel = Eigen::Vector3d(acc[3], acc[4], acc[5]);
  const auto n = static_cast<Eigen::Index>(joint_ids_.size());
  s.q.resize(n);
  s.dq.resize(n);
  s.tau.resize(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto& j = model_.joints[joint_ids_[i]];
    s.q[i] = d_->qpos[j.q_index];
    s.dq[i] = d_->qvel[j.v_index];
    s.tau[i] = d_->qfrc_actuator[j.v_index];
  }
  return s;
}

GroundTruth Simulation::ground_truth() const {
  GroundTruth g;
  g.qpos = Eigen::Map<const Eigen::VectorXd>(d_->qpos, m_->nq);
  g.qvel = Eigen::Map<const Eigen::VectorXd>(d_->qvel, m_->nv);
  // subtree_com of body 1's root subtree; sum over the world's children weighted by subtree mass.
  double mass = 0.0;
  Eigen::Vector3d c = Eigen::Vector3d::Zero();
  for (int b = 1; b < m_->nbody; ++b) {
    mass += m_->body_mass[b];
    c += m_->body_mass[b] * Eigen::Vector3d(d_->xipos[3 * b], d_->xipos[3 * b + 1], d_->xipos[3 * b + 2]);
  }
  g.com = mass > 0 ? Eigen::Vector3d(c / mass) : c;
  const int b = base_body_;
  g.base_pos = Eigen::Vector3d(d_->xpos[3 * b], d_->xpos[3 * b + 1], d_->xpos[3 * b + 2]);
  g.base_quat = Eigen::Quaterniond(d_->xquat[4 * b], d_->xquat[4 * b + 1], d_->xquat[4 * b + 2], d_->xquat[4 * b + 3]);
  mjtNum vel[6];
  mj_objectVelocity(m_.get(), d_, mjOBJ_XBODY, b, vel, 0);  // world-aligned, about the body origin
  g.base_ang_vel = Eigen::Vector3d(vel[0], vel[1], vel[2]);
  g.base_lin_vel = Eigen::Vector3d(vel[3], vel[4], vel[5]);
  return g;
}

Eigen::Vector3d Simulation::body_position(int body) const {
  if (body < 0 || body >= m_->nbody) throw std::out_of_range(fmt::format("body_position: body {} out of range", body));
  return {d_->xpos[3 * body], d_->xpos[3 * body + 1], d_->xpos[3 * body + 2]};
}

Eigen::Matrix<double, 6, 1> Simulation::contact_wrench(int body) const {
  Eigen::Matrix<double, 6, 1> w = Eigen::Matrix<double, 6, 1>::Zero();
  if (body < 0 || body >= m_->nbody) return w;
  const Eigen::Vector3d origin(d_->xpos[3 * body], d_->xpos[3 * body + 1], d_->xpos[3 * body + 2]);
  for (int i = 0; i < d_->ncon; ++i) {
    const mjContact& con = d_->contact[i];
    const int b1 = m_->geom_bodyid[con.geom1], b2 = m_->geom_bodyid[con.geom2];
    if (b1 != body && b2 != body) continue;
    mjtNum f[6];
    mj_contactForce(m_.get(), d_, i, f);  // in the contact frame; the force acts on geom2, from geom1
    // Contact frame rows are the axes (normal first), so world = frame^T * local.
    const Eigen::Map<const Eigen::Matrix<double, 3, 3, Eigen::RowMajor>> R(con.frame);
    Eigen::Vector3d fw = R.transpose() * Eigen::Vector3d(f[0], f[1], f[2]);
    Eigen::Vector3d tw = R.transpose() * Eigen::Vector3d(f[3], f[4], f[5]);
    if (b1 == body) {
      fw = -fw;
      tw = -tw;
    }
    const Eigen::Vector3d p(con.pos[0], con.pos[1], con.pos[2]);
    w.head<3>() += fw;
    w.tail<3>() += tw + (p - origin).cross(fw);
  }
  return w;
}

void Simulation::add_disturbance(const Disturbance& d) {
  if (!std::isfinite(d.t) || !std::isfinite(d.duration) || !d.value.allFinite() || d.duration < 0)
    throw std::invalid_argument("add_disturbance: non-finite or negative time, duration or value");
  if (d.body >= m_->nbody || d.body < -1)
    throw std::invalid_argument(fmt::format("add_disturbance: body {} out of range", d.body));
  disturbances_.push_back(d);
}

void Simulation::add_random_pushes(double dv, double period, double t0, double t1) {
  if (!(period > 0) || !std::isfinite(dv) || !std::isfinite(t0) || !std::isfinite(t1))
    throw std::invalid_argument("add_random_pushes: need a positive period and finite values");
  std::uniform_real_distribution<double> angle(0.0, 2.0 * std::numbers::pi);
  for (double t = t0; t < t1; t += period) {
    const double a = angle(rng_);
    Disturbance d;
    d.kind = Disturbance::Kind::kVelocityChange;
    d.t = t;
    d.value = Eigen::Vector3d(dv * std::cos(a), dv * std::sin(a), 0.0);
    disturbances_.push_back(d);
  }
}

}  // namespace oh::sim
