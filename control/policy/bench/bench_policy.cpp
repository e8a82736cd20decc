// Per-step inference cost of the unitree_rl_gym policies (LSTM(64) + MLP 64-32-n): the native Eigen path, LibTorch's
// TorchScript interpreter, and a whole Policy::step (observation + native network + targets). Each benchmark also
// reports the median and 99th percentile of individually timed steps (counters p50_us, p99_us).
#include "control/policy/policy.hpp"
#include "model/model.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace pol = oh::control::policy;
namespace fs = std::filesystem;

namespace {

fs::path dir(const std::string& robot) { return oh::model::shared_dir() / "policies" / "unitree_rl_gym" / robot; }

void percentiles(benchmark::State& state, std::vector<double>& us) {
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, static_cast<size_t>(0.99 * static_cast<double>(us.size())))];
}

void network(benchmark::State& state, const std::string& robot, pol::Backend backend) {
  const fs::path pt = dir(robot) / "motion.pt";
  if (!fs::exists(pt)) {
    state.SkipWithError(("not found: " + pt.string()).c_str());
    return;
  }
  auto net = pol::load_network(pt, backend);
  Eigen::VectorXf obs = Eigen::VectorXf::Constant(net->input_size(), 0.1f), act(net->output_size());
  std::vector<double> us;
  us.reserve(1 << 20);
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    net->forward(obs, act);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    benchmark::DoNotOptimize(act.data());
    obs[0] = act[0] * 0.01f;  // stateful and input-dependent
  }
  percentiles(state, us);
}

void policy_step(benchmark::State& state, const std::string& robot) {
  const fs::path yaml = dir(robot) / "deploy_mujoco.yaml";
  if (!fs::exists(yaml)) {
    state.SkipWithError(("not found: " + yaml.string()).c_str());
    return;
  }
  const pol::RobotJoints rj = pol::robot_joints(oh::model::load(dir(robot) / "model" / "scene.xml").model);
  const pol::PolicySpec spec = pol::import_unitree_deploy(yaml, rj);
  pol::Policy p(spec, pol::load_network(spec.network), rj);
  const auto n = static_cast<Eigen::Index>(rj.names.size());
  Eigen::VectorXd q = Eigen::VectorXd::Constant(n, 0.05), dq = Eigen::VectorXd::Constant(n, 0.3);
  pol::PolicyInput in;
  in.q = &q;
  in.dq = &dq;
  in.command = Eigen::Vector3d(0.5, 0, 0);
  p.reset(in);
  std::vector<double> us;
  us.reserve(1 << 20);
  for (auto _ : state) {
    in.t += 0.02;
    const auto t0 = std::chrono::steady_clock::now();
    p.step(in);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    benchmark::DoNotOptimize(p.q_target().data());
  }
  percentiles(state, us);
}

}  // namespace

BENCHMARK_CAPTURE(network, native_g1, "g1", pol::Backend::kNative)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(network, native_h1, "h1", pol::Backend::kNative)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(network, native_h1_2, "h1_2", pol::Backend::kNative)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(network, torch_g1, "g1", pol::Backend::kTorch)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(network, torch_h1, "h1", pol::Backend::kTorch)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(policy_step, g1, "g1")->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
