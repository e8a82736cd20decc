// control/policy: native network vs LibTorch, unitree_rl_gym import, spec round trip, contract errors, history
// layouts, no allocation per step.
#include "control/policy/policy.hpp"
#include "model/model.hpp"

#include <gtest/gtest.h>
#include <torch/script.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <random>

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // the counting operator new below pairs with free

// Counts heap allocations while `g_count` is set (global operator new replacement for this test binary).
static std::atomic<bool> g_count{false};
static std::atomic<long> g_allocs{0};
void* operator new(std::size_t n) {
  if (g_count) ++g_allocs;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace oh::control::policy {
namespace {

namespace fs = std::filesystem;

fs::path policy_dir(const std::string& robot) { return model::shared_dir() / "policies" / "unitree_rl_gym" / robot; }

#define NEED(path)                                                                       \
  if (!fs::exists(path)) GTEST_SKIP() << "third-party input not found: " << (path).string() \
                                      << " (../shared absent; set OH_SHARED_DIR)"

RobotJoints joints_of(const fs::path& scene) { return robot_joints(model::load(scene).model); }

/// A smooth random observation sequence (low-pass filtered noise, std ≈ amplitude), float32.
std::vector<Eigen::VectorXf> sequence(int n, int steps, unsigned seed, float amplitude) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<Eigen::VectorXf> out;
  Eigen::VectorXf x = Eigen::VectorXf::Zero(n);
  for (int k = 0; k < steps; ++k) {
    for (int i = 0; i < n; ++i) x[i] = 0.9f * x[i] + 0.436f * amplitude * nd(rng);
    out.push_back(x);
  }
  return out;
}

class PerRobot : public ::testing::TestWithParam<std::string> {};

TEST_P(PerRobot, NativeEqualsLibTorchOverStatefulSequence) {
  const fs::path pt = policy_dir(GetParam()) / "motion.pt";
  NEED(pt);
  auto native = load_network(pt, Backend::kNative);
  auto torch_net = load_network(pt, Backend::kTorch);
  torch::jit::Module raw = torch::jit::load(pt.string());  // the original module, straight through LibTorch
  raw.eval();
  ASSERT_TRUE(native->recurrent());
  ASSERT_EQ(native->input_size(), torch_net->input_size());
  const int n = native->input_size(), m = native->output_size();
  Eigen::VectorXf a(m), b(m);
  double max_err = 0, max_a = 0;
  // Observation-like amplitude (the scaled terms of these policies are mostly within ±1).
  const auto seq = sequence(n, 600, 3, 0.5f);
  torch::NoGradGuard ng;
  for (size_t k = 0; k < seq.size(); ++k) {
    if (k == 300) {  // episode restart: both reset their memory
      native->reset();
      raw.run_method("reset_memory");
    }
    native->forward(seq[k], a);
    const at::Tensor x = torch::from_blob(const_cast<float*>(seq[k].data()), {1, n}, torch::kFloat).clone();
    const at::Tensor y = raw.forward({x}).toTensor().contiguous();
    for (int i = 0; i < m; ++i) {
      // Random inputs drive these networks out of their range (|action| up to ~15, where a float32 ulp is 1e-6)
      // and LibTorch's float32 rounding of the hidden state accumulates: the error is measured relative to
      // max(1, |action|) with 5e-5. The runtime's conformance test checks 1e-5 absolute on recorded closed-loop
      // observations (runtime/tests/test_policy_run.cpp).
      const double ref = y.data_ptr<float>()[i];
      max_err = std::max(max_err, std::abs(double(a[i]) - ref) / std::max(1.0, std::abs(ref)));
      max_a = std::max(max_a, std::abs(double(a[i])));
    }
  }
  EXPECT_LT(max_err, 5e-5) << GetParam();
  RecordProperty("max_abs_error", std::to_string(max_err));
  std::printf("[ %s ] native vs LibTorch over 600 stateful steps: max |Δaction|/max(1,|action|) = %.3g (max |action| %.2f)\n",
              GetParam().c_str(), max_err, max_a);
  // The torch backend is the same module.
  torch_net->forward(seq[0], b);
  EXPECT_TRUE(b.allFinite());
}

TEST_P(PerRobot, ImportDeployMujoco) {
  const fs::path dir = policy_dir(GetParam());
  NEED(dir / "deploy_mujoco.yaml");
  const RobotJoints rj = joints_of(dir / "model" / "scene.xml");
  const PolicySpec s = import_unitree_deploy(dir / "deploy_mujoco.yaml", rj);
  EXPECT_EQ(s.joints, rj.names);
  EXPECT_DOUBLE_EQ(s.policy_hz, 50.0);
  EXPECT_DOUBLE_EQ(s.physics_dt, 0.002);
  ASSERT_EQ(s.observation.size(), 7u);
  EXPECT_EQ(s.observation[0].kind, TermKind::kBaseAngVel);
  EXPECT_DOUBLE_EQ(s.observation[0].scale[0], 0.25);
  EXPECT_EQ(s.observation[2].scale, (std::vector<double>{2.0, 2.0, 0.25}));
  EXPECT_DOUBLE_EQ(s.observation[4].scale[0], 0.05);
  EXPECT_DOUBLE_EQ(s.observation[6].period, 0.8);
  EXPECT_DOUBLE_EQ(s.action_scale[0], 0.25);
  const int n = static_cast<int>(rj.names.size());
  EXPECT_EQ(s.observation_size(), 9 + 3 * n + 2);
  // Loads against its network and robot; the spec survives a round trip through YAML.
  Policy p(s, load_network(s.network), rj);
  const PolicySpec back = parse_spec(write_spec(s), {}, "roundtrip");
  EXPECT_EQ(back.joints, s.joints);
  EXPECT_EQ(back.default_q, s.default_q);
  EXPECT_EQ(back.kp, s.kp);
  EXPECT_EQ(back.kd, s.kd);
  EXPECT_EQ(back.observation_size(), s.observation_size());
  EXPECT_EQ(back.observation[2].scale, s.observation[2].scale);
  EXPECT_EQ(back.network, s.network);
  EXPECT_DOUBLE_EQ(back.physics_dt, s.physics_dt);
}

INSTANTIATE_TEST_SUITE_P(UnitreeRlGym, PerRobot, ::testing::Values("g1", "h1", "h1_2"));

TEST(Import, DeployRealOnFullG1HoldsWaistAndArms) {
  const fs::path yaml = policy_dir("g1") / "deploy_real.yaml";
  const fs::path g1 = model::shared_dir() / "robots" / "unitree_g1" / "scene.xml";
  NEED(yaml);
  NEED(g1);
  const RobotJoints rj = joints_of(g1);
  ASSERT_EQ(rj.names.size(), 29u);
  const PolicySpec s = import_unitree_deploy(yaml, rj);
  EXPECT_EQ(s.joints.size(), 12u);
  ASSERT_EQ(s.held.size(), 17u);
  EXPECT_DOUBLE_EQ(s.held[0].kp, 300);
  EXPECT_DOUBLE_EQ(s.held[0].kd, 3);
  EXPECT_DOUBLE_EQ(s.policy_hz, 50);
  Policy p(s, load_network(s.network), rj);  // every one of the 29 joints is driven or held
  // deploy_real on the 12-joint policy scene: its motor indices 12..28 do not exist.
  EXPECT_THROW(import_unitree_deploy(yaml, joints_of(policy_dir("g1") / "model" / "scene.xml")), PolicyError);
}

/// The G1 spec and robot, for the contract-error tests.
struct G1 {
  RobotJoints robot;
  PolicySpec spec;
};
std::optional<G1> g1() {
  const fs::path dir = policy_dir("g1");
  if (!fs::exists(dir / "deploy_mujoco.yaml")) return std::nullopt;
  G1 g;
  g.robot = joints_of(dir / "model" / "scene.xml");
  g.spec = import_unitree_deploy(dir / "deploy_mujoco.yaml", g.robot);
  return g;
}

std::string load_error(const PolicySpec& s, const RobotJoints& r) {
  try {
    Policy p(s, load_network(s.network), r);
  } catch (const PolicyError& e) {
    return e.what();
  }
  return "";
}

TEST(Contract, SwappedJointOrderFails) {
  auto g = g1();
  if (!g) GTEST_SKIP() << "../shared/policies/unitree_rl_gym/g1 not found";
  // Hip pitch (default -0.1) and knee (default 0.3) swapped in the names list: the knee gets -0.1, below its limit.
  std::swap(g->spec.joints[0], g->spec.joints[3]);
  const std::string e = load_error(g->spec, g->robot);
  EXPECT_NE(e.find("policy joint 'left_knee_joint' (policy index 0)"), std::string::npos) << e;
  EXPECT_NE(e.find("outside the robot's range"), std::string::npos) << e;
  EXPECT_NE(e.find("swapped"), std::string::npos) << e;
}

TEST(Contract, WrongObservationSizeFails) {
  auto g = g1();
  if (!g) GTEST_SKIP() << "../shared/policies/unitree_rl_gym/g1 not found";
  g->spec.observation.pop_back();  // no gait phase: 45 inputs for a 47-input network
  const std::string e = load_error(g->spec, g->robot);
  EXPECT_NE(e.find("observation size mismatch"), std::string::npos) << e;
  EXPECT_NE(e.find("expects 47 inputs"), std::string::npos) << e;
  EXPECT_NE(e.find("give 45"), std::string::npos) << e;
  // A declared term size that disagrees names the term, the expected and the actual size.
  auto g2 = g1();
  g2->spec.observation[2].size = 2;
  const std::string e2 = load_error(g2->spec, g2->robot);
  EXPECT_NE(e2.find("observation term 'command'"), std::string::npos) << e2;
  EXPECT_NE(e2.find("expected 3, actual 2"), std::string::npos) << e2;
  // A per-element scale of the wrong length.
  auto g3 = g1();
  g3->spec.observation[2].scale = {2.0, 2.0};
  const std::string e3 = load_error(g3->spec, g3->robot);
  EXPECT_NE(e3.find("observation term 'command': scale has 2 values, expected 1 or 3"), std::string::npos) << e3;
}

TEST(Contract, MissingJointFails) {
  auto g = g1();
  if (!g) GTEST_SKIP() << "../shared/policies/unitree_rl_gym/g1 not found";
  g->spec.joints[3] = "left_knee";
  const std::string e = load_error(g->spec, g->robot);
  EXPECT_NE(e.find("policy joint 'left_knee' (policy index 3) is missing from the robot"), std::string::npos) << e;
  // A robot joint that is neither driven nor held.
  auto g2 = g1();
  g2->robot.names.push_back("extra_joint");
  g2->robot.lower.push_back(-1);
  g2->robot.upper.push_back(1);
  g2->robot.nominal.push_back(0);
  const std::string e2 = load_error(g2->spec, g2->robot);
  EXPECT_NE(e2.find("robot joint 'extra_joint' is neither a policy joint nor held"), std::string::npos) << e2;
  // Fewer joints than actions.
  auto g3 = g1();
  g3->spec.joints.pop_back();
  g3->spec.default_q.pop_back();
  g3->spec.kp.pop_back();
  g3->spec.kd.pop_back();
  for (auto& t : g3->spec.observation) t.size = 0;
  const std::string e3 = load_error(g3->spec, g3->robot);
  EXPECT_NE(e3.find("mismatch"), std::string::npos) << e3;
}

TEST(Spec, ParseErrorsNameTheField) {
  const std::string base = R"(policy_spec: 1
network: x.pt
rates: {policy_hz: 50}
joints: {names: [a, b], default: [0, 0], kp: [1, 1], kd: [0.1, 0.1]}
observation: {terms: [{term: joint_pos_rel}]}
action: {scale: 0.25}
)";
  EXPECT_NO_THROW(parse_spec(base));
  auto err = [](const std::string& t) {
    try {
      parse_spec(t, {}, "s.yaml");
    } catch (const PolicyError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(err("policy_spec: 2\n").find("version 2 is not supported"), std::string::npos);
  std::string t = base;
  t.replace(t.find("kp: [1, 1]"), 10, "kp: [1]");
  EXPECT_NE(err(t).find("joints.kp: expected 2 values (one per policy joint), got 1"), std::string::npos) << err(t);
  t = base;
  t.replace(t.find("joint_pos_rel"), 13, "joint_torque");
  EXPECT_NE(err(t).find("unknown term 'joint_torque'"), std::string::npos) << err(t);
  t = base + "extra: 1\n";
  EXPECT_NE(err(t).find("extra: unknown key"), std::string::npos) << err(t);
  EXPECT_NE(err("policy_spec: [").find("malformed YAML"), std::string::npos);
}

/// Echoes its input's first `out` values and records the whole input.
class Echo : public Network {
 public:
  Echo(int in, int out) : in_(in), out_(out) {}
  int input_size() const override { return in_; }
  int output_size() const override { return out_; }
  bool recurrent() const override { return false; }
  std::string describe() const override { return "echo"; }
  void reset() override {}
  void forward(const Eigen::Ref<const Eigen::VectorXf>& obs, Eigen::Ref<Eigen::VectorXf> action) override {
    last = obs;
    action.setConstant(0.5f);
  }
  Eigen::VectorXf last;
  int in_, out_;
};

PolicySpec two_joint_spec(HistoryLayout layout, int hist) {
  PolicySpec s;
  s.joints = {"a", "b"};
  s.default_q = {0.1, -0.1};
  s.kp = {10, 20};
  s.kd = {1, 2};
  s.action_scale = {0.5};
  s.history_layout = layout;
  ObsTerm cmd;
  cmd.kind = TermKind::kCommand;
  cmd.history = hist;
  ObsTerm q;
  q.kind = TermKind::kJointPosRel;
  q.history = hist;
  q.scale = {2.0};
  q.clip = std::make_pair(-1.0, 1.0);
  s.observation = {cmd, q};
  return s;
}

RobotJoints two_joint_robot() { return {{"b", "held", "a"}, {-1, -1, -1}, {1, 1, 1}, {0, 0.2, 0}}; }

TEST(Policy, HistoryLayoutsScaleClipAndTargets) {
  for (auto layout : {HistoryLayout::kTermMajor, HistoryLayout::kFrameMajor}) {
    PolicySpec s = two_joint_spec(layout, 3);
    s.held_default = HeldJoint{"", 0, 5, 0.5};
    auto net = std::make_unique<Echo>(15, 2);
    Echo* echo = net.get();
    Policy p(s, std::move(net), two_joint_robot());
    Eigen::VectorXd q(3), dq = Eigen::VectorXd::Zero(3);
    PolicyInput in;
    in.q = &q;
    in.dq = &dq;
    q << -0.1, 0.0, 0.1;  // robot order b, held, a: at the defaults
    in.command = Eigen::Vector3d(1, 0, 0);
    p.reset(in);
    for (int k = 1; k <= 2; ++k) {
      in.command = Eigen::Vector3d(1 + k, 0, 0);
      q << -0.1 + 0.1 * k, 0.0, 0.1 + 0.1 * k;  // a and b move away from default by 0.1 k
      p.step(in);
    }
    const Eigen::VectorXf& o = echo->last;
    // Frames, oldest first: cmd.x = 1, 2, 3; (q - default) * 2 = 0, 0.2, 0.4 for both joints.
    if (layout == HistoryLayout::kTermMajor) {
      EXPECT_FLOAT_EQ(o[0], 1);
      EXPECT_FLOAT_EQ(o[3], 2);
      EXPECT_FLOAT_EQ(o[6], 3);
      EXPECT_NEAR(o[9], 0.0, 1e-6);
      EXPECT_NEAR(o[11], 0.2, 1e-6);
      EXPECT_NEAR(o[13], 0.4, 1e-6);
    } else {
      EXPECT_FLOAT_EQ(o[0], 1);
      EXPECT_FLOAT_EQ(o[5], 2);
      EXPECT_FLOAT_EQ(o[10], 3);
      EXPECT_NEAR(o[13], 0.4, 1e-6);
      EXPECT_NEAR(o[14], 0.4, 1e-6);
    }
    // Targets by name: a (robot 2) = 0.1 + 0.5·0.5, b (robot 0) = −0.1 + 0.25; the held joint at its nominal.
    EXPECT_NEAR(p.q_target()[2], 0.35, 1e-12);
    EXPECT_NEAR(p.q_target()[0], 0.15, 1e-12);
    EXPECT_NEAR(p.q_target()[1], 0.2, 1e-12);
    EXPECT_EQ(p.kp()[0], 20);
    EXPECT_EQ(p.kp()[1], 5);
    EXPECT_EQ(p.kd()[2], 1);
  }
  // Clip: a large deviation saturates at 1.
  PolicySpec s = two_joint_spec(HistoryLayout::kTermMajor, 1);
  s.held_default = HeldJoint{"", 0, 5, 0.5};
  auto net = std::make_unique<Echo>(5, 2);
  Echo* echo = net.get();
  Policy p(s, std::move(net), two_joint_robot());
  Eigen::VectorXd q(3), dq = Eigen::VectorXd::Zero(3);
  q << 0.9, 0, 0.9;
  PolicyInput in;
  in.q = &q;
  in.dq = &dq;
  p.reset(in);
  p.step(in);
  EXPECT_FLOAT_EQ(echo->last[3], 1.0f);
  EXPECT_FLOAT_EQ(echo->last[4], 1.0f);
  // Wrong input size: an error, not a crash.
  Eigen::VectorXd q2(2);
  in.q = &q2;
  EXPECT_THROW(p.step(in), PolicyError);
}

TEST(Policy, StepDoesNotAllocate) {
  auto g = g1();
  if (!g) GTEST_SKIP() << "../shared/policies/unitree_rl_gym/g1 not found";
  Policy p(g->spec, load_network(g->spec.network), g->robot);
  const Eigen::Index n = static_cast<Eigen::Index>(g->robot.names.size());
  Eigen::VectorXd q = Eigen::VectorXd::Constant(n, 0.1), dq = Eigen::VectorXd::Constant(n, 0.2);
  PolicyInput in;
  in.q = &q;
  in.dq = &dq;
  in.base_ang_vel = Eigen::Vector3d(0.1, 0.2, 0.3);
  in.command = Eigen::Vector3d(0.5, 0, 0);
  p.reset(in);
  p.step(in);
  g_allocs = 0;
  g_count = true;
  for (int k = 0; k < 100; ++k) {
    in.t = 0.02 * k;
    p.step(in);
  }
  g_count = false;
  EXPECT_EQ(g_allocs.load(), 0);
  EXPECT_TRUE(p.action().allFinite());
}

TEST(Network, BadFilesGiveClearErrors) {
  EXPECT_THROW(load_network("/nonexistent/motion.pt"), PolicyError);
  const fs::path bogus = fs::temp_directory_path() / "oh_policy_bogus.pt";
  { std::ofstream(bogus) << "not a zip"; }
  try {
    load_network(bogus);
    FAIL() << "expected PolicyError";
  } catch (const PolicyError& e) {
    EXPECT_NE(std::string(e.what()).find("not a TorchScript file"), std::string::npos) << e.what();
  }
  fs::remove(bogus);
}

}  // namespace
}  // namespace oh::control::policy
