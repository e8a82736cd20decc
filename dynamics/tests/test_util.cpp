// Loading and caching of the robots under test.
#include "test_util.hpp"

namespace oh::dynamics::test {

Robot* get_robot(const std::string& name, std::string& why) {
  static std::map<std::string, std::unique_ptr<Robot>> cache;
  static std::map<std::string, std::string> failures;
  if (auto it = cache.find(name); it != cache.end()) return it->second.get();
  if (auto it = failures.find(name); it != failures.end()) {
    why = it->second;
    return nullptr;
  }
  auto fail = [&](const std::string& reason) -> Robot* {
    failures[name] = reason;
    why = reason;
    return nullptr;
  };

  std::filesystem::path path;
  if (name == "synthetic_tree") {
    path = write_temp_model(name, kSyntheticTree);
  } else if (name == "fixed_arm") {
    path = write_temp_model(name, kFixedArm);
  } else {
    for (const auto& [n, p] : robot_paths())
      if (n == name) path = p;
    if (path.empty()) return fail("unknown robot '" + name + "'");
    if (name != "builtin" && !std::filesystem::exists(oh::model::shared_dir()))
      return fail("../shared is absent (" + oh::model::shared_dir().string() + "); set OH_SHARED_DIR to test " + name);
    if (!std::filesystem::exists(path)) return fail(path.string() + " does not exist");
  }

  auto robot = std::make_unique<Robot>();
  robot->name = name;
  try {
    oh::model::LoadedRobot loaded = oh::model::load(path);
    robot->model = std::move(loaded.model);
    robot->mj = loaded.mj;
  } catch (const std::exception& e) {
    return fail("oh::model::load(" + path.string() + ") failed: " + e.what());
  }
  if (!robot->mj) return fail("oh::model::load(" + path.string() + ") returned no mjModel");
  disable_non_rigid_body_forces(robot->mj.get());
  robot->dyn = std::make_unique<oh::dynamics::Model>(robot->model);
  Robot* out = robot.get();
  cache[name] = std::move(robot);
  return out;
}

}  // namespace oh::dynamics::test
