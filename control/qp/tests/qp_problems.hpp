// Random QP generators shared by the QP tests and the QP benchmark (header-only; not part of oh_qp).
#pragma once

#include "control/qp/qp.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace oh::qp::problems {

inline constexpr double kInf = std::numeric_limits<double>::infinity();

/// A matrix or vector of independent standard normal entries.
inline Eigen::MatrixXd gaussian(std::mt19937_64& rng, int rows, int cols) {
  std::normal_distribution<double> normal;
  Eigen::MatrixXd m(rows, cols);
  for (Eigen::Index j = 0; j < m.cols(); ++j)
    for (Eigen::Index i = 0; i < m.rows(); ++i) m(i, j) = normal(rng);
  return m;
}

inline double uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

/// Dense random rows of A_eq and C (sizes taken from p.b_eq and p.l) through the point x_f: b_eq = A_eq x_f,
/// and the sides l, u of each row of C at random distances in [gap_lo, gap_hi] below and above C x_f.
inline void constraints_around(std::mt19937_64& rng, const Eigen::VectorXd& x_f, double gap_lo, double gap_hi,
                               QpProblem& p) {
  const int n = int(x_f.size());
  p.A_eq = gaussian(rng, int(p.b_eq.size()), n);
  p.b_eq = p.A_eq * x_f;
  p.C = gaussian(rng, int(p.l.size()), n);
  const Eigen::VectorXd cx = p.C * x_f;
  for (Eigen::Index i = 0; i < cx.size(); ++i) {
    p.l[i] = cx[i] - uniform(rng, gap_lo, gap_hi);
    p.u[i] = cx[i] + uniform(rng, gap_lo, gap_hi);
  }
}

/// Shape of random_feasible_qp()'s constraints.
struct RandomQpShape {
  int n = 10, n_eq = 2, n_ineq = 10;
  bool bounds = true;           ///< give the variables bounds (each side finite with probability 0.7)
  double one_sided = 0.25;      ///< probability that a row of C loses one of its sides (±∞)
  double fixed = 0.0;           ///< probability that a row of C has l == u
  double hessian_floor = 0.1;   ///< H = MᵀM/n + floor·I: the smallest eigenvalue is at least this
  double gradient_scale = 5.0;  ///< g ~ N(0, scale²): large values push many constraints active
};

/// A strictly convex QP that is feasible by construction: all constraints hold at a random point x_f
/// (A_eq x_f = b_eq exactly, every inequality side strictly).
inline QpProblem random_feasible_qp(std::mt19937_64& rng, const RandomQpShape& s) {
  QpProblem p(s.n, s.n_eq, s.n_ineq);
  const Eigen::MatrixXd M = gaussian(rng, s.n, s.n);
  p.H = M.transpose() * M / std::max(1, s.n);
  p.H.diagonal().array() += s.hessian_floor;
  p.H = 0.5 * (p.H + p.H.transpose()).eval();
  p.g = s.gradient_scale * gaussian(rng, s.n, 1);
  const Eigen::VectorXd x_f = gaussian(rng, s.n, 1);
  constraints_around(rng, x_f, 0.05, 2.0, p);
  for (int i = 0; i < s.n_ineq; ++i) {
    const double coin = uniform(rng, 0.0, 1.0);
    if (coin < s.fixed) p.l[i] = p.u[i] = p.C.row(i).dot(x_f);
    else if (coin < s.fixed + s.one_sided / 2) p.l[i] = -kInf;
    else if (coin < s.fixed + s.one_sided) p.u[i] = kInf;
  }
  for (int i = 0; i < s.n; ++i) {
    if (s.bounds && uniform(rng, 0.0, 1.0) < 0.7) p.lb[i] = x_f[i] - uniform(rng, 0.05, 2.0);
    if (s.bounds && uniform(rng, 0.0, 1.0) < 0.7) p.ub[i] = x_f[i] + uniform(rng, 0.05, 2.0);
  }
  return p;
}

/// A whole-body-control-sized QP (defaults: 47 variables, 18 equalities, 51 two-sided inequalities) built
/// like a WBC: H = Σ w_t J_tᵀJ_t + εI from `tasks` random 6-row task Jacobians, g = -Σ w_t J_tᵀ a_t for
/// random task targets a_t, dense random equality rows, and inequality rows whose sides lie at random
/// distances around a feasible point. target_scale sets how far the task targets pull x out of the box,
/// and so how many inequalities end up active (≈10–20 with the defaults).
struct WbcShape {
  int n = 47, n_eq = 18, n_ineq = 51;
  int tasks = 4;
  double epsilon = 1e-3;       ///< the regularisation εI of a WBC's H
  double target_scale = 1.5;
};

inline QpProblem wbc_like_qp(std::mt19937_64& rng, const WbcShape& s = {}) {
  QpProblem p(s.n, s.n_eq, s.n_ineq);
  p.H.setZero();
  p.g.setZero();
  for (int t = 0; t < s.tasks; ++t) {
    const double w = std::pow(10.0, uniform(rng, -1.0, 1.0));
    const Eigen::MatrixXd J = gaussian(rng, 6, s.n);
    const Eigen::VectorXd a = s.target_scale * gaussian(rng, 6, 1);
    p.H.noalias() += w * J.transpose() * J;
    p.g.noalias() -= w * J.transpose() * a;
  }
  p.H.diagonal().array() += s.epsilon;
  p.H = 0.5 * (p.H + p.H.transpose()).eval();
  constraints_around(rng, 0.1 * gaussian(rng, s.n, 1), 0.5, 2.0, p);
  p.lb.resize(0);  // a WBC's variable limits are rows of C here
  p.ub.resize(0);
  return p;
}

/// A slightly perturbed copy of p, as the next control tick would give: every entry of g, b_eq, l, u moves
/// by `relative`·N(0,1) of its size, and H by a congruence of the same relative size.
inline QpProblem perturbed(std::mt19937_64& rng, const QpProblem& p, double relative) {
  QpProblem q = p;
  const Eigen::Index n = p.g.size();
  auto jitter = [&](Eigen::VectorXd& v) {
    std::normal_distribution<double> normal;
    for (Eigen::Index i = 0; i < v.size(); ++i)
      if (std::isfinite(v[i])) v[i] += relative * (std::abs(v[i]) + 0.1) * normal(rng);
  };
  jitter(q.g);
  jitter(q.b_eq);
  jitter(q.l);
  jitter(q.u);
  for (Eigen::Index i = 0; i < q.l.size() && i < q.u.size(); ++i) q.u[i] = std::max(q.u[i], q.l[i]);
  // H ← Tᵀ H T with T = I + relative·E/√n near the identity: stays symmetric positive definite.
  const Eigen::MatrixXd T =
      Eigen::MatrixXd::Identity(n, n) + relative / std::sqrt(double(std::max<Eigen::Index>(n, 1))) *
                                            gaussian(rng, int(n), int(n));
  q.H = T.transpose() * p.H * T;
  q.H = 0.5 * (q.H + q.H.transpose()).eval();
  return q;
}

}  // namespace oh::qp::problems
