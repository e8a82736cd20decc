// A learned policy (control/policy) as a run-loop controller: the spec's PD targets and gains become the
// hardware's motor commands (Unitree SDK2 law, applied at every physics step by SimHardware).
#pragma once

#include "control/policy/policy.hpp"
#include "model/model.hpp"
#include "runtime/runner.hpp"
#include "sim/sim.hpp"

#include <filesystem>
#include <functional>
#include <string>

namespace oh::runtime {

/// The robot a --policy argument implies: `robot` when given (model::resolve_robot); otherwise, for a
/// unitree_rl_gym policy directory (or a deploy YAML in one), its own scene DIR/model/scene.xml; otherwise the
/// built-in robot. Throws model::ModelError.
std::filesystem::path policy_robot_path(const std::string& policy, const std::string& robot);

/// The spec for a --policy argument on this robot: a spec YAML (key policy_spec) as is; a unitree_rl_gym deploy
/// YAML imported; a directory: its policy.yaml if present, else deploy_mujoco.yaml imported — or deploy_real.yaml
/// when the robot has more joints than deploy_mujoco.yaml drives. Throws control::policy::PolicyError.
control::policy::PolicySpec policy_spec_for(const std::string& policy, const model::Model& model);

/// Runs a policy at its own rate: the hardware's control period must be the policy period (dt()). The first
/// tick holds the default pose (upstream's deploy script runs the network first after one policy period); every
/// later tick builds the observation at t = state.t − t(reset) and steps the network. Joints outside the policy
/// are held as the spec says. Velocity targets and feed-forward efforts are zero.
class PolicyController : public Controller {
 public:
  /// command(t) gives (vx, vy, wz) [m/s, m/s, rad/s] in the heading frame at time t since the start; empty: the
  /// spec's command.default. Throws control::policy::PolicyError for a spec, network or robot mismatch.
  PolicyController(const model::Model& model, control::policy::PolicySpec spec,
                   std::function<Eigen::Vector3d(double)> command = {},
                   control::policy::Backend backend = control::policy::Backend::kNative);
  std::string name() const override { return "policy"; }
  void reset(const RobotState& state, const Estimate& estimate) override;
  void update(const RobotState& state, const Estimate& estimate, std::vector<MotorCommand>& out) override;
  nlohmann::json metrics() const override;

  /// Policy period [s] (the control period to run at).
  double dt() const { return policy_.dt(); }
  /// Sets the simulation's physics step to the spec's physics_dt (when it gives one).
  void configure(sim::Simulation& sim) const;
  control::policy::Policy& policy() { return policy_; }

 private:
  control::policy::PolicyInput input(const RobotState& s);

  control::policy::Policy policy_;
  std::function<Eigen::Vector3d(double)> command_;
  Eigen::Vector3d command_default_;
  double t0_ = 0.0;
  long steps_ = 0;
  bool started_ = false;
};

}  // namespace oh::runtime
