#include "runtime/runner.hpp"

#include "model/model.hpp"
#include "model/profile.hpp"
#include "runtime/src/common.hpp"
#include "runtime/src/policy_controller.hpp"
#include "runtime/src/walk.hpp"
#include "runtime/src/wiring.hpp"
#include "sim/terrain.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <stdexcept>

namespace oh::runtime {
namespace {

using Clock = std::chrono::steady_clock;

/// The start of a step: the trailing foot leaving the ground. Time [s], the stance foot (0 left, 1 right) and the
/// capture point (DCM, c + c'/omega; Englsberger 2015) relative to that foot then, in the base's heading frame [m].
/// Taken at lift-off rather than touchdown: the controller times lift-off, while a touchdown's instant moves with
/// the swing's height (a low swing lands earlier and its double support waits out the step's time).
struct StepStart {
  double t;
  int side;
  Eigen::Vector2d dcm;
};

/// Steps a walking robot took to absorb a push at t_push [s], judged on the step starts up to t_end [s]: at each
/// the capture point relative to the stance foot is compared with where it was at the same foot's last step start
/// before the push (the nominal gait's); the push is absorbed at the first step from which on every one is within
/// `tol` [m] of that. Returns that step's count after the push (1: the first step after the push already started
/// as the gait would have), or -1 when the last step in the window is still off (or no step on a foot precedes the
/// push).
int steps_to_absorb(const std::vector<StepStart>& steps, double t_push, double t_end, double tol) {
  std::array<int, 2> last{-1, -1};  // each foot's last step start at or before the push
  size_t k = 0;
  for (; k < steps.size() && steps[k].t <= t_push; ++k) last[static_cast<size_t>(steps[k].side)] = static_cast<int>(k);
  if (last[0] < 0 || last[1] < 0) return -1;
  int absorbed = -1, n = 0;
  for (; k < steps.size() && steps[k].t <= t_end; ++k) {
    ++n;
    const StepStart& nominal = steps[static_cast<size_t>(last[static_cast<size_t>(steps[k].side)])];
    if ((steps[k].dcm - nominal.dcm).norm() < tol) {
      if (absorbed < 0) absorbed = n;
    } else {
      absorbed = -1;
    }
  }
  return absorbed;
}

}  // namespace

nlohmann::json run(const RunOptions& opt) {
  if (!(opt.duration > 0) || !std::isfinite(opt.duration)) throw std::invalid_argument("--duration must be positive");
  if (!(opt.control_rate > 0)) throw std::invalid_argument("control rate must be positive");
  const bool walk = opt.task == "walk" || !opt.policy.empty();
  if (!opt.policy.empty() && opt.task != "stand" && opt.task != "walk")
    throw std::invalid_argument(fmt::format("--task '{}': a policy walks (--task walk)", opt.task));
  if (!walk && opt.task != "stand" && opt.task != "com-shift" && opt.task != "reach")
    throw std::invalid_argument(fmt::format("--task '{}': unknown task (known: stand, com-shift, reach, walk)", opt.task));
  if (!walk && (!opt.cmd.empty() || !opt.cmd_schedule.empty()))
    throw std::invalid_argument("--cmd and --cmd-schedule need --task walk");
  if (!opt.cmd.empty() && !opt.cmd_schedule.empty())
    throw std::invalid_argument("give either --cmd or --cmd-schedule, not both");
  CommandSchedule schedule;
  if (!opt.cmd.empty()) schedule = {{0.0, parse_command(opt.cmd)}};
  if (!opt.cmd_schedule.empty()) schedule = load_command_schedule(opt.cmd_schedule);
  const sim::Terrain terrain = sim::parse_terrain(opt.terrain);
  // The command in force at time t, and when it last changed.
  auto command_at = [&schedule](double t) {
    Eigen::Vector3d c = Eigen::Vector3d::Zero();
    for (const auto& [ts, v] : schedule)
      if (t + 1e-9 >= ts) c = v;
    return c;
  };
  auto last_change = [&schedule](double t) {
    double at = 0.0;
    for (const auto& [ts, v] : schedule)
      if (t + 1e-9 >= ts) at = ts;
    return at;
  };

  const auto path = opt.policy.empty() ? model::resolve_robot(opt.robot) : policy_robot_path(opt.policy, opt.robot);
  const Scene scene = load_scene(path, opt.profile, terrain);
  const model::LoadedRobot& robot = scene.robot;
  const model::Profile& profile = scene.profile;
  sim::Simulation sim(robot, sim::SimOptions{opt.seed});
  // A policy runs at its own rate on its spec's physics step, from the model's reference pose (as upstream deploys).
  std::unique_ptr<PolicyController> policy;
  if (!opt.policy.empty()) {
    policy = std::make_unique<PolicyController>(robot.model, policy_spec_for(opt.policy, robot.model),
                                                schedule.empty() ? CommandFn{} : CommandFn(command_at));
    policy->configure(sim);
  }
  sim.reset(policy ? robot.model.qpos0 : profile.q_nominal);
  SimHardware hw(sim, policy ? policy->dt() : 1.0 / opt.control_rate);
  hw.set_contact_bodies({profile.left_foot.body, profile.right_foot.body});

  struct PushRecord {
    double t, magnitude;
    Eigen::Vector3d value;  // world: velocity change [m/s] or force [N]
    bool force;
    double end;  // when it has been applied [s]
    int capture_steps = -2;  // walking: WalkController::capture_steps just after it (-2: not evaluated)
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
  for (const auto& d : sim.disturbances()) push_records.push_back({d.t, d.value.norm(), d.value, d.kind == sim::Disturbance::Kind::kForce,
                            d.t + (d.kind == sim::Disturbance::Kind::kForce ? d.duration : 0.0)});

  std::unique_ptr<Controller> controller_ptr;
  WalkController* walker = nullptr;
  if (policy) {
    controller_ptr = std::move(policy);
  } else if (walk) {
    auto w = std::make_unique<WalkController>(robot.model, profile, hw.control_dt(), command_at);
    walker = w.get();
    if (opt.terrain_known) w->set_terrain_normal([terrain](const Eigen::Vector2d& p) { return sim::terrain_normal(terrain, p); });
    controller_ptr = std::move(w);
  } else {
    controller_ptr = std::make_unique<WbcController>(robot.model, profile, hw.joint_names(), hw.control_dt(), opt.task);
  }
  Controller& controller = *controller_ptr;
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
  // Walking figures: base velocity in the heading frame averaged over one stride (two steps), compared with the
  // command where it has been held for a stride and t >= 2 s; positive mechanical work for the cost of transport.
  const double stride = walker ? 2.0 * walker->gait().t_step() : 1.0;
  const int window = std::max(1, static_cast<int>(std::lround(stride / hw.control_dt())));
  std::vector<Eigen::Vector3d> vel_hist;
  Eigen::Vector3d vel_sum = Eigen::Vector3d::Zero(), vel_mean_sum = Eigen::Vector3d::Zero(),
                  vel_err_sum = Eigen::Vector3d::Zero();
  long vel_samples = 0;
  double work = 0.0, slip = 0.0;
  std::array<Eigen::Vector2d, 2> foot_prev{}, foot_last{};  ///< foot position at stance start / latest in stance
  std::array<bool, 2> foot_loaded{false, false};
  // Step starts for steps_to_absorb: a foot releasing its load after carrying it for at least kMinStance while the
  // other foot carries load (not a sole chattering on its edge).
  constexpr double kMinStance = 0.08, kCaptureTolerance = 0.05;
  Eigen::Vector3d com_prev = g0.com, com_vel = Eigen::Vector3d::Zero();  // CoM velocity, finite difference
  std::array<double, 2> loaded_at{-1.0, -1.0};
  std::vector<StepStart> step_starts;
  const int foot_body[2] = {profile.left_foot.body, profile.right_foot.body};
  const double weight = robot.model.total_mass() * robot.model.gravity.norm();
  long samples = 0;
  bool fell = false;
  double fell_at = -1.0;
  std::vector<double> settle_time(push_records.size(), -1.0);
  const auto wall0 = Clock::now();
  // The state and ground truth read after each step serve both that step's scoring and the next tick.
  sim::GroundTruth truth = g0;
  Eigen::Vector3d last_sound_pos = g0.base_pos;  // the base before a diverged step (MuJoCo then resets the state)
  while (sim.time() < opt.duration - 1e-9) {
    const auto t0 = Clock::now();
    const Estimate& kf = estimator.update(state, hw.control_dt());
    pos_err_sq += (estimator.base_position() - truth.base_pos).squaredNorm();
    vel_err_sq += (estimator.base_velocity_world() - truth.base_lin_vel).squaredNorm();
    const Estimate& used = opt.ground_truth ? (est = estimate_from_truth(robot.model, truth)) : kf;
    controller.update(state, used, cmd);
    tick_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    hw.write(cmd);
    hw.advance();

    state = hw.read();
    if (!sim.diverged()) last_sound_pos = truth.base_pos;
    truth = sim.ground_truth();
    const sim::GroundTruth& g = truth;
    com_vel = (g.com - com_prev) / hw.control_dt();
    com_prev = g.com;
    const double tilt = tilt_of(g.base_quat);
    if (walk) {
      const Eigen::Vector3d vel = heading_velocity(g);
      vel_hist.push_back(vel);
      vel_sum += vel;
      if (static_cast<int>(vel_hist.size()) > window) vel_sum -= vel_hist[vel_hist.size() - 1 - window];
      const double t = sim.time();
      if (t >= 2.0 && t - last_change(t) >= stride && static_cast<int>(vel_hist.size()) >= window) {
        const Eigen::Vector3d avg = vel_sum / window;
        vel_mean_sum += avg;
        vel_err_sum += (avg - command_at(t)).cwiseAbs2();
        ++vel_samples;
      }
      for (Eigen::Index k = 0; k < state.dq.size(); ++k) work += std::max(0.0, hw.applied_effort()[k] * state.dq[k]) * hw.control_dt();
      // Slip: how far each foot moved horizontally between taking load and releasing it (net per stance, so
      // the foot rocking on its sole does not count).
      for (int i = 0; i < 2; ++i) {
        const Eigen::Vector2d p = sim.body_position(foot_body[i]).head<2>();
        const bool loaded = state.contact_wrenches[static_cast<size_t>(i)][2] > 0.2 * weight;
        if (loaded && !foot_loaded[i]) {  // stance starts
          foot_prev[i] = p;
          loaded_at[i] = t;
        }
        if (!loaded && foot_loaded[i]) {  // stance ends
          slip += (p - foot_prev[i]).norm();
          const int st = 1 - i;
          if (t - loaded_at[i] >= kMinStance && foot_loaded[st]) {
            const Eigen::Vector3d ps = sim.body_position(foot_body[st]);
            const double omega = std::sqrt(robot.model.gravity.norm() / std::max(g.com.z() - ps.z(), 0.05));
            const Eigen::Vector2d dcm = g.com.head<2>() + com_vel.head<2>() / omega;
            step_starts.push_back({t, st, Eigen::Rotation2Dd(-yaw_of(g.base_quat.toRotationMatrix())) * (dcm - ps.head<2>())});
          }
        }
        foot_loaded[i] = loaded;
        if (loaded) foot_last[i] = p;
      }
    }
    // The capture point a push left, judged once a whole tick has passed since it ended (the finite-difference
    // CoM velocity then no longer straddles it).
    if (walker)
      for (PushRecord& p : push_records)
        if (p.capture_steps == -2 && sim.time() >= p.end + 2.0 * hw.control_dt() - 1e-9)
          p.capture_steps = walker->capture_steps(g.com, com_vel);
    max_tilt = std::max(max_tilt, tilt);
    com_err_sq += (g.com.head<2>() - controller.com_xy_reference().value_or(com_ref)).squaredNorm();
    ++samples;
    const double speed = g.base_lin_vel.head<2>().norm();
    for (size_t i = 0; i < push_records.size(); ++i)
      if (settle_time[i] < 0 && sim.time() > push_records[i].t + 0.05 && speed < 0.1)
        settle_time[i] = sim.time();
    if (has_fallen(g, h0, sim.diverged())) {
      fell = true;
      fell_at = sim.time();
      break;
    }
  }
  const double wall = std::chrono::duration<double>(Clock::now() - wall0).count();

  nlohmann::json r;
  r["robot"] = robot.model.name;
  r["robot_path"] = path.string();
  r["task"] = walk ? std::string("walk") : opt.task;
  r["controller"] = controller.name();
  r["duration_s"] = opt.duration;
  r["simulated_s"] = sim.time();
  r["fell"] = fell;
  r["fell_at_s"] = fell ? nlohmann::json(fell_at) : nlohmann::json(nullptr);
  r["max_tilt_rad"] = max_tilt;
  r["com_xy_error_rms_m"] = samples ? std::sqrt(com_err_sq / samples) : 0.0;
  auto& pushes = r["pushes"] = nlohmann::json::array();
  // Walking: the steps taken until a step starts with the capture point within kCaptureTolerance of the nominal gait's, judged
  // for 3 s or until the next push; null when not walking, not recovered or not back within that window.
  auto steps_to_recover = [&](size_t i, bool recovered) -> nlohmann::json {
    if (!walk || !recovered) return nullptr;
    double end = std::min(push_records[i].t + 3.0, sim.time());
    for (const PushRecord& p : push_records)
      if (p.t > push_records[i].t) end = std::min(end, p.t);
    const int n = steps_to_absorb(step_starts, push_records[i].t, end, kCaptureTolerance);
    return n > 0 ? nlohmann::json(n) : nlohmann::json(nullptr);
  };
  for (size_t i = 0; i < push_records.size(); ++i) {
    const bool reached = push_records[i].t < sim.time();
    // Standing: the base came back to rest. Walking: no fall within 3 s of the push.
    const bool recovered = walk ? reached && (!fell || fell_at > push_records[i].t + 3.0)
                                : reached && settle_time[i] >= 0 && (!fell || fell_at > settle_time[i]);
    pushes.push_back({{"t", push_records[i].t}, {"magnitude", push_records[i].magnitude},
                      {push_records[i].force ? "force_n" : "dv_mps",
                       {push_records[i].value.x(), push_records[i].value.y(), push_records[i].value.z()}},
                      {"recovered", recovered},
                      {"steps_to_recover", steps_to_recover(i, recovered)},
                      // The least steps that could catch the push under the walking controller's own pendulum model
                      // and limits (-1: none within 3; null: not walking or not reached).
                      {"capturable_in_steps", push_records[i].capture_steps >= -1
                                                  ? nlohmann::json(push_records[i].capture_steps) : nlohmann::json(nullptr)},
                      {"settle_s", settle_time[i] >= 0 ? settle_time[i] - push_records[i].t : -1.0}});
  }
  r["controller_tick_us"] = {{"p50", percentile(tick_us, 0.5)}, {"p99", percentile(tick_us, 0.99)}};
  r["control_rate_hz"] = 1.0 / hw.control_dt();
  r["real_time_factor"] = wall > 0 ? sim.time() / wall : 0.0;
  r["estimator_error"] = {{"pos_rms_m", samples ? std::sqrt(pos_err_sq / samples) : 0.0},
                          {"vel_rms_mps", samples ? std::sqrt(vel_err_sq / samples) : 0.0},
                          {"controller_input", opt.ground_truth ? "ground_truth" : "estimate"}};
  r["task_metrics"] = controller.metrics();
  r["terrain"] = opt.terrain;
  r["terrain_known"] = opt.terrain_known;
  if (walk) {
    const Eigen::Vector3d end_pos = sim.diverged() ? last_sound_pos : sim.ground_truth().base_pos;
    const double distance = (end_pos - g0.base_pos).head<2>().norm();
    auto vec = [](const Eigen::Vector3d& v) { return nlohmann::json::array({v.x(), v.y(), v.z()}); };
    r["mean_base_velocity"] = vec(vel_samples ? Eigen::Vector3d(vel_mean_sum / vel_samples) : Eigen::Vector3d::Zero());
    r["velocity_rmse"] = vec(vel_samples ? Eigen::Vector3d((vel_err_sum / vel_samples).cwiseSqrt()) : Eigen::Vector3d::Zero());
    r["velocity_samples"] = vel_samples;
    r["distance_m"] = distance;
    r["final_position"] = vec(end_pos);
    r["steps_taken"] = walker ? nlohmann::json(walker->steps_taken()) : nlohmann::json(nullptr);
    for (int i = 0; i < 2; ++i)
      if (foot_loaded[i]) slip += (foot_last[i] - foot_prev[i]).norm();  // stances still going at the end
    r["foot_slip_m"] = slip;
    r["cost_of_transport"] = distance > 0.05 ? nlohmann::json(work / (weight * distance)) : nlohmann::json(nullptr);
    if (walker) {
      const auto [p50, p99] = walker->mpc_solve_us();
      r["mpc_solve_us"] = {{"p50", p50}, {"p99", p99}};
    }
    if (terrain.kind != sim::Terrain::Kind::kFlat) {
      r["terrain_end_x_m"] = terrain.end_x;
      r["terrain_completed"] = !fell && end_pos.x() > terrain.end_x;
    }
  }
  r["sim_warnings"] = sim.warnings();
  r["sim_diverged"] = sim.diverged();
  r["seed"] = opt.seed;
  return r;
}

}  // namespace oh::runtime
