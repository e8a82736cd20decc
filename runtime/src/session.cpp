#include "runtime/session.hpp"

#include "model/model.hpp"
#include "model/profile.hpp"
#include "runtime/hardware.hpp"
#include "runtime/src/common.hpp"
#include "runtime/src/walk.hpp"
#include "runtime/src/wiring.hpp"
#include "sim/terrain.hpp"

#include <mujoco/mujoco.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <mutex>
#include <numbers>
#include <random>
#include <stdexcept>
#include <thread>

namespace oh::runtime {

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kStanding: return "standing";
    case Mode::kWalking: return "walking";
    case Mode::kFallen: return "fallen";
    case Mode::kEstopped: return "estopped";
  }
  return "unknown";
}

namespace {
using Clock = std::chrono::steady_clock;

/// Commands received from other threads, applied at the next tick.
struct Inbox {
  bool has_velocity = false;
  Eigen::Vector3d velocity = Eigen::Vector3d::Zero();
  std::string task;            ///< empty: unchanged
  std::vector<double> pushes;  ///< magnitudes [m/s]
  bool estop = false, reset = false;
};
}  // namespace

struct Session::Impl {
  SessionOptions opt;
  std::string path;
  Scene scene;
  sim::Terrain terrain;
  CommandLimits limits;
  // The simulated robot; rebuilt by reset.
  std::unique_ptr<sim::Simulation> sim;
  std::unique_ptr<SimHardware> hw;
  std::unique_ptr<StateEstimator> estimator;
  std::unique_ptr<WalkController> controller;
  std::vector<MotorCommand> cmd;
  Estimate est;
  double h0 = 0.0;
  int robot_root = 1;
  std::mt19937_64 rng;

  // State owned by the stepping thread.
  std::string task = "stand";
  bool client_command = false;  ///< a client has sent a velocity command: the schedule no longer drives
  Eigen::Vector3d velocity = Eigen::Vector3d::Zero();  ///< last velocity command (clamped)
  Eigen::Vector3d applied = Eigen::Vector3d::Zero();   ///< the command the controller sees this tick
  bool estopped = false, fallen = false;
  std::uint64_t episode = 0, tick = 0;
  int last_steps = 0;
  double last_step_change_t = -1e9;
  std::deque<double> tick_window;
  double rtf = 0.0;

  // Shared with other threads.
  mutable std::mutex inbox_mutex;
  Inbox inbox;
  bool estop_latched = false;  ///< mirrors estopped for command validation, under inbox_mutex
  std::atomic<bool> fallen_shared{false};
  mutable std::mutex snap_mutex;
  SessionSnapshot snap;

  explicit Impl(const SessionOptions& o) : opt(o), rng(o.seed) {
    if (!(o.control_rate > 0) || !std::isfinite(o.control_rate))
      throw std::invalid_argument("session: control rate must be positive");
    if (!(o.estop_kd > 0) || !std::isfinite(o.estop_kd)) throw std::invalid_argument("session: estop_kd must be positive");
    if (!(o.max_push_dv > 0) || !std::isfinite(o.max_push_dv))
      throw std::invalid_argument("session: max_push_dv must be positive");
    terrain = sim::parse_terrain(o.terrain);
    path = model::resolve_robot(o.robot).string();
    scene = load_scene(path, o.profile, terrain);
    if (!scene.robot.model.has_floating_base()) throw std::invalid_argument("session: the robot has no floating base");
    rebuild();
    const control::GaitParams& g = controller->gait();
    limits = {g.max_vx, g.max_vy, g.max_wz};
  }

  Eigen::Vector3d clamp(const Eigen::Vector3d& c) const {
    return {std::clamp(c.x(), -limits.max_vx, limits.max_vx), std::clamp(c.y(), -limits.max_vy, limits.max_vy),
            std::clamp(c.z(), -limits.max_wz, limits.max_wz)};
  }

  /// The command the controller reads at time t.
  Eigen::Vector3d command_at(double t) const {
    if (task == "stand" || estopped || fallen) return Eigen::Vector3d::Zero();
    if (client_command) return velocity;
    Eigen::Vector3d c = Eigen::Vector3d::Zero();
    for (const auto& [ts, v] : opt.schedule)
      if (t + 1e-9 >= ts) c = v;
    return clamp(c);
  }

  /// A fresh simulation at the nominal pose with the controller and estimator restarted.
  void rebuild() {
    const model::Model& m = scene.robot.model;
    sim = std::make_unique<sim::Simulation>(scene.robot, sim::SimOptions{opt.seed + episode});
    sim->reset(scene.profile.q_nominal);
    hw = std::make_unique<SimHardware>(*sim, 1.0 / opt.control_rate);
    hw->set_contact_bodies({scene.profile.left_foot.body, scene.profile.right_foot.body});
    estimator = std::make_unique<StateEstimator>(m, scene.profile);
    controller = std::make_unique<WalkController>(m, scene.profile, hw->control_dt(),
                                                  [this](double t) { return applied = command_at(t); });
    if (opt.terrain_known)
      controller->set_terrain_normal([t = terrain](const Eigen::Vector2d& p) { return sim::terrain_normal(t, p); });
    cmd.assign(hw->joint_names().size(), MotorCommand{});
    const sim::GroundTruth g0 = sim->ground_truth();
    h0 = g0.base_pos.z();
    robot_root = sim->mj_model()->body_rootid[1];
    const RobotState state = hw->read();
    estimator->reset(state, g0.base_pos, g0.base_lin_vel);
    est = estimate_from_truth(m, g0);
    controller->reset(state, est);
    estopped = fallen = false;
    tick = 0;
    last_steps = 0;
    last_step_change_t = -1e9;
    applied.setZero();
    tick_window.clear();
    publish(0.0);
  }

  void take_inbox() {
    Inbox in;
    {
      std::lock_guard lock(inbox_mutex);
      std::swap(in, inbox);
    }
    if (in.reset) {
      ++episode;
      task = "stand";
      velocity.setZero();
      client_command = false;
      rebuild();
      fallen_shared = false;
    }
    if (in.estop) {
      estopped = true;
      hw->damp(opt.estop_kd);
      return;
    }
    if (estopped) return;
    if (in.has_velocity) {
      velocity = clamp(in.velocity);
      client_command = true;
      task = "walk";
    }
    if (!in.task.empty()) {
      task = in.task;
      if (task == "stand") {
        velocity.setZero();
        client_command = true;
      }
    }
    for (double dv : in.pushes) {
      std::uniform_real_distribution<double> angle(-std::numbers::pi, std::numbers::pi);
      const double a = angle(rng);
      sim::Disturbance d;
      d.kind = sim::Disturbance::Kind::kVelocityChange;
      d.t = sim->time();
      d.value = Eigen::Vector3d(dv * std::cos(a), dv * std::sin(a), 0.0);
      sim->add_disturbance(d);
    }
  }

  void step() {
    take_inbox();
    const auto t0 = Clock::now();
    double us = 0.0;
    const RobotState state = hw->read();
    if (estopped || fallen) {
      hw->damp(opt.estop_kd);
      std::fill(cmd.begin(), cmd.end(), MotorCommand{0, 0, 0, opt.estop_kd, 0});
    } else {
      const Estimate& kf = estimator->update(state, hw->control_dt());
      const Estimate& used = opt.ground_truth ? (est = estimate_from_truth(scene.robot.model, sim->ground_truth())) : kf;
      controller->update(state, used, cmd);
      us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
      try {
        hw->write(cmd);
      } catch (const std::invalid_argument&) {  // a non-finite command: the safe state
        fallen = true;
        fallen_shared = true;
        hw->damp(opt.estop_kd);
      }
    }
    hw->advance();
    ++tick;
    const sim::GroundTruth g = sim->ground_truth();
    if (!fallen && !estopped && has_fallen(g, h0, sim->diverged())) {
      fallen = true;
      fallen_shared = true;
      hw->damp(opt.estop_kd);
    }
    if (controller->steps_taken() != last_steps) {
      last_steps = controller->steps_taken();
      last_step_change_t = sim->time();
    }
    tick_window.push_back(us);
    const size_t window = static_cast<size_t>(std::max(1.0, 1.0 / hw->control_dt()));
    while (tick_window.size() > window) tick_window.pop_front();
    publish(us);
  }

  void publish(double us) {
    const sim::GroundTruth g = sim->ground_truth();
    const mjModel* m = sim->mj_model();
    const mjData* d = sim->mj_data();
    SessionSnapshot s;
    s.t = sim->time();
    s.episode = episode;
    s.tick = tick;
    s.task = task;
    const double walk_memory = 2.0 * controller->gait().t_step();
    if (estopped) s.mode = Mode::kEstopped;
    else if (fallen) s.mode = Mode::kFallen;
    else if (applied.norm() > 1e-9 || s.t - last_step_change_t < walk_memory) s.mode = Mode::kWalking;
    else s.mode = Mode::kStanding;
    s.base_pos = g.base_pos;
    s.base_quat = g.base_quat;
    s.base_lin_vel = g.base_lin_vel;
    s.base_ang_vel = g.base_ang_vel;
    s.heading_vel = heading_velocity(g);
    s.base_height = g.base_pos.z();
    s.tilt = tilt_of(g.base_quat);
    s.com = g.com;
    const RobotState rs = hw->read();
    s.q = rs.q;
    s.dq = rs.dq;
    s.tau = hw->applied_effort();
    s.kp_max = 0.0;
    s.kd_min = cmd.empty() ? 0.0 : 1e300;
    for (const auto& c : cmd) {
      s.kp_max = std::max(s.kp_max, c.kp);
      s.kd_min = std::min(s.kd_min, c.kd);
    }
    for (size_t i = 0; i < 2 && i < rs.contact_wrenches.size(); ++i) s.foot_force_z[i] = rs.contact_wrenches[i][2];
    s.body_pos.resize(static_cast<size_t>(m->nbody));
    s.body_quat.resize(static_cast<size_t>(m->nbody));
    for (int b = 0; b < m->nbody; ++b) {
      s.body_pos[b] = Eigen::Vector3d(d->xpos[3 * b], d->xpos[3 * b + 1], d->xpos[3 * b + 2]);
      s.body_quat[b] = Eigen::Quaterniond(d->xquat[4 * b], d->xquat[4 * b + 1], d->xquat[4 * b + 2], d->xquat[4 * b + 3]);
    }
    for (int i = 0; i < d->ncon; ++i) {
      const mjContact& con = d->contact[i];
      const bool r1 = m->body_rootid[m->geom_bodyid[con.geom1]] == robot_root;
      const bool r2 = m->body_rootid[m->geom_bodyid[con.geom2]] == robot_root;
      if (r1 == r2) continue;  // self-contact or world-world
      mjtNum f[6];
      mj_contactForce(m, d, i, f);  // contact frame; acts on geom2 from geom1
      const Eigen::Map<const Eigen::Matrix<double, 3, 3, Eigen::RowMajor>> R(con.frame);
      Eigen::Vector3d fw = R.transpose() * Eigen::Vector3d(f[0], f[1], f[2]);
      if (r1) fw = -fw;
      s.contacts.push_back({Eigen::Vector3d(con.pos[0], con.pos[1], con.pos[2]), fw});
    }
    s.command = velocity;
    s.command_applied = applied;
    s.steps_taken = controller->steps_taken();
    s.tick_us = us;
    const std::vector<double> w(tick_window.begin(), tick_window.end());
    s.tick_p50_us = percentile(w, 0.5);
    s.tick_p99_us = percentile(w, 0.99);
    s.real_time_factor = rtf;
    std::lock_guard lock(snap_mutex);
    snap = std::move(s);
  }
};

Session::Session(const SessionOptions& options) : impl_(std::make_unique<Impl>(options)) {}
Session::~Session() = default;

const model::Model& Session::model() const { return impl_->scene.robot.model; }
const model::Profile& Session::profile() const { return impl_->scene.profile; }
const model::LoadedRobot& Session::robot() const { return impl_->scene.robot; }
const std::string& Session::robot_path() const { return impl_->path; }
CommandLimits Session::limits() const { return impl_->limits; }
double Session::control_dt() const { return impl_->hw->control_dt(); }

void Session::step() { impl_->step(); }

void Session::run_realtime(double rate, double duration, const std::atomic<bool>& stop) {
  if (!(rate > 0) || !std::isfinite(rate)) throw std::invalid_argument("run_realtime: rate must be positive");
  Impl& s = *impl_;
  auto wall0 = Clock::now();
  double sim0 = s.sim->time();
  std::uint64_t episode = s.episode;
  auto rtf_wall = Clock::now();
  double rtf_sim = s.sim->time();
  while (!stop.load()) {
    if (duration > 0 && s.sim->time() >= duration - 1e-9) break;
    step();
    if (s.episode != episode) {  // a reset restarted the clock
      episode = s.episode;
      wall0 = Clock::now();
      sim0 = s.sim->time();
      rtf_wall = wall0;
      rtf_sim = sim0;
    }
    const double sim_elapsed = s.sim->time() - sim0;
    const auto due = wall0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(sim_elapsed / rate));
    const auto now = Clock::now();
    if (due > now) {
      std::this_thread::sleep_until(due);
    } else if (now - due > std::chrono::milliseconds(100)) {  // behind: drop the backlog
      wall0 += now - due;
    }
    const double span = std::chrono::duration<double>(Clock::now() - rtf_wall).count();
    if (span >= 1.0) {
      s.rtf = (s.sim->time() - rtf_sim) / span;
      rtf_wall = Clock::now();
      rtf_sim = s.sim->time();
    }
  }
}

std::string Session::set_velocity(const Eigen::Vector3d& cmd) {
  if (!cmd.allFinite()) return "velocity must be finite";
  std::lock_guard lock(impl_->inbox_mutex);
  if (impl_->estop_latched) return "e-stop is latched: reset first";
  if (impl_->fallen_shared && !impl_->inbox.reset) return "the robot has fallen: reset first";
  impl_->inbox.has_velocity = true;
  impl_->inbox.velocity = cmd;
  return {};
}

std::string Session::set_task(const std::string& task) {
  if (task != "stand" && task != "walk") return fmt::format("unknown task (known: stand, walk)");
  std::lock_guard lock(impl_->inbox_mutex);
  if (impl_->estop_latched) return "e-stop is latched: reset first";
  impl_->inbox.task = task;
  if (task == "stand") impl_->inbox.has_velocity = false;
  return {};
}

std::string Session::push(double dv) {
  if (!std::isfinite(dv) || dv <= 0 || dv > impl_->opt.max_push_dv)
    return fmt::format("push dv must be in (0, {}] m/s", impl_->opt.max_push_dv);
  std::lock_guard lock(impl_->inbox_mutex);
  if (impl_->estop_latched) return "e-stop is latched: reset first";
  if (impl_->inbox.pushes.size() < 16) impl_->inbox.pushes.push_back(dv);
  return {};
}

std::string Session::estop() {
  std::lock_guard lock(impl_->inbox_mutex);
  impl_->inbox.estop = true;
  impl_->estop_latched = true;
  return {};
}

std::string Session::reset() {
  std::lock_guard lock(impl_->inbox_mutex);
  impl_->inbox = Inbox{};
  impl_->inbox.reset = true;
  impl_->estop_latched = false;
  return {};
}

SessionSnapshot Session::snapshot() const {
  std::lock_guard lock(impl_->snap_mutex);
  return impl_->snap;
}

}  // namespace oh::runtime
