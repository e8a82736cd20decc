// `humanoid policy import`: converts a third-party deploy configuration into a policy spec (docs/policy_spec.md).
#include "apps/humanoid/commands.hpp"
#include "control/policy/policy.hpp"
#include "model/model.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

namespace oh::app {

void add_policy(CLI::App& app) {
  CLI::App* policy = app.add_subcommand("policy", "Learned-policy tools");
  policy->require_subcommand(1);
  struct Args {
    std::string yaml, out, robot;
  };
  auto a = std::make_shared<Args>();
  CLI::App* imp = policy->add_subcommand(
      "import", "Convert unitree_rl_gym's deploy_mujoco.yaml or deploy_real.yaml into a policy spec (checked against "
                "the robot and the network)");
  imp->add_option("DEPLOY_YAML", a->yaml, "deploy_mujoco.yaml or deploy_real.yaml (motion.pt beside it)")->required();
  imp->add_option("-o,--output", a->out, "Write the spec here (default: standard output)");
  imp->add_option("--robot", a->robot,
                  "Robot whose joints the policy drives (default: model/scene.xml beside the YAML); deploy_real's motor "
                  "indices are joints of this robot in model order");
  imp->callback([a] {
    run_guarded([&] {
      namespace fs = std::filesystem;
      namespace pol = control::policy;
      const fs::path yaml = fs::absolute(a->yaml);
      fs::path robot_path;
      if (!a->robot.empty()) {
        robot_path = model::resolve_robot(a->robot);
      } else {
        robot_path = yaml.parent_path() / "model" / "scene.xml";
        if (!fs::exists(robot_path))
          throw std::invalid_argument(fmt::format("{}: no model/scene.xml beside it; give --robot", yaml.string()));
      }
      const model::LoadedRobot robot = model::load(robot_path);
      const pol::RobotJoints joints = pol::robot_joints(robot.model);
      const pol::PolicySpec spec = pol::import_unitree_deploy(yaml, joints);
      pol::Policy check(spec, pol::load_network(spec.network), joints);  // every dimension against network and robot
      const fs::path out = a->out.empty() ? fs::path() : fs::absolute(a->out);
      const std::string text = pol::write_spec(spec, out.empty() ? fs::path() : out.parent_path());
      if (out.empty()) {
        std::cout << text;
      } else {
        std::ofstream f(out);
        if (!f) throw std::runtime_error(fmt::format("cannot write '{}'", out.string()));
        f << text;
        std::cerr << fmt::format("wrote {} ({} policy joints, {} held, {} observations, {} Hz) for {}\n", out.string(),
                                 spec.joints.size(), spec.held.size(), spec.observation_size(), spec.policy_hz,
                                 robot_path.string());
      }
      return 0;
    });
  });
}

}  // namespace oh::app
