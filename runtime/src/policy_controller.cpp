#include "runtime/src/policy_controller.hpp"

#include <mujoco/mujoco.h>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace oh::runtime {
namespace pol = control::policy;
namespace fs = std::filesystem;

namespace {

/// The unitree_rl_gym policy directory a --policy argument names, if it is one.
fs::path unitree_dir(const std::string& policy) {
  const fs::path p(policy);
  if (fs::is_directory(p) && fs::exists(p / "deploy_mujoco.yaml")) return p;
  if (fs::is_regular_file(p) && (p.filename() == "deploy_mujoco.yaml" || p.filename() == "deploy_real.yaml"))
    return p.parent_path();
  return {};
}

bool is_spec(const fs::path& file) {
  try {
    const YAML::Node n = YAML::LoadFile(file.string());
    return n.IsMap() && n["policy_spec"];
  } catch (const YAML::Exception&) {
    return false;
  }
}

}  // namespace

fs::path policy_robot_path(const std::string& policy, const std::string& robot) {
  if (!robot.empty()) return model::resolve_robot(robot);
  const fs::path dir = unitree_dir(policy);
  if (!dir.empty() && fs::exists(dir / "model" / "scene.xml")) return dir / "model" / "scene.xml";
  return model::resolve_robot(robot);
}

pol::PolicySpec policy_spec_for(const std::string& policy, const model::Model& model) {
  const fs::path p(policy);
  if (!fs::exists(p)) throw pol::PolicyError(fmt::format("--policy '{}': no such file or directory", policy));
  const pol::RobotJoints joints = pol::robot_joints(model);
  if (fs::is_directory(p)) {
    if (fs::exists(p / "policy.yaml")) return pol::load_spec(p / "policy.yaml");
    if (!fs::exists(p / "deploy_mujoco.yaml"))
      throw pol::PolicyError(fmt::format("--policy '{}': the directory has neither policy.yaml nor deploy_mujoco.yaml",
                                         policy));
    // deploy_mujoco drives every joint of the policy's own scene; a robot with more joints needs deploy_real's
    // motor map and holding gains.
    size_t num_actions = 0;
    try {
      num_actions = YAML::LoadFile((p / "deploy_mujoco.yaml").string())["num_actions"].as<size_t>();
    } catch (const YAML::Exception&) {
    }
    if (num_actions != joints.names.size() && fs::exists(p / "deploy_real.yaml"))
      return pol::import_unitree_deploy(p / "deploy_real.yaml", joints);
    return pol::import_unitree_deploy(p / "deploy_mujoco.yaml", joints);
  }
  if (is_spec(p)) return pol::load_spec(p);
  return pol::import_unitree_deploy(p, joints);
}

PolicyController::PolicyController(const model::Model& model, pol::PolicySpec spec,
                                   std::function<Eigen::Vector3d(double)> command, pol::Backend backend)
    : policy_([&] {
        auto net = pol::load_network(spec.network, backend);
        return pol::Policy(std::move(spec), std::move(net), pol::robot_joints(model));
      }()),
      command_(std::move(command)) {
  const auto& c = policy_.spec().command_default;
  command_default_ = Eigen::Vector3d(c[0], c[1], c[2]);
}

void PolicyController::configure(sim::Simulation& sim) const {
  if (policy_.spec().physics_dt > 0) sim.mj_model()->opt.timestep = policy_.spec().physics_dt;
}

pol::PolicyInput PolicyController::input(const RobotState& s) {
  pol::PolicyInput in;
  in.t = s.t - t0_;
  in.base_quat = s.imu.quat;
  in.base_ang_vel = s.imu.gyro;
  in.command = command_ ? command_(in.t) : command_default_;
  in.q = &s.q;
  in.dq = &s.dq;
  return in;
}

void PolicyController::reset(const RobotState& state, const Estimate&) {
  t0_ = state.t;
  started_ = false;
  steps_ = 0;
  policy_.reset(input(state));
}

void PolicyController::update(const RobotState& state, const Estimate&, std::vector<MotorCommand>& out) {
  if (started_) {
    policy_.step(input(state));
    ++steps_;
  }
  started_ = true;
  const Eigen::VectorXd& q = policy_.q_target();
  for (size_t i = 0; i < out.size() && static_cast<Eigen::Index>(i) < q.size(); ++i) {
    const auto k = static_cast<Eigen::Index>(i);
    out[i] = MotorCommand{q[k], 0.0, policy_.kp()[k], policy_.kd()[k], 0.0};
  }
}

nlohmann::json PolicyController::metrics() const {
  auto& p = const_cast<pol::Policy&>(policy_);
  return {{"policy", policy_.spec().name},
          {"network", p.network().describe()},
          {"policy_hz", policy_.spec().policy_hz},
          {"policy_steps", steps_}};
}

}  // namespace oh::runtime
