// QpSolver on a whole-body-control-sized problem: 47 variables, 18 equality rows, 51 two-sided inequality
// rows, H = Σ JᵀJ + εI (see control/qp/tests/qp_problems.hpp). A trajectory of slightly perturbed problems,
// as consecutive control ticks give, is solved cold (warm_start = false) and warm-started from the previous
// tick's active set. Each benchmark runs 15 repetitions and reports their mean, median, standard deviation
// and minimum, with the mean iterations and active inequality rows per solve as counters.
#include "control/qp/qp.hpp"
#include "control/qp/tests/qp_problems.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <vector>

namespace {

using oh::qp::QpProblem;
using oh::qp::QpSolver;
using oh::qp::QpStatus;

// 64 ticks of a WBC problem drifting by 1 % per tick; visited forwards then backwards so that consecutive
// solves are always neighbouring ticks.
const std::vector<QpProblem>& trajectory() {
  static const std::vector<QpProblem> ticks = [] {
    std::mt19937_64 rng(20240601);
    std::vector<QpProblem> t{oh::qp::problems::wbc_like_qp(rng)};
    while (t.size() < 64) t.push_back(oh::qp::problems::perturbed(rng, t.back(), 0.01));
    return t;
  }();
  return ticks;
}

void solve_trajectory(benchmark::State& state, bool warm) {
  const std::vector<QpProblem>& ticks = trajectory();
  const QpProblem& first = ticks.front();
  QpSolver solver(int(first.g.size()), int(first.b_eq.size()), int(first.l.size()));
  solver.solve(first);
  const int period = 2 * int(ticks.size()) - 2;
  int tick = 0;
  double iterations = 0, active = 0, solves = 0;
  for (auto _ : state) {
    const int k = tick < int(ticks.size()) ? tick : period - tick;
    tick = (tick + 1) % period;
    const QpStatus status = solver.solve(ticks[k], warm);
    benchmark::DoNotOptimize(solver.solution().x.data());
    if (status != QpStatus::kOptimal) {
      state.SkipWithError("QP not solved");
      break;
    }
    iterations += solver.solution().iterations;
    active += solver.solution().n_active;
    solves += 1;
  }
  state.counters["iterations"] = solves ? iterations / solves : 0.0;
  state.counters["active"] = solves ? active / solves : 0.0;
}

void BM_QpWbcCold(benchmark::State& state) { solve_trajectory(state, false); }
void BM_QpWbcWarm(benchmark::State& state) { solve_trajectory(state, true); }

// The smallest repetition: on a shared machine it is the least disturbed one.
double min_of(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end()); }

BENCHMARK(BM_QpWbcCold)
    ->Unit(benchmark::kMicrosecond)
    ->Repetitions(15)
    ->ComputeStatistics("min", min_of)
    ->ReportAggregatesOnly(true);
BENCHMARK(BM_QpWbcWarm)
    ->Unit(benchmark::kMicrosecond)
    ->Repetitions(15)
    ->ComputeStatistics("min", min_of)
    ->ReportAggregatesOnly(true);

}  // namespace

BENCHMARK_MAIN();
