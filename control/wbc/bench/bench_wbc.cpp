// Whole-body controller tick (dynamics terms + QP) on G1 and the built-in robot, standing on both feet at the
// nominal pose with a small perturbation per call so that the QP's warm start has work to do.
#include "control/wbc/wbc.hpp"
#include "model/model.hpp"
#include "model/profile.hpp"

#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

namespace {

void BM_WbcTick(benchmark::State& state, const std::string& robot_name) {
  std::filesystem::path path;
  try {
    path = oh::model::resolve_robot(robot_name);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  const auto robot = oh::model::load(path);
  const auto profile = oh::model::profile_for(robot.model);
  oh::control::WholeBodyController wbc(robot.model, profile, 0.002);
  Eigen::VectorXd q = profile.q_nominal, v = Eigen::VectorXd::Zero(robot.model.nv);
  oh::control::WbcTargets t;
  t.q_posture = q;
  for (int i = 0; i < 2; ++i) {
    t.foot[i] = wbc.sole_pose(q, i);
    t.foot_vel[i].setZero();
  }
  t.com = wbc.com(q) + Eigen::Vector3d(0.01, 0.0, 0.0);
  t.torso = wbc.torso_orientation(q);
  std::mt19937 rng(1);
  std::normal_distribution<double> n(0.0, 0.01);
  std::vector<Eigen::VectorXd> vs(64, v);
  for (auto& x : vs)
    for (Eigen::Index k = 6; k < x.size(); ++k) x[k] = n(rng);
  size_t i = 0;
  for (auto _ : state) {
    const auto& o = wbc.update(q, vs[i++ % vs.size()], t);
    benchmark::DoNotOptimize(o.tau.data());
  }
}

BENCHMARK_CAPTURE(BM_WbcTick, G1, std::string("g1"))->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly(true);
BENCHMARK_CAPTURE(BM_WbcTick, Builtin, std::string("builtin"))->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly(true);

}  // namespace

BENCHMARK_MAIN();
