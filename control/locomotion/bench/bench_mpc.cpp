// LIPM MPC solve (N = 20 samples of 50 ms, 2 adaptable footsteps, 44 variables, 104 two-sided rows) while walking
// at 0.4 m/s, at states along a walking cycle, with the gait parameters of the built-in robot and of G1 (skipped
// when ../shared is absent).
#include "control/locomotion/locomotion.hpp"
#include "model/model.hpp"
#include "model/profile.hpp"

#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

namespace {

void BM_LipmMpcSolve(benchmark::State& state, const std::string& name) {
  std::filesystem::path path;
  try {
    path = name == "builtin" ? oh::model::builtin_robot_path() : oh::model::resolve_robot(name);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  const auto robot = oh::model::load(path);
  const auto profile = oh::model::profile_for(robot.model);
  const auto gait = oh::control::GaitParams::from_profile(robot.model, profile);
  oh::control::FootstepPlanner planner(gait);
  oh::control::LipmMpc mpc(gait);
  std::vector<oh::control::LipmMpc::Input> inputs;
  for (int k = 0; k < 40; ++k) {
    oh::control::WalkingPhase ph;
    ph.single = k % 4 != 0;
    ph.duration = ph.single ? gait.t_single : gait.t_double;
    ph.elapsed = ph.duration * (k % 10) / 10.0;
    ph.stance.side = oh::control::kLeft;
    ph.stance.pos = {0.0, 0.5 * gait.nominal_width};
    ph.prev.side = oh::control::kRight;
    ph.prev.pos = {-0.15, -0.5 * gait.nominal_width};
    inputs.push_back(oh::control::walking_mpc_input(gait, planner, ph, {0.4, 0, 0}, {-0.02 + 0.002 * k, 0.03},
                                                    {0.4, -0.05 + 0.0025 * k}));
  }
  size_t i = 0;
  for (auto _ : state) {
    const auto& out = mpc.solve(inputs[i++ % inputs.size()]);
    benchmark::DoNotOptimize(out.zmp.data());
  }
}

BENCHMARK_CAPTURE(BM_LipmMpcSolve, builtin, std::string("builtin"))
    ->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly(true);
BENCHMARK_CAPTURE(BM_LipmMpcSolve, g1, std::string("g1"))
    ->Unit(benchmark::kMicrosecond)->Repetitions(5)->ReportAggregatesOnly(true);

}  // namespace

BENCHMARK_MAIN();
