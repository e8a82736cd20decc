// QpSolver against independent references: the KKT conditions, brute-force enumeration of active sets,
// closed forms, and hand-built degenerate and infeasible problems.
#include "control/qp/qp.hpp"
#include "control/qp/tests/qp_problems.hpp"

#include <Eigen/Dense>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace oh::qp {
namespace {

using problems::kInf;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Largest magnitude in the problem data, for relative tolerances.
double data_scale(const QpProblem& p) {
  double s = 1.0;
  auto fold = [&s](const Eigen::MatrixXd& m) {
    for (Eigen::Index i = 0; i < m.size(); ++i)
      if (std::isfinite(m.data()[i])) s = std::max(s, std::abs(m.data()[i]));
  };
  for (const Eigen::MatrixXd* m : {&p.H, &p.A_eq, &p.C}) fold(*m);
  for (const Eigen::VectorXd* v : {&p.g, &p.b_eq, &p.l, &p.u, &p.lb, &p.ub}) fold(*v);
  return s;
}

QpSolution solve_or_fail(const QpProblem& p, QpStatus expected = QpStatus::kOptimal) {
  QpSolver solver(int(p.g.size()), int(p.b_eq.size()), int(p.C.rows()));
  EXPECT_EQ(solver.solve(p), expected) << to_string(solver.solution().status);
  return solver.solution();
}

void expect_kkt(const QpProblem& p, const QpSolution& s, double tol) {
  const KktResiduals k = kkt_residuals(p, s);
  const double scale = data_scale(p) * (1.0 + (s.x.size() ? s.x.cwiseAbs().maxCoeff() : 0.0));
  EXPECT_LE(k.stationarity, tol * scale);
  EXPECT_LE(k.primal_eq, tol * scale);
  EXPECT_LE(k.primal_ineq, tol * scale);
  EXPECT_LE(k.dual, tol * scale);
  EXPECT_LE(k.complementarity, tol * scale);
}

// ‖a - b‖∞ ≤ tol·(1 + ‖b‖∞), with the gap in the message when not.
::testing::AssertionResult close(const Eigen::VectorXd& a, const Eigen::VectorXd& b, double tol) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << "sizes " << a.size() << " vs " << b.size();
  const double gap = a.size() ? (a - b).cwiseAbs().maxCoeff() : 0.0;
  const double limit = tol * (1.0 + (b.size() ? b.cwiseAbs().maxCoeff() : 0.0));
  if (gap <= limit) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "max |a - b| = " << gap << " > " << limit;
}

// ---------------------------------------------------------------------------------------------------
// (1) KKT residuals on random feasible problems of many shapes.

TEST(QpKkt, RandomFeasibleProblems) {
  std::mt19937_64 rng(1);
  int solved = 0;
  double worst = 0.0;
  for (int trial = 0; trial < 240; ++trial) {
    problems::RandomQpShape s;
    s.n = 1 + int(rng() % 60);
    s.n_eq = int(rng() % (s.n / 2 + 1));
    s.n_ineq = int(rng() % (2 * s.n + 1));
    s.bounds = rng() % 3 != 0;
    s.one_sided = problems::uniform(rng, 0.0, 0.5);
    s.fixed = trial % 4 == 0 ? 0.1 : 0.0;
    s.hessian_floor = std::pow(10.0, problems::uniform(rng, -3.0, 0.0));
    s.gradient_scale = std::pow(10.0, problems::uniform(rng, -1.0, 1.5));
    const QpProblem p = problems::random_feasible_qp(rng, s);
    const QpSolution sol = solve_or_fail(p);
    if (sol.status != QpStatus::kOptimal) continue;
    ++solved;
    expect_kkt(p, sol, 1e-9);
    worst = std::max(worst, kkt_residuals(p, sol).max() / data_scale(p));
    // The reported objective is the objective at x.
    EXPECT_NEAR(sol.objective, 0.5 * sol.x.dot(p.H * sol.x) + p.g.dot(sol.x), 1e-9 * (1 + std::abs(sol.objective)));
  }
  EXPECT_EQ(solved, 240);
  RecordProperty("worst_relative_kkt_residual", std::to_string(worst));
}

TEST(QpKkt, ActiveSetMatchesMultipliersAndConstraints) {
  std::mt19937_64 rng(2);
  for (int trial = 0; trial < 40; ++trial) {
    problems::RandomQpShape s;
    s.n = 5 + trial, s.n_eq = trial % 4, s.n_ineq = 2 * s.n;
    const QpProblem p = problems::random_feasible_qp(rng, s);
    QpSolver solver(s.n, s.n_eq, s.n_ineq);
    ASSERT_EQ(solver.solve(p), QpStatus::kOptimal);
    const QpSolution& sol = solver.solution();
    const ActiveSet& a = solver.active_set();
    const Eigen::VectorXd cx = p.C * sol.x;
    int active = 0;
    auto check = [&](ActiveSide side, double v, double lo, double hi, double y) {
      active += side != ActiveSide::kInactive;
      if (side == ActiveSide::kLower) {
        EXPECT_NEAR(v, lo, 1e-9 * (1 + std::abs(lo)));
        EXPECT_LE(y, 0.0);
      } else if (side == ActiveSide::kUpper) {
        EXPECT_NEAR(v, hi, 1e-9 * (1 + std::abs(hi)));
        EXPECT_GE(y, 0.0);
      } else {
        EXPECT_EQ(side, ActiveSide::kInactive);
        EXPECT_EQ(y, 0.0);
      }
    };
    for (int i = 0; i < s.n_ineq; ++i) check(a.ineq[i], cx[i], p.l[i], p.u[i], sol.y_ineq[i]);
    for (int i = 0; i < s.n; ++i) check(a.bounds[i], sol.x[i], p.lb[i], p.ub[i], sol.y_bound[i]);
    EXPECT_EQ(active, sol.n_active);
  }
}

// ---------------------------------------------------------------------------------------------------
// (2) Brute force: every assignment of {inactive, lower, upper} to the inequality rows and bounds; each
// assignment's equality-constrained QP solved through its KKT system. The optimum is the feasible
// candidate of least objective (the QP is strictly convex), and its multipliers have the right signs.

struct BruteForce {
  bool feasible = false;
  Eigen::VectorXd x;
  double objective = kInf;
  bool dual_feasible = false;  // a candidate at the optimum has unique multipliers of the right signs
  bool unique_multipliers = false;
};

BruteForce brute_force(const QpProblem& p) {
  const int n = int(p.g.size()), n_eq = int(p.b_eq.size()), m = int(p.C.rows());
  // The two-sided constraints as (row, lo, hi), rows of C first, then bounds.
  std::vector<Eigen::VectorXd> rows;
  std::vector<double> lo, hi;
  for (int i = 0; i < m; ++i) rows.push_back(p.C.row(i).transpose()), lo.push_back(p.l[i]), hi.push_back(p.u[i]);
  for (int i = 0; i < n; ++i)
    if (std::isfinite(p.lb[i]) || std::isfinite(p.ub[i]))
      rows.push_back(Eigen::VectorXd::Unit(n, i)), lo.push_back(p.lb[i]), hi.push_back(p.ub[i]);
  const int k = int(rows.size());
  std::vector<int> choice(k, 0);  // 0 inactive, 1 lower, 2 upper
  BruteForce best;
  for (;;) {
    // Active rows of this assignment (l == u rows are always held at their value).
    std::vector<int> act;
    std::vector<double> val, sgn;
    bool skip = false;
    for (int i = 0; i < k; ++i) {
      int c = choice[i];
      if (lo[i] == hi[i]) {
        if (c == 2) skip = true;  // counted once, as "lower"
        c = c ? 1 : 1;
      }
      if (c == 1 && !std::isfinite(lo[i])) skip = true;
      if (c == 2 && !std::isfinite(hi[i])) skip = true;
      if (c) act.push_back(i), val.push_back(c == 1 ? lo[i] : hi[i]), sgn.push_back(c == 1 ? -1.0 : 1.0);
    }
    const int w = int(act.size());
    if (!skip) {
      Eigen::MatrixXd K = Eigen::MatrixXd::Zero(n + n_eq + w, n + n_eq + w);
      Eigen::VectorXd rhs(n + n_eq + w);
      K.topLeftCorner(n, n) = p.H;
      rhs.head(n) = -p.g;
      K.block(n, 0, n_eq, n) = p.A_eq;
      K.block(0, n, n, n_eq) = p.A_eq.transpose();
      rhs.segment(n, n_eq) = p.b_eq;
      for (int j = 0; j < w; ++j) {
        K.block(n + n_eq + j, 0, 1, n) = rows[act[j]].transpose();
        K.block(0, n + n_eq + j, n, 1) = rows[act[j]];
        rhs[n + n_eq + j] = val[j];
      }
      // With linearly dependent active rows K is singular but, if they are consistent, still solvable,
      // and x is unique (H is positive definite); the multipliers are then not unique.
      const Eigen::FullPivLU<Eigen::MatrixXd> lu(K);
      const Eigen::VectorXd sol = lu.solve(rhs);
      if ((K * sol - rhs).cwiseAbs().maxCoeff() <= 1e-10 * (1 + rhs.cwiseAbs().maxCoeff())) {
        const Eigen::VectorXd x = sol.head(n);
        bool feasible = n_eq == 0 || (p.A_eq * x - p.b_eq).cwiseAbs().maxCoeff() <= 1e-9;
        for (int i = 0; i < k && feasible; ++i) {
          const double v = rows[i].dot(x);
          feasible = v >= lo[i] - 1e-9 && v <= hi[i] + 1e-9;
        }
        if (feasible) {
          const double obj = 0.5 * x.dot(p.H * x) + p.g.dot(x);
          const bool unique = lu.isInvertible();
          bool dual = unique;  // y of a held side has the sign of its side (free for l == u)
          for (int j = 0; j < w; ++j)
            if (lo[act[j]] != hi[act[j]] && sgn[j] * sol[n + n_eq + j] < -1e-9) dual = false;
          if (obj < best.objective - 1e-12) {
            best = {true, x, obj, dual, unique};
          } else if (obj <= best.objective + 1e-12) {
            best.dual_feasible |= dual;
            best.unique_multipliers |= unique;
          }
        }
      }
    }
    int i = 0;
    while (i < k && ++choice[i] == 3) choice[i++] = 0;
    if (i == k) break;
  }
  return best;
}

TEST(QpBruteForce, SmallProblemsMatchEnumeration) {
  std::mt19937_64 rng(3);
  int compared = 0;
  for (int trial = 0; trial < 120; ++trial) {
    problems::RandomQpShape s;
    s.n = 1 + int(rng() % 6);
    s.n_eq = int(rng() % std::min(3, s.n));
    s.bounds = trial % 2 == 0;
    const int bound_budget = s.bounds ? std::min(s.n, 4) : 0;
    s.n_ineq = int(rng() % (9 - bound_budget));
    s.fixed = trial % 5 == 0 ? 0.2 : 0.0;
    s.gradient_scale = 3.0;
    QpProblem p = problems::random_feasible_qp(rng, s);
    // At most 8 two-sided constraints in all: keep bounds on the first bound_budget variables only.
    for (int i = bound_budget; i < s.n; ++i) p.lb[i] = -kInf, p.ub[i] = kInf;
    const BruteForce ref = brute_force(p);
    ASSERT_TRUE(ref.feasible) << "trial " << trial;
    if (ref.unique_multipliers) {
      EXPECT_TRUE(ref.dual_feasible) << "trial " << trial;
    }
    const QpSolution sol = solve_or_fail(p);
    EXPECT_TRUE(close(sol.x, ref.x, 1e-8)) << "trial " << trial;
    EXPECT_NEAR(sol.objective, ref.objective, 1e-8 * (1 + std::abs(ref.objective)));
    ++compared;
  }
  EXPECT_EQ(compared, 120);
}

// ---------------------------------------------------------------------------------------------------
// (3) Closed forms.

TEST(QpClosedForm, UnconstrainedIsMinusHInverseG) {
  std::mt19937_64 rng(4);
  for (int n : {1, 2, 5, 17, 47, 90}) {
    QpProblem p(n, 0, 0);
    const Eigen::MatrixXd M = problems::gaussian(rng, n, n);
    p.H = M * M.transpose() + 0.5 * Eigen::MatrixXd::Identity(n, n);
    p.g = problems::gaussian(rng, n, 1);
    const QpSolution sol = solve_or_fail(p);
    const Eigen::VectorXd x = -p.H.partialPivLu().solve(p.g);
    EXPECT_TRUE(close(sol.x, x, 1e-10)) << n;
    EXPECT_NEAR(sol.objective, -0.5 * p.g.dot(p.H.partialPivLu().solve(p.g)), 1e-10 * (1 + std::abs(sol.objective)));
    EXPECT_EQ(sol.iterations, 0);
    EXPECT_EQ(sol.n_active, 0);
  }
}

TEST(QpClosedForm, EqualityConstrainedMatchesKktSystem) {
  std::mt19937_64 rng(5);
  for (int n : {2, 6, 20, 47}) {
    const int n_eq = n / 2;
    QpProblem p(n, n_eq, 0);
    const Eigen::MatrixXd M = problems::gaussian(rng, n, n);
    p.H = M * M.transpose() + 0.1 * Eigen::MatrixXd::Identity(n, n);
    p.g = problems::gaussian(rng, n, 1);
    p.A_eq = problems::gaussian(rng, n_eq, n);
    p.b_eq = problems::gaussian(rng, n_eq, 1);
    Eigen::MatrixXd K = Eigen::MatrixXd::Zero(n + n_eq, n + n_eq);
    K << p.H, p.A_eq.transpose(), p.A_eq, Eigen::MatrixXd::Zero(n_eq, n_eq);
    Eigen::VectorXd rhs(n + n_eq);
    rhs << -p.g, p.b_eq;
    const Eigen::VectorXd ref = K.partialPivLu().solve(rhs);  // [x; y_eq] with H x + g + A_eqᵀ y_eq = 0
    const QpSolution sol = solve_or_fail(p);
    EXPECT_LE((sol.x - ref.head(n)).cwiseAbs().maxCoeff(), 1e-9 * (1 + ref.cwiseAbs().maxCoeff())) << n;
    EXPECT_LE((sol.y_eq - ref.tail(n_eq)).cwiseAbs().maxCoeff(), 1e-9 * (1 + ref.cwiseAbs().maxCoeff())) << n;
  }
}

TEST(QpClosedForm, OneActiveBoundProjectsInTheHessianMetric) {
  // min ½‖x - a‖² s.t. x_0 ≤ 0 with a_0 > 0: x = (0, a_1, …), y_bound_0 = a_0.
  QpProblem p(3, 0, 0);
  p.H.setIdentity();
  p.g << -2.0, -1.0, 3.0;
  p.ub[0] = 0.0;
  const QpSolution sol = solve_or_fail(p);
  EXPECT_NEAR(sol.x[0], 0.0, 1e-15);
  EXPECT_NEAR(sol.x[1], 1.0, 1e-15);
  EXPECT_NEAR(sol.x[2], -3.0, 1e-15);
  EXPECT_NEAR(sol.y_bound[0], 2.0, 1e-14);
}

// ---------------------------------------------------------------------------------------------------
// (4) Degenerate problems.

// Solves p, expecting kOptimal, x within 1e-9 (relative) of x_ref and KKT residuals within 1e-9.
QpSolution expect_solution(const QpProblem& p, const Eigen::VectorXd& x_ref) {
  const QpSolution sol = solve_or_fail(p);
  EXPECT_TRUE(close(sol.x, x_ref, 1e-9));
  expect_kkt(p, sol, 1e-9);
  return sol;
}

QpProblem base_problem(std::mt19937_64& rng, int n, int n_eq, int n_ineq) {
  problems::RandomQpShape s;
  s.n = n, s.n_eq = n_eq, s.n_ineq = n_ineq;
  return problems::random_feasible_qp(rng, s);
}

TEST(QpDegenerate, DuplicatedConstraintsGiveTheSameSolution) {
  std::mt19937_64 rng(6);
  for (int trial = 0; trial < 20; ++trial) {
    const QpProblem p = base_problem(rng, 12, 3, 20);
    const QpSolution ref = solve_or_fail(p);
    // Every row of C twice, and every finite bound again as a row of C.
    QpProblem d(12, 3, 40 + 12);
    d.H = p.H, d.g = p.g, d.A_eq = p.A_eq, d.b_eq = p.b_eq, d.lb = p.lb, d.ub = p.ub;
    d.C << p.C, p.C, Eigen::MatrixXd::Identity(12, 12);
    d.l << p.l, p.l, p.lb;
    d.u << p.u, p.u, p.ub;
    expect_solution(d, ref.x);
  }
}

TEST(QpDegenerate, RedundantConsistentEqualities) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    const QpProblem p = base_problem(rng, 10, 3, 15);
    const QpSolution ref = solve_or_fail(p);
    QpProblem d = p;
    d.A_eq.conservativeResize(6, Eigen::NoChange);
    d.b_eq.conservativeResize(6);
    d.A_eq.row(3) = p.A_eq.row(0) + 2.0 * p.A_eq.row(1);  // combinations of the first three
    d.b_eq[3] = p.b_eq[0] + 2.0 * p.b_eq[1];
    d.A_eq.row(4) = -3.0 * p.A_eq.row(2);
    d.b_eq[4] = -3.0 * p.b_eq[2];
    d.A_eq.row(5) = p.A_eq.row(0);  // an exact duplicate
    d.b_eq[5] = p.b_eq[0];
    expect_solution(d, ref.x);
  }
}

TEST(QpDegenerate, LinearlyDependentActiveConstraintsAtTheSolution) {
  // x* is chosen, and more constraints than n pass through it (rows of C and bounds); g is set so that x*
  // is optimal with positive multipliers on some of them. The active normals are linearly dependent.
  std::mt19937_64 rng(8);
  for (int trial = 0; trial < 30; ++trial) {
    const int n = 4 + trial % 5, m = 2 * n;
    QpProblem p(n, 1, m);
    const Eigen::MatrixXd M = problems::gaussian(rng, n, n);
    p.H = M * M.transpose() / n + 0.3 * Eigen::MatrixXd::Identity(n, n);
    const Eigen::VectorXd x_star = problems::gaussian(rng, n, 1);
    p.A_eq = problems::gaussian(rng, 1, n);
    p.b_eq = p.A_eq * x_star;
    p.C = problems::gaussian(rng, m, n);
    p.l = p.C * x_star;  // every row active at x* from below…
    p.u.setConstant(kInf);
    p.C.row(m - 1) = p.C.row(0) + p.C.row(1);  // …including one that is the sum of two others
    p.l[m - 1] = p.l[0] + p.l[1];
    p.lb = x_star;
    p.lb[0] -= 1.0;  // and n-1 bounds through x*
    Eigen::VectorXd grad = -p.H * x_star;  // g = -H x* + Σ λ c_i with λ ≥ 0 (some zero)
    for (int i = 0; i < m; i += 2) grad += problems::uniform(rng, 0.1, 2.0) * p.C.row(i).transpose();
    for (int i = 1; i < n; i += 2) grad[i] += problems::uniform(rng, 0.1, 2.0);
    grad += 0.7 * p.A_eq.row(0).transpose();
    p.g = grad;
    expect_solution(p, x_star);
  }
}

TEST(QpDegenerate, EqualSidesActLikeAnEquality) {
  std::mt19937_64 rng(9);
  for (int trial = 0; trial < 20; ++trial) {
    QpProblem p = base_problem(rng, 9, 2, 12);
    // Rows 0 and 1 of C with l == u, and bound 2 with lb == ub…
    const Eigen::VectorXd x_f = p.A_eq.fullPivLu().solve(p.b_eq);
    p.l[0] = p.u[0] = p.C.row(0).dot(x_f);
    p.l[1] = p.u[1] = p.C.row(1).dot(x_f) + 0.5;
    p.lb[2] = p.ub[2] = x_f[2];
    // …against the same three as rows of A_eq.
    QpProblem e = p;
    e.A_eq.conservativeResize(5, Eigen::NoChange);
    e.b_eq.conservativeResize(5);
    e.A_eq.row(2) = p.C.row(0), e.b_eq[2] = p.l[0];
    e.A_eq.row(3) = p.C.row(1), e.b_eq[3] = p.l[1];
    e.A_eq.row(4) = Eigen::RowVectorXd::Unit(9, 2), e.b_eq[4] = p.lb[2];
    e.l[0] = e.l[1] = -kInf, e.u[0] = e.u[1] = kInf;
    e.lb[2] = -kInf, e.ub[2] = kInf;
    QpSolver solver(9, 2, 12);
    const QpStatus status = solver.solve(p);
    if (status == QpStatus::kInfeasible) {  // the random sides may not admit the fixed values
      EXPECT_EQ(solve_or_fail(e, QpStatus::kInfeasible).status, QpStatus::kInfeasible);
      continue;
    }
    ASSERT_EQ(status, QpStatus::kOptimal);
    const QpSolution ref = solve_or_fail(e);
    const QpSolution& sol = solver.solution();
    EXPECT_TRUE(close(sol.x, ref.x, 1e-9));
    EXPECT_NEAR(sol.y_ineq[0], ref.y_eq[2], 1e-8 * (1 + std::abs(ref.y_eq[2])));
    EXPECT_NEAR(sol.y_ineq[1], ref.y_eq[3], 1e-8 * (1 + std::abs(ref.y_eq[3])));
    EXPECT_NEAR(sol.y_bound[2], ref.y_eq[4], 1e-8 * (1 + std::abs(ref.y_eq[4])));
    EXPECT_EQ(solver.active_set().ineq[0], ActiveSide::kEquality);
    EXPECT_EQ(solver.active_set().bounds[2], ActiveSide::kEquality);
    expect_kkt(p, sol, 1e-9);
  }
}

TEST(QpDegenerate, ZeroRowsAndEmptyProblems) {
  QpProblem p(2, 1, 2);
  p.H.setIdentity();
  p.g << 1.0, -1.0;
  p.A_eq.setZero();  // 0ᵀx = 0: consistent, linearly dependent on nothing
  p.b_eq[0] = 0.0;
  p.C.row(0).setZero();  // -1 ≤ 0 ≤ 1
  p.l[0] = -1.0, p.u[0] = 1.0;
  p.C.row(1) << 1.0, 0.0;
  p.l[1] = -0.5;
  const QpSolution sol = solve_or_fail(p);
  EXPECT_NEAR(sol.x[0], -0.5, 1e-15);
  EXPECT_NEAR(sol.x[1], 1.0, 1e-15);

  QpSolver empty;
  EXPECT_EQ(empty.solve(QpProblem(0, 0, 0)), QpStatus::kOptimal);
  EXPECT_EQ(empty.solution().objective, 0.0);
}

// ---------------------------------------------------------------------------------------------------
// (5) Infeasible problems: reported, quickly.

void expect_infeasible(const QpProblem& p) {
  QpSolver solver(int(p.g.size()), int(p.b_eq.size()), int(p.C.rows()));
  EXPECT_EQ(solver.solve(p), QpStatus::kInfeasible);
  EXPECT_LT(solver.solution().iterations, 10 * (p.g.size() + p.C.rows()) + 10);
}

TEST(QpInfeasible, ContradictoryData) {
  QpProblem p(2, 0, 1);
  p.H.setIdentity();
  p.lb << 0.0, 1.0;
  p.ub << 1.0, 0.5;  // lb > ub
  expect_infeasible(p);
  p.ub[1] = 2.0;
  p.C << 1.0, 1.0;
  p.l[0] = 3.0, p.u[0] = 2.0;  // l > u
  expect_infeasible(p);
  p.l[0] = kInf, p.u[0] = kInf;  // a lower side of +∞
  expect_infeasible(p);
}

TEST(QpInfeasible, InconsistentEqualities) {
  QpProblem p(3, 2, 0);
  p.H.setIdentity();
  p.A_eq << 1.0, 1.0, 0.0, 2.0, 2.0, 0.0;
  p.b_eq << 1.0, 3.0;
  expect_infeasible(p);
  QpProblem zero(2, 1, 0);  // 0ᵀx = 1
  zero.H.setIdentity();
  zero.b_eq[0] = 1.0;
  expect_infeasible(zero);
}

TEST(QpInfeasible, FoundWhileIterating) {
  QpProblem p(2, 1, 0);  // x0 + x1 = 5 in the unit box
  p.H.setIdentity();
  p.A_eq << 1.0, 1.0;
  p.b_eq << 5.0;
  p.lb.setZero();
  p.ub.setOnes();
  expect_infeasible(p);

  QpProblem q(2, 0, 3);  // x0 + x1 ≥ 3, x0 ≤ 1, x1 ≤ 1 as rows of C
  q.H.setIdentity();
  q.C << 1.0, 1.0, 1.0, 0.0, 0.0, 1.0;
  q.l << 3.0, -kInf, -kInf;
  q.u << kInf, 1.0, 1.0;
  expect_infeasible(q);

  QpProblem z(2, 0, 1);  // 0ᵀx ≥ 1
  z.H.setIdentity();
  z.l[0] = 1.0;
  expect_infeasible(z);
}

TEST(QpInfeasible, RandomProblemsWithAContradictionPair) {
  std::mt19937_64 rng(10);
  for (int trial = 0; trial < 40; ++trial) {
    QpProblem p = base_problem(rng, 5 + trial % 20, trial % 4, 10 + trial % 7);
    // Two rows c and -c with cᵀx ≥ 1 and -cᵀx ≥ 0: no x satisfies both.
    const int m = int(p.C.rows());
    p.C.row(m - 2) = p.C.row(0);
    p.C.row(m - 1) = -p.C.row(0);
    p.l[m - 2] = 1.0, p.u[m - 2] = kInf;
    p.l[m - 1] = 0.0, p.u[m - 1] = kInf;
    expect_infeasible(p);
  }
}

// ---------------------------------------------------------------------------------------------------
// (6) Invalid input.

TEST(QpInvalidInput, NanInfAndShapes) {
  std::mt19937_64 rng(11);
  const QpProblem p = base_problem(rng, 6, 2, 5);
  QpSolver solver(6, 2, 5);
  ASSERT_EQ(solver.solve(p), QpStatus::kOptimal);
  auto expect_invalid = [&](const QpProblem& bad) {
    EXPECT_EQ(solver.solve(bad), QpStatus::kInvalidInput);
    EXPECT_EQ(solver.solution().status, QpStatus::kInvalidInput);
    EXPECT_TRUE(solver.solution().x.isZero());
    EXPECT_TRUE(std::isnan(solver.solution().objective));
  };
  for (double bad_value : {kNaN, kInf}) {
    QpProblem b = p;
    b.H(1, 2) = b.H(2, 1) = bad_value;
    expect_invalid(b);
    b = p, b.g[0] = bad_value, expect_invalid(b);
    b = p, b.A_eq(1, 3) = bad_value, expect_invalid(b);
    b = p, b.b_eq[1] = bad_value, expect_invalid(b);
    b = p, b.C(4, 5) = bad_value, expect_invalid(b);
  }
  QpProblem b = p;
  b.l[2] = kNaN, expect_invalid(b);
  b = p, b.u[0] = kNaN, expect_invalid(b);
  b = p, b.lb[1] = kNaN, expect_invalid(b);
  b = p, b.ub[5] = kNaN, expect_invalid(b);
  // Shapes.
  b = p, b.g.resize(5), expect_invalid(b);
  b = p, b.H.resize(6, 5), expect_invalid(b);
  b = p, b.C.resize(5, 4), expect_invalid(b);
  b = p, b.l.resize(4), expect_invalid(b);
  b = p, b.A_eq.resize(3, 6), expect_invalid(b);
  b = p, b.lb.resize(2), expect_invalid(b);
  QpSolver other(7, 2, 5);
  EXPECT_EQ(other.solve(p), QpStatus::kInvalidInput);
  // H not symmetric, not positive definite.
  b = p, b.H(0, 1) += 1e-3, expect_invalid(b);
  b = p, b.H(0, 0) = -1.0, expect_invalid(b);
  // Bad settings.
  solver.settings().feasibility_tolerance = -1.0;
  EXPECT_EQ(solver.solve(p), QpStatus::kInvalidInput);
  solver.settings() = QpSettings{};
  // Empty side vectors mean "no side".
  b = p, b.lb.resize(0), b.ub.resize(0), b.l.resize(0);
  EXPECT_EQ(solver.solve(b), QpStatus::kOptimal);
  // After invalid input the solver still solves the good problem.
  EXPECT_EQ(solver.solve(p, true), QpStatus::kOptimal);
}

TEST(QpInvalidInput, SemidefiniteHessianNeedsRegularization) {
  QpProblem p(3, 0, 0);
  p.H << 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0;  // singular
  p.g << -1.0, -1.0, 0.0;
  p.lb.setConstant(-2.0);
  p.ub.setConstant(2.0);
  QpSolver solver(3, 0, 0);
  EXPECT_EQ(solver.solve(p), QpStatus::kInvalidInput);
  solver.settings().regularization = 1e-8;
  ASSERT_EQ(solver.solve(p), QpStatus::kOptimal);
  EXPECT_NEAR(solver.solution().x[0], 1.0, 1e-7);
  EXPECT_NEAR(solver.solution().x[1], 1.0, 1e-7);
  EXPECT_NEAR(solver.solution().x[2], 0.0, 1e-7);
  EXPECT_NEAR(solver.solution().objective, -1.0, 1e-7);
}

// ---------------------------------------------------------------------------------------------------
// (7) Warm start.

TEST(QpWarmStart, SameSolutionWithNoMoreIterations) {
  std::mt19937_64 rng(12);
  QpSolver cold(47, 18, 51), warm(47, 18, 51);
  int cold_total = 0, warm_total = 0;
  for (int traj = 0; traj < 4; ++traj) {
    QpProblem p = problems::wbc_like_qp(rng);
    ASSERT_EQ(warm.solve(p), QpStatus::kOptimal);
    for (int tick = 0; tick < 25; ++tick) {
      p = problems::perturbed(rng, p, 0.005);
      ASSERT_EQ(cold.solve(p), QpStatus::kOptimal);
      ASSERT_EQ(warm.solve(p, true), QpStatus::kOptimal);
      const QpSolution &c = cold.solution(), &w = warm.solution();
      EXPECT_LE((c.x - w.x).cwiseAbs().maxCoeff(), 1e-8 * (1 + c.x.cwiseAbs().maxCoeff()));
      EXPECT_LE(w.iterations, c.iterations);
      cold_total += c.iterations, warm_total += w.iterations;
      expect_kkt(p, w, 1e-9);
    }
  }
  EXPECT_LT(warm_total * 5, cold_total);  // far fewer, not just fewer
  RecordProperty("cold_iterations", cold_total);
  RecordProperty("warm_iterations", warm_total);
}

TEST(QpWarmStart, ResolvingTheSameProblemTakesNoIteration) {
  std::mt19937_64 rng(13);
  const QpProblem p = base_problem(rng, 20, 4, 30);
  QpSolver solver(20, 4, 30);
  ASSERT_EQ(solver.solve(p), QpStatus::kOptimal);
  const Eigen::VectorXd x = solver.solution().x;
  ASSERT_EQ(solver.solve(p, true), QpStatus::kOptimal);
  EXPECT_EQ(solver.solution().iterations, 0);
  EXPECT_TRUE(close(solver.solution().x, x, 1e-12));
}

TEST(QpWarmStart, AnyGuessStillGivesTheSolution) {
  std::mt19937_64 rng(14);
  for (int trial = 0; trial < 30; ++trial) {
    const QpProblem p = base_problem(rng, 8 + trial, 2, 16 + 2 * trial);
    const QpSolution ref = solve_or_fail(p);
    QpSolver solver(8 + trial, 2, 16 + 2 * trial);
    ActiveSet guess;  // a wrong guess: every finite side of alternate rows and bounds
    for (int i = 0; i < p.C.rows(); ++i)
      guess.ineq.push_back(i % 2 ? ActiveSide::kInactive : std::isfinite(p.l[i]) ? ActiveSide::kLower : ActiveSide::kUpper);
    for (int i = 0; i < p.g.size(); ++i) guess.bounds.push_back(i % 3 ? ActiveSide::kUpper : ActiveSide::kLower);
    ASSERT_TRUE(solver.set_active_set(guess));
    ASSERT_EQ(solver.solve(p, true), QpStatus::kOptimal);
    EXPECT_TRUE(close(solver.solution().x, ref.x, 1e-8));
    expect_kkt(p, solver.solution(), 1e-9);
  }
  QpSolver solver(3, 0, 2);
  EXPECT_FALSE(solver.set_active_set(ActiveSet{{ActiveSide::kLower}, {}}));
}

// ---------------------------------------------------------------------------------------------------
// Sizes and limits.

TEST(QpSolverSizes, ResizeAndIterationLimit) {
  std::mt19937_64 rng(15);
  QpSolver solver;
  EXPECT_EQ(solver.n(), 0);
  for (int n : {3, 30, 10}) {
    const QpProblem p = base_problem(rng, n, 1, 2 * n);
    solver.resize(n, 1, 2 * n);
    ASSERT_EQ(solver.solve(p), QpStatus::kOptimal);
    expect_kkt(p, solver.solution(), 1e-9);
    EXPECT_EQ(solver.solution().x.size(), n);
    EXPECT_EQ(solver.solution().y_ineq.size(), 2 * n);
  }
  const QpProblem p = base_problem(rng, 10, 1, 20);
  QpSolver limited(10, 1, 20);
  ASSERT_EQ(limited.solve(p), QpStatus::kOptimal);
  const int needed = limited.solution().iterations;
  ASSERT_GE(needed, 2);
  limited.settings().max_iterations = needed - 1;
  EXPECT_EQ(limited.solve(p), QpStatus::kMaxIterations);
  EXPECT_EQ(limited.solution().iterations, needed - 1);
  EXPECT_STREQ(to_string(QpStatus::kMaxIterations), "max_iterations");
}

}  // namespace
}  // namespace oh::qp
