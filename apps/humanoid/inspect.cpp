#include "apps/humanoid/commands.hpp"
#include "model/model.hpp"

#include <fmt/format.h>

#include <iostream>
#include <memory>

namespace oh::app {
namespace {
int g_exit = 0;
}
int exit_code() { return g_exit; }
void set_exit_code(int code) { g_exit = code; }

void add_inspect(CLI::App& app) {
  struct Opts {
    std::string robot;
    bool json = false;
  };
  auto opts = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("inspect", "Print a robot's model summary and detected profile");
  cmd->add_option("model", opts->robot, "Robot: MJCF/URDF file, directory, or name (default: built-in robot)");
  cmd->add_flag("--json", opts->json, "Print as JSON");
  cmd->callback([opts] {
    try {
      const auto path = model::resolve_robot(opts->robot);
      const auto robot = model::load(path);
      std::cout << fmt::format("{}: nq={} nv={} nu={} mass={:.4f} kg\n", robot.model.name, robot.model.nq,
                               robot.model.nv, robot.model.nu, robot.model.total_mass());
    } catch (const model::ModelError& e) {
      std::cerr << "error: " << e.what() << "\n";
      set_exit_code(2);
    }
  });
}

}  // namespace oh::app
