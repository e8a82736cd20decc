// The `humanoid` tool as a user runs it: inspect --json on every stock scene and the built-in robot, help texts,
// and one-line errors with exit code 2 for bad files.
#include "model/model.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>

namespace fs = std::filesystem;

namespace {

struct Result {
  int code = -1;
  std::string out;  ///< stdout only
  std::string err;  ///< stderr only
};

Result run(const std::string& args) {
  const fs::path err_file = fs::temp_directory_path() / ("oh_cli_err_" + std::to_string(::getpid()));
  const std::string cmd = std::string(HUMANOID_EXE) + " " + args + " 2>" + err_file.string();
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream f(err_file);
  r.err.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  fs::remove(err_file);
  return r;
}

void check_inspect_json(const std::string& model_arg) {
  const Result r = run("inspect " + model_arg + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"name", "mass_kg", "nq", "nv", "nu", "timestep_s", "joints", "actuators", "profile",
                          "compat_rewrites"})
    EXPECT_TRUE(j.contains(key)) << key;
  for (const char* key : {"feet", "hands", "legs", "arms", "waist", "head"}) EXPECT_TRUE(j["profile"].contains(key)) << key;
  EXPECT_GT(j["mass_kg"].get<double>(), 0.0);
  EXPECT_GE(j["profile"]["legs"]["left"].size(), 5u);
  EXPECT_GE(j["profile"]["legs"]["right"].size(), 5u);
  for (const auto& a : j["actuators"])
    for (const char* key : {"name", "joint", "kind", "kp", "kv", "ctrlrange", "forcerange"}) EXPECT_TRUE(a.contains(key));
}

}  // namespace

TEST(Cli, HelpForEveryCommand) {
  for (const char* args : {"--help", "inspect --help", "run --help"}) {
    const Result r = run(args);
    EXPECT_EQ(r.code, 0) << args;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << args;
  }
}

TEST(Cli, InspectBuiltinJson) {
  const Result r = run("inspect --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["mass_kg"].get<double>(), 50.0, 5.0);
  EXPECT_EQ(j["profile"]["arms"]["left"].size(), 7u);
  EXPECT_EQ(j["profile"]["waist"].size(), 3u);
  EXPECT_EQ(j["profile"]["head"].size(), 2u);
  check_inspect_json("builtin");
}

TEST(Cli, InspectJsonOnEveryStockScene) {
  const fs::path shared = oh::model::shared_dir();
  if (!fs::exists(shared / "robots")) GTEST_SKIP() << "../shared not found; set OH_SHARED_DIR";
  const std::vector<fs::path> scenes = {
      shared / "robots/unitree_g1/scene.xml",          shared / "robots/unitree_g1/scene_with_hands.xml",
      shared / "robots/unitree_h1/scene.xml",          shared / "robots/tienkung2_lite/tienkung.xml",
      shared / "robots/tienkung2_lite/tienkung2_lite.urdf", shared / "policies/unitree_rl_gym/g1/model/scene.xml",
      shared / "policies/unitree_rl_gym/h1/model/scene.xml", shared / "policies/unitree_rl_gym/h1_2/model/scene.xml"};
  for (const auto& s : scenes) {
    SCOPED_TRACE(s.string());
    check_inspect_json(s.string());
  }
  // Short names resolve to ../shared/robots.
  const auto g1 = nlohmann::json::parse(run("inspect g1 --json").out);
  EXPECT_NEAR(g1["mass_kg"].get<double>(), 33.3411, 1e-3);
  EXPECT_FALSE(g1["compat_rewrites"].empty());
  const auto h1 = nlohmann::json::parse(run("inspect h1 --json").out);
  EXPECT_NEAR(h1["mass_kg"].get<double>(), 51.4370, 1e-3);
}

TEST(Cli, BadFilesGiveOneLineErrorsAndExitCode2) {
  const fs::path dir = fs::temp_directory_path() / ("oh_cli_bad_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto write = [&](const char* name, const char* text) {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {(dir / "missing.xml").string(), "missing.xml"},
      {write("malformed.xml", "<mujoco><worldbody><body></worldbody>"), "malformed.xml"},
      {write("nan.xml", "<mujoco><worldbody><body><freejoint/><inertial pos='0 0 0' mass='nan' diaginertia='1 1 1'/>"
                        "</body></worldbody></mujoco>"),
       "nan.xml"},
      {write("nolegs.xml", "<mujoco><worldbody><body pos='0 0 1'><freejoint/><geom type='box' size='.1 .1 .1'/>"
                           "</body></worldbody></mujoco>"),
       "no legs"},
  };
  for (const auto& [file, expect] : cases) {
    SCOPED_TRACE(file);
    const Result r = run("inspect " + file);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find(expect), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  fs::remove_all(dir);
}
