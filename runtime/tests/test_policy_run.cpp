// Learned policies through the run loop: conformance of the runtime's actions with LibTorch on recorded closed-loop
// observations, sim2sim walking in each unitree_rl_gym policy's own scene, and the G1 policy on the full G1.
#include "control/policy/policy.hpp"
#include "model/model.hpp"
#include "runtime/hardware.hpp"
#include "runtime/runner.hpp"
#include "runtime/src/policy_controller.hpp"

#include <gtest/gtest.h>
#include <torch/script.h>

#include <cstdio>

namespace oh::runtime {
namespace {

namespace fs = std::filesystem;
namespace pol = control::policy;

fs::path policy_dir(const std::string& robot) { return model::shared_dir() / "policies" / "unitree_rl_gym" / robot; }

#define NEED(path)                                                                                           \
  if (!fs::exists(path)) GTEST_SKIP() << "third-party input not found: " << (path).string()                  \
                                      << " (../shared absent; set OH_SHARED_DIR)"

class Upstream : public ::testing::TestWithParam<std::string> {};

// ≥ 500 stateful steps recorded in closed loop (20 s at 50 Hz = 999 policy steps), then replayed through the original
// motion.pt with LibTorch.
TEST_P(Upstream, ConformanceWithLibTorchOnRecordedSteps) {
  const fs::path dir = policy_dir(GetParam());
  NEED(dir / "motion.pt");
  const model::LoadedRobot robot = model::load(policy_robot_path(dir.string(), ""));
  PolicyController ctl(robot.model, policy_spec_for(dir.string(), robot.model),
                       [](double) { return Eigen::Vector3d(0.8, 0.3, 0.5); });
  sim::Simulation sim(robot);
  ctl.configure(sim);
  sim.reset(robot.model.qpos0);
  SimHardware hw(sim, ctl.dt());
  std::vector<MotorCommand> cmd(hw.joint_names().size());
  ctl.reset(hw.read(), {});
  std::vector<Eigen::VectorXf> obs, act;
  for (int k = 0; k < 1000; ++k) {
    ctl.update(hw.read(), {}, cmd);
    if (k > 0) {
      obs.push_back(ctl.policy().observation());
      act.push_back(ctl.policy().action());
    }
    hw.write(cmd);
    hw.advance();
  }
  ASSERT_GE(obs.size(), 500u);
  torch::jit::Module m = torch::jit::load((dir / "motion.pt").string());
  m.eval();
  torch::NoGradGuard ng;
  double max_err = 0;
  for (size_t k = 0; k < obs.size(); ++k) {
    const at::Tensor x = torch::from_blob(obs[k].data(), {1, obs[k].size()}, torch::kFloat).clone();
    const at::Tensor y = m.forward({x}).toTensor().contiguous();
    for (Eigen::Index i = 0; i < act[k].size(); ++i)
      max_err = std::max(max_err, std::abs(double(act[k][i]) - double(y.data_ptr<float>()[i])));
  }
  std::printf("[ %s ] conformance over %zu recorded steps: max |action - LibTorch| = %.3g\n", GetParam().c_str(),
              obs.size(), max_err);
  EXPECT_LT(max_err, 1e-5);
}

nlohmann::json walk(const std::string& policy, const std::string& robot, const std::string& cmd, double duration = 20) {
  RunOptions o;
  o.policy = policy;
  o.robot = robot;
  o.cmd = cmd;
  o.duration = duration;
  o.task = "walk";
  const nlohmann::json r = run(o);
  std::printf("[ %s on %s, cmd %s ] fell %d, distance %.2f m, mean velocity [%.3f %.3f %.3f]\n", policy.c_str(),
              r["robot"].get<std::string>().c_str(), cmd.c_str(), r["fell"].get<bool>(), r["distance_m"].get<double>(),
              r["mean_base_velocity"][0].get<double>(), r["mean_base_velocity"][1].get<double>(),
              r["mean_base_velocity"][2].get<double>());
  return r;
}

TEST_P(Upstream, WalksForwardAtHalfMeterPerSecond) {
  const fs::path dir = policy_dir(GetParam());
  NEED(dir / "motion.pt");
  // Upstream's scenes give every joint armature (G1 falls within 0.8 s without it): the conversion keeps it.
  const model::LoadedRobot robot = model::load(policy_robot_path(dir.string(), ""));
  for (const auto& j : robot.model.joints) {
    if (j.nv == 1) {
      EXPECT_GT(j.armature, 0.0) << j.name;
    }
  }
  const auto r = walk(dir.string(), "", "0.5,0,0");
  EXPECT_FALSE(r["fell"].get<bool>());
  EXPECT_NEAR(r["mean_base_velocity"][0].get<double>(), 0.5, 0.1);
  EXPECT_EQ(r["controller"], "policy");
  EXPECT_EQ(r["task"], "walk");
}

TEST_P(Upstream, WalksOnACombinedCommandWithoutFalling) {
  const fs::path dir = policy_dir(GetParam());
  NEED(dir / "motion.pt");
  EXPECT_FALSE(walk(dir.string(), "", "0.8,0.3,0.5")["fell"].get<bool>());
}

INSTANTIATE_TEST_SUITE_P(UnitreeRlGym, Upstream, ::testing::Values("g1", "h1", "h1_2"));

TEST(PolicyRun, G1StandsOnAZeroCommand) {
  const fs::path dir = policy_dir("g1");
  NEED(dir / "motion.pt");
  EXPECT_FALSE(walk(dir.string(), "", "0,0,0")["fell"].get<bool>());
}

// The G1 policy on the full 29-joint G1: legs from the policy, waist and arms held with deploy_real's gains.
TEST(PolicyRun, G1PolicyDrivesTheFullG1) {
  const fs::path dir = policy_dir("g1");
  const fs::path g1 = model::shared_dir() / "robots" / "unitree_g1" / "scene.xml";
  NEED(dir / "motion.pt");
  NEED(g1);
  const auto r = walk(dir.string(), g1.string(), "0.5,0,0");
  EXPECT_FALSE(r["fell"].get<bool>());
  EXPECT_GT(r["mean_base_velocity"][0].get<double>(), 0.3);
}

TEST(PolicyRun, BadPolicyArgumentsAreClearErrors) {
  RunOptions o;
  o.policy = "/nonexistent/policy";
  o.task = "walk";
  EXPECT_THROW(run(o), std::invalid_argument);
  const fs::path dir = policy_dir("h1");
  NEED(dir / "motion.pt");
  o.policy = (dir / "deploy_mujoco.yaml").string();
  o.robot = (policy_dir("g1") / "model" / "scene.xml").string();  // G1's 12 joints for the 10-action H1 policy
  try {
    run(o);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("num_actions is 10 but the robot has 12 joints"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace oh::runtime
