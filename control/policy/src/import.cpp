// Import of unitree_rl_gym deploy configurations (deploy_mujoco.yaml, deploy_real.yaml) into a policy spec.
// The observation layout reproduces upstream's deploy scripts (deploy/deploy_mujoco/deploy_mujoco.py,
// deploy/deploy_real/deploy_real.py): [ω·ang_vel_scale, projected gravity, cmd⊙cmd_scale,
// (q−default)·dof_pos_scale, dq·dof_vel_scale, last action, sin(2π·t/0.8), cos(2π·t/0.8)];
// target = default + action_scale·action.
#include "control/policy/policy.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cmath>

namespace oh::control::policy {
namespace {

constexpr double kGaitPeriod = 0.8;  // upstream deploy scripts: period = 0.8 [s]

class Deploy {
 public:
  Deploy(YAML::Node root, std::string file) : root_(std::move(root)), file_(std::move(file)) {}
  bool has(const char* k) const { return root_[k].IsDefined() && !root_[k].IsNull(); }
  [[noreturn]] void fail(const std::string& k, const std::string& msg) const {
    throw PolicyError(fmt::format("{}: {}: {}", file_, k, msg));
  }
  double number(const char* k) const {
    if (!has(k)) fail(k, "missing");
    try {
      const double v = root_[k].as<double>();
      if (!std::isfinite(v)) fail(k, "must be finite");
      return v;
    } catch (const YAML::Exception&) {
      fail(k, "expected a number");
    }
  }
  std::vector<double> list(const char* k, size_t expected, const std::string& why) const {
    if (!has(k)) fail(k, "missing");
    if (!root_[k].IsSequence()) fail(k, "expected a list");
    std::vector<double> v;
    try {
      for (const auto& x : root_[k]) v.push_back(x.as<double>());
    } catch (const YAML::Exception&) {
      fail(k, "expected a list of numbers");
    }
    if (expected && v.size() != expected) fail(k, fmt::format("expected {} values ({}), got {}", expected, why, v.size()));
    for (double x : v)
      if (!std::isfinite(x)) fail(k, "values must be finite");
    return v;
  }
  std::vector<int> indices(const char* k, size_t robot_joints) const {
    const auto v = list(k, 0, "");
    std::vector<int> out;
    for (double x : v) {
      if (x != std::floor(x) || x < 0 || x >= static_cast<double>(robot_joints))
        fail(k, fmt::format("motor index {} is not a joint of the robot (it has {} joints, 0..{})", x, robot_joints,
                            robot_joints - 1));
      out.push_back(static_cast<int>(x));
    }
    return out;
  }

 private:
  YAML::Node root_;
  std::string file_;
};

}  // namespace

PolicySpec import_unitree_deploy(const std::filesystem::path& file, const RobotJoints& robot) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::BadFile&) {
    throw PolicyError(fmt::format("{}: cannot read deploy configuration", file.string()));
  } catch (const YAML::Exception& e) {
    throw PolicyError(fmt::format("{}:{}: malformed YAML: {}", file.string(), e.mark.line + 1, e.msg));
  }
  if (!root.IsMap()) throw PolicyError(fmt::format("{}: expected a YAML mapping", file.string()));
  const Deploy d(root, file.string());
  const bool real = d.has("leg_joint2motor_idx");
  const double na_d = d.number("num_actions");
  if (na_d != std::floor(na_d) || na_d < 1) d.fail("num_actions", "expected a positive integer");
  const size_t na = static_cast<size_t>(na_d);
  const double num_obs = d.number("num_obs");
  const double layout = 9.0 + 3.0 * static_cast<double>(na) + 2.0;
  if (num_obs != layout)
    d.fail("num_obs", fmt::format("{} does not match upstream's observation layout 3+3+3+3·{}+2 = {}", num_obs, na, layout));

  PolicySpec s;
  s.name = fmt::format("unitree_rl_gym {} ({})", file.parent_path().filename().string(), file.filename().string());
  // The network: motion.pt beside the YAML (policy_path names it under {LEGGED_GYM_ROOT_DIR}).
  std::string net = "motion.pt";
  if (d.has("policy_path")) net = std::filesystem::path(root["policy_path"].as<std::string>()).filename().string();
  s.network = std::filesystem::absolute(file.parent_path() / net);

  if (real) {
    const auto legs = d.indices("leg_joint2motor_idx", robot.names.size());
    if (legs.size() != na) d.fail("leg_joint2motor_idx", fmt::format("expected {} indices (num_actions), got {}", na, legs.size()));
    for (int i : legs) s.joints.push_back(robot.names[static_cast<size_t>(i)]);
    s.policy_hz = 1.0 / d.number("control_dt");
    s.physics_dt = 0.0;  // the motor driver runs the PD law; in simulation, the model's own step
    if (d.has("arm_waist_joint2motor_idx")) {
      const auto held = d.indices("arm_waist_joint2motor_idx", robot.names.size());
      const auto kps = d.list("arm_waist_kps", held.size(), "one per arm_waist_joint2motor_idx entry");
      const auto kds = d.list("arm_waist_kds", held.size(), "one per arm_waist_joint2motor_idx entry");
      const auto tgt = d.list("arm_waist_target", held.size(), "one per arm_waist_joint2motor_idx entry");
      for (size_t k = 0; k < held.size(); ++k)
        s.held.push_back({robot.names[static_cast<size_t>(held[k])], tgt[k], kps[k], kds[k]});
    }
  } else {
    if (robot.names.size() != na)
      throw PolicyError(fmt::format("{}: num_actions is {} but the robot has {} joints; upstream's deploy_mujoco drives "
                                    "every actuator of its scene (give the policy's own scene as the robot)",
                                    file.string(), na, robot.names.size()));
    s.joints = robot.names;
    const double dt = d.number("simulation_dt");
    const double dec = d.number("control_decimation");
    if (!(dt > 0) || !(dec >= 1) || dec != std::floor(dec))
      d.fail("simulation_dt/control_decimation", "expected a positive step and a positive integer decimation");
    s.physics_dt = dt;
    s.policy_hz = 1.0 / (dt * dec);
    if (d.has("cmd_init")) s.command_default = d.list("cmd_init", 3, "vx, vy, wz");
  }
  s.kp = d.list("kps", na, "one per action");
  s.kd = d.list("kds", na, "one per action");
  s.default_q = d.list("default_angles", na, "one per action");

  auto term = [](TermKind k, std::vector<double> scale, double period = 0.0) {
    ObsTerm t;
    t.kind = k;
    t.scale = std::move(scale);
    t.period = period;
    return t;
  };
  s.observation = {
      term(TermKind::kBaseAngVel, {d.number("ang_vel_scale")}),
      term(TermKind::kProjectedGravity, {1.0}),
      term(TermKind::kCommand, d.list("cmd_scale", 3, "vx, vy, wz")),
      term(TermKind::kJointPosRel, {d.number("dof_pos_scale")}),
      term(TermKind::kJointVel, {d.number("dof_vel_scale")}),
      term(TermKind::kLastAction, {1.0}),
      term(TermKind::kGaitPhase, {1.0}, kGaitPeriod),
  };
  for (auto& t : s.observation) t.size = s.term_size(t);
  s.action_scale = {d.number("action_scale")};
  s.action_type = "joint_position";
  check_spec(s);
  return s;
}

}  // namespace oh::control::policy
