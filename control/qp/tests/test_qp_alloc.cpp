// QpSolver::solve() must not allocate: the C allocator of this test executable is replaced by counting
// wrappers around glibc's own (__libc_malloc & co.), so that every heap allocation is seen — Eigen's
// aligned_malloc calls malloc directly, and the default operator new does too.
#include "control/qp/qp.hpp"
#include "control/qp/tests/qp_problems.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdlib>

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* ptr, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void __libc_free(void* ptr);
}

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
void count() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" {
void* malloc(std::size_t size) noexcept {
  count();
  return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) noexcept {
  count();
  return __libc_calloc(n, size);
}
void* realloc(void* ptr, std::size_t size) noexcept {
  count();
  return __libc_realloc(ptr, size);
}
void* memalign(std::size_t alignment, std::size_t size) noexcept {
  count();
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  count();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** ptr, std::size_t alignment, std::size_t size) noexcept {
  count();
  *ptr = __libc_memalign(alignment, size);
  return *ptr ? 0 : ENOMEM;
}
void free(void* ptr) noexcept { __libc_free(ptr); }
}

namespace oh::qp {
namespace {

// Counts the heap allocations made while f runs.
template <class F>
long allocations_during(F&& f) {
  g_allocations = 0;
  g_counting = true;
  f();
  g_counting = false;
  return g_allocations.load();
}

// Stores an address where the optimiser must assume it is read, so that allocations are not elided.
void* volatile g_sink = nullptr;

TEST(QpAllocation, CounterSeesEigenAndNew) {
  const long eigen = allocations_during([] {
    Eigen::VectorXd v(1000);
    g_sink = v.data();
  });
  EXPECT_GE(eigen, 1);
  const long cxx = allocations_during([] {
    double* d = new double(1.0);
    g_sink = d;
    delete d;
  });
  EXPECT_GE(cxx, 1);
}

TEST(QpAllocation, SolveAllocatesNothing) {
  std::mt19937_64 rng(7);
  const QpProblem wbc = problems::wbc_like_qp(rng);
  const QpProblem next = problems::perturbed(rng, wbc, 0.01);
  QpSolver solver(47, 18, 51);
  long total = allocations_during([&] {
    EXPECT_EQ(solver.solve(wbc), QpStatus::kOptimal);
    EXPECT_EQ(solver.solve(next, true), QpStatus::kOptimal);
    EXPECT_EQ(solver.solve(wbc, true), QpStatus::kOptimal);
    EXPECT_EQ(solver.solve(next, false), QpStatus::kOptimal);
  });
  EXPECT_EQ(total, 0);

  // Bounds, one-sided rows, fixed rows, dependent equalities.
  problems::RandomQpShape shape;
  shape.n = 30, shape.n_eq = 6, shape.n_ineq = 40, shape.fixed = 0.1;
  QpProblem p = problems::random_feasible_qp(rng, shape);
  p.A_eq.row(5) = p.A_eq.row(0) + p.A_eq.row(1);
  p.b_eq[5] = p.b_eq[0] + p.b_eq[1];
  QpSolver random_solver(30, 6, 40);
  total = allocations_during([&] {
    EXPECT_EQ(random_solver.solve(p), QpStatus::kOptimal);
    EXPECT_EQ(random_solver.solve(p, true), QpStatus::kOptimal);
  });
  EXPECT_EQ(total, 0);

  // The failure paths too: infeasible, invalid, iteration limit.
  QpProblem infeasible = p;
  infeasible.b_eq[5] += 1.0;
  QpProblem invalid = p;
  invalid.g[3] = std::numeric_limits<double>::quiet_NaN();
  QpProblem crossed = p;
  crossed.lb[0] = 1.0, crossed.ub[0] = 0.0;
  total = allocations_during([&] {
    EXPECT_EQ(random_solver.solve(infeasible), QpStatus::kInfeasible);
    EXPECT_EQ(random_solver.solve(invalid), QpStatus::kInvalidInput);
    EXPECT_EQ(random_solver.solve(crossed), QpStatus::kInfeasible);
    random_solver.settings().max_iterations = 1;
    EXPECT_EQ(random_solver.solve(p), QpStatus::kMaxIterations);
  });
  EXPECT_EQ(total, 0);
}

}  // namespace
}  // namespace oh::qp
