#include "runtime/runner.hpp"

#include "model/model.hpp"
#include "model/profile.hpp"
#include "runtime/src/wiring.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <stdexcept>

namespace oh::runtime {
namespace {

using Clock = std::chrono::steady_clock;

/// Ground truth in the controller's convention: base linear velocity rotated into the base frame.
Estimate estimate_from_truth(const model::Model& model, const sim::GroundTruth& g) {
  Estimate e{g.qpos, g.qvel};
  if (model.has_floating_base()) {
    const auto& fj = model.joints[model.bodies[1].joints[0]];
    const Eigen::Vector3d v_world = g.qvel.segment<3>(fj.v_index);
    e.v.segment<3>(fj.v_index) = g.base_quat.toRotationMatrix().transpose() * v_world;
  }
  return e;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

double tilt_of(const Eigen::Quaterniond& q) {
  const double c = std::clamp(q.toRotationMatrix()(2, 2), -1.0, 1.0);
  return std::acos(c);
}

}  // namespace

nlohmann::json run(const RunOptions& opt) {
  if (!(opt.duration > 0) || !std::isfinite(opt.duration)) throw std::invalid_argument("--duration must be positive");
  if (!(opt.control_rate > 0)) throw std::invalid_argument("control rate must be positive");
  if (opt.task != "stand" && opt.task != "com-shift" && opt.task != "reach")
    throw std::invalid_argument(fmt::format("--task '{}': unknown task (known: stand, com-shift, reach)", opt.task));

  const auto path = model::resolve_robot(opt.robot);
  const model::LoadedRobot robot = model::load(path);
  const model::Profile profile = model::profile_for(
      robot.model, opt.profile.empty() ? std::nullopt : std::optional<std::filesystem::path>(opt.profile));
  sim::Simulation sim(robot, sim::SimOptions{opt.seed});
  sim.reset(profile.q_nominal);
  SimHardware hw(sim, 1.0 / opt.control_rate);
  hw.set_contact_bodies({profile.left_foot.body, profile.right_foot.body});

  struct PushRecord {
    double t, magnitude;
  };
  std::vector<PushRecord> push_records;
  for (const auto& text : opt.pushes) {
    const PushSpec p = parse_push(text);
    if (p.disturbance) {
      sim::Disturbance d = *p.disturbance;
      if (!p.body_name.empty()) {
        d.body = robot.model.body_id(p.body_name);
        if (d.body < 0) throw std::invalid_argument(fmt::format("--push '{}': no body named '{}'", text, p.body_name));
      }
      sim.add_disturbance(d);
    } else {
      sim.add_random_pushes(p.random_dv, p.random_period, p.random_period, opt.duration);
    }
  }
  for (const auto& d : sim.disturbances()) push_records.push_back({d.t, d.value.norm()});

  WbcController controller(robot.model, profile, hw.joint_names(), hw.control_dt(), opt.task);
  std::vector<MotorCommand> cmd(hw.joint_names().size());
  StateEstimator estimator(robot.model, profile);

  const sim::GroundTruth g0 = sim.ground_truth();
  const double h0 = g0.base_pos.z();
  RobotState state = hw.read();
  estimator.reset(state, g0.base_pos, g0.base_lin_vel);
  Estimate est = estimate_from_truth(robot.model, g0);
  controller.reset(state, est);
  // The CoM reference of the stand tasks: where the nominal pose puts it.
  const Eigen::Vector2d com_ref = g0.com.head<2>();

  std::vector<double> tick_us;
  double max_tilt = 0.0, com_err_sq = 0.0, pos_err_sq = 0.0, vel_err_sq = 0.0;
  long samples = 0;
  bool fell = false;
  double fell_at = -1.0;
  std::vector<double> settle_time(push_records.size(), -1.0);
  const auto wall0 = Clock::now();
  while (sim.time() < opt.duration - 1e-9) {
    const auto t0 = Clock::now();
    state = hw.read();
    const sim::GroundTruth truth = sim.ground_truth();
    const Estimate& kf = estimator.update(state, hw.control_dt());
    pos_err_sq += (estimator.base_position() - truth.base_pos).squaredNorm();
    vel_err_sq += (estimator.base_velocity_world() - truth.base_lin_vel).squaredNorm();
    const Estimate& used = opt.ground_truth ? (est = estimate_from_truth(robot.model, truth)) : kf;
    controller.update(state, used, cmd);
    tick_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    hw.write(cmd);
    hw.advance();

    const sim::GroundTruth g = sim.ground_truth();
    const double tilt = tilt_of(g.base_quat);
    max_tilt = std::max(max_tilt, tilt);
    com_err_sq += (g.com.head<2>() - com_ref).squaredNorm();
    ++samples;
    const double speed = g.base_lin_vel.head<2>().norm();
    for (size_t i = 0; i < push_records.size(); ++i)
      if (settle_time[i] < 0 && g.qpos.size() > 0 && sim.time() > push_records[i].t + 0.05 && speed < 0.1)
        settle_time[i] = sim.time();
    if (g.base_pos.z() < 0.5 * h0 || tilt > 1.0 || sim.diverged()) {
      fell = true;
      fell_at = sim.time();
      break;
    }
  }
  const double wall = std::chrono::duration<double>(Clock::now() - wall0).count();

  nlohmann::json r;
  r["robot"] = robot.model.name;
  r["robot_path"] = path.string();
  r["task"] = opt.task;
  r["controller"] = controller.name();
  r["duration_s"] = opt.duration;
  r["simulated_s"] = sim.time();
  r["fell"] = fell;
  r["fell_at_s"] = fell ? nlohmann::json(fell_at) : nlohmann::json(nullptr);
  r["max_tilt_rad"] = max_tilt;
  r["com_xy_error_rms_m"] = samples ? std::sqrt(com_err_sq / samples) : 0.0;
  auto& pushes = r["pushes"] = nlohmann::json::array();
  for (size_t i = 0; i < push_records.size(); ++i) {
    const bool reached = push_records[i].t < sim.time();
    const bool recovered = reached && settle_time[i] >= 0 && (!fell || fell_at > settle_time[i]);
    pushes.push_back({{"t", push_records[i].t}, {"magnitude", push_records[i].magnitude}, {"recovered", recovered},
                      {"settle_s", settle_time[i] >= 0 ? settle_time[i] - push_records[i].t : -1.0}});
  }
  r["controller_tick_us"] = {{"p50", percentile(tick_us, 0.5)}, {"p99", percentile(tick_us, 0.99)}};
  r["control_rate_hz"] = 1.0 / hw.control_dt();
  r["real_time_factor"] = wall > 0 ? sim.time() / wall : 0.0;
  r["estimator_error"] = {{"pos_rms_m", samples ? std::sqrt(pos_err_sq / samples) : 0.0},
                          {"vel_rms_mps", samples ? std::sqrt(vel_err_sq / samples) : 0.0},
                          {"controller_input", opt.ground_truth ? "ground_truth" : "estimate"}};
  r["task_metrics"] = controller.metrics();
  r["sim_warnings"] = sim.warnings();
  r["sim_diverged"] = sim.diverged();
  r["seed"] = opt.seed;
  return r;
}

}  // namespace oh::runtime
