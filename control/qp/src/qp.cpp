// Goldfarb–Idnani dual active-set QP solver; see control/qp/qp.hpp for the problem, the conventions and
// the reference [GI] (Goldfarb & Idnani, Math. Programming 27 (1983) 1–33).
//
// Notation of [GI]'s numerically stable implementation: H = L Lᵀ; N (n×q) holds the normals of the q active constraints, written
// nᵀx ≥ b; L⁻¹N = Q [R; 0] with Q orthogonal and R upper triangular; J = L⁻ᵀQ = [J₁ J₂] split after
// column q. Then JᵀHJ = I, JᵀN = [R; 0], and for a new normal n⁺ with d = Jᵀn⁺ = [d₁; d₂]:
//   z = J₂ d₂      the primal step direction, which keeps the active constraints satisfied,
//   r = R⁻¹ d₁     the rate at which the active multipliers decrease (the negative dual direction),
//   zᵀn⁺ = ‖d₂‖²   the rate at which the slack of n⁺ grows.
//
// Deviations from the letter of [GI], all exact rearrangements:
//   * The equality rows are factorised first by Givens rotations alone, and x is then set to the
//     equality-constrained minimiser in closed form (solve_on_face), instead of one full step per row.
//     A warm start does the same with the previous active set.
//   * Multipliers are tracked only for the droppable (inequality) constraints; the back-substitution
//     for r stops at them. All multipliers are recomputed in closed form at the end.
//   * Each two-sided row l ≤ cᵀx ≤ u is two sides (c, l) and (-c, -u) of which at most one is active;
//     a bound is a side with normal ±eᵢ, for which d = ±(row i of J) costs O(n) instead of O(n²).
#include "control/qp/qp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace oh::qp {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Entry i of an optional side vector; an empty vector means "no side" (the given infinity).
double side_or(const Eigen::VectorXd& v, Eigen::Index i, double none) { return v.size() ? v[i] : none; }

// An optional side vector is either empty or of size `size`, and holds no NaN.
bool side_ok(const Eigen::VectorXd& v, Eigen::Index size) {
  return (v.size() == 0 || v.size() == size) && !v.hasNaN();
}

// No NaN or ±∞ in m: x - x is 0 for finite x and NaN otherwise, and a sum of them vectorises.
bool finite(const Eigen::MatrixXd& m) { return m.size() == 0 || (m.array() - m.array()).sum() == 0.0; }
bool finite(const Eigen::VectorXd& v) { return v.size() == 0 || (v.array() - v.array()).sum() == 0.0; }

bool finite_nonneg(double v) { return std::isfinite(v) && v >= 0.0; }

// The rotation kernels work on 8 rows at a time (four SSE2 registers), kept in registers along a whole
// chain of rotations in adjacent planes, so that each entry is loaded and stored once per chain. The
// matrices they rotate have a leading dimension that is a multiple of kRowBlock, padded with zero rows.
constexpr Eigen::Index kRowBlock = 8;
using RowPack = Eigen::Array<double, kRowBlock, 1>;

Eigen::Index padded_rows(Eigen::Index n) { return (n + kRowBlock - 1) / kRowBlock * kRowBlock; }

// Rotations in the planes (j-1, j) for j = hi, hi-1, …, lo+1, in that order, applied to the columns of the
// column-major matrix a (leading dimension ld, rows a multiple of kRowBlock):
//   [col(j-1) col(j)] ← [col(j-1) col(j)] · [c_j -s_j; s_j c_j].
void rotate_chain_down(double* a, Eigen::Index ld, Eigen::Index rows, int lo, int hi, const double* c,
                       const double* s) {
  for (Eigen::Index i = 0; i < rows; i += kRowBlock) {
    double* base = a + i;
    RowPack carry = Eigen::Map<const RowPack>(base + hi * ld);  // column j as rotated so far
    for (int j = hi; j > lo; --j) {
      const RowPack prev = Eigen::Map<const RowPack>(base + (j - 1) * ld);
      Eigen::Map<RowPack>(base + j * ld) = c[j] * carry - s[j] * prev;
      carry = c[j] * prev + s[j] * carry;
    }
    Eigen::Map<RowPack>(base + lo * ld) = carry;
  }
}

// Rotations in the planes (k, k+1) for k = lo, lo+1, …, hi-1, in that order:
//   [col(k) col(k+1)] ← [col(k) col(k+1)] · [c_k -s_k; s_k c_k].
void rotate_chain_up(double* a, Eigen::Index ld, Eigen::Index rows, int lo, int hi, const double* c,
                     const double* s) {
  for (Eigen::Index i = 0; i < rows; i += kRowBlock) {
    double* base = a + i;
    RowPack carry = Eigen::Map<const RowPack>(base + lo * ld);  // column k as rotated so far
    for (int k = lo; k < hi; ++k) {
      const RowPack next = Eigen::Map<const RowPack>(base + (k + 1) * ld);
      Eigen::Map<RowPack>(base + k * ld) = c[k] * carry + s[k] * next;
      carry = c[k] * next - s[k] * carry;
    }
    Eigen::Map<RowPack>(base + hi * ld) = carry;
  }
}

// A Givens rotation [c s; -s c] that maps (a, b) to (r, 0), r = √(a² + b²) ≥ 0, without overflow.
double givens(double a, double b, double* c, double* s) {
  const double scale = std::max(std::abs(a), std::abs(b));
  if (scale == 0.0) {
    *c = 1.0, *s = 0.0;
    return 0.0;
  }
  const double as = a / scale, bs = b / scale;
  const double r = std::sqrt(as * as + bs * bs);
  *c = as / r, *s = bs / r;
  return r * scale;
}

}  // namespace

const char* to_string(QpStatus status) {
  switch (status) {
    case QpStatus::kOptimal: return "optimal";
    case QpStatus::kInfeasible: return "infeasible";
    case QpStatus::kMaxIterations: return "max_iterations";
    case QpStatus::kInvalidInput: return "invalid_input";
  }
  return "unknown";
}

QpProblem::QpProblem(int n, int n_eq, int n_ineq) { resize(n, n_eq, n_ineq); }

void QpProblem::resize(int n, int n_eq, int n_ineq) {
  n = std::max(n, 0);
  n_eq = std::max(n_eq, 0);
  n_ineq = std::max(n_ineq, 0);
  H.setZero(n, n);
  g.setZero(n);
  A_eq.setZero(n_eq, n);
  b_eq.setZero(n_eq);
  C.setZero(n_ineq, n);
  l.setConstant(n_ineq, -kInf);
  u.setConstant(n_ineq, kInf);
  lb.setConstant(n, -kInf);
  ub.setConstant(n, kInf);
}

double KktResiduals::max() const {
  return std::max({stationarity, primal_eq, primal_ineq, dual, complementarity});
}

KktResiduals kkt_residuals(const QpProblem& p, const QpSolution& s) {
  const Eigen::Index n = s.x.size(), n_eq = s.y_eq.size(), m = s.y_ineq.size();
  KktResiduals k;
  if (p.H.rows() != n || p.H.cols() != n || p.g.size() != n || p.A_eq.rows() != n_eq ||
      (n_eq && p.A_eq.cols() != n) || p.b_eq.size() != n_eq || p.C.rows() != m || (m && p.C.cols() != n) ||
      !side_ok(p.l, m) || !side_ok(p.u, m) || !side_ok(p.lb, n) || !side_ok(p.ub, n) ||
      s.y_bound.size() != n) {
    k.stationarity = k.primal_eq = k.primal_ineq = k.dual = k.complementarity = kInf;
    return k;
  }
  Eigen::VectorXd grad = p.H * s.x + p.g + s.y_bound;
  if (n_eq) grad += p.A_eq.transpose() * s.y_eq;
  if (m) grad += p.C.transpose() * s.y_ineq;
  k.stationarity = n ? grad.lpNorm<Eigen::Infinity>() : 0.0;
  if (n_eq) k.primal_eq = (p.A_eq * s.x - p.b_eq).lpNorm<Eigen::Infinity>();

  // One two-sided constraint lo ≤ v ≤ hi with multiplier y (y > 0 acts on hi, y < 0 on lo).
  auto side = [&k](double v, double lo, double hi, double y) {
    k.primal_ineq = std::max({k.primal_ineq, lo - v, v - hi});
    if (y > 0.0) {
      if (hi == kInf) k.dual = std::max(k.dual, y);
      else k.complementarity = std::max(k.complementarity, y * std::abs(hi - v));
    } else if (y < 0.0) {
      if (lo == -kInf) k.dual = std::max(k.dual, -y);
      else k.complementarity = std::max(k.complementarity, -y * std::abs(v - lo));
    }
  };
  if (m) {
    const Eigen::VectorXd cx = p.C * s.x;
    for (Eigen::Index i = 0; i < m; ++i) side(cx[i], side_or(p.l, i, -kInf), side_or(p.u, i, kInf), s.y_ineq[i]);
  }
  for (Eigen::Index i = 0; i < n; ++i) side(s.x[i], side_or(p.lb, i, -kInf), side_or(p.ub, i, kInf), s.y_bound[i]);
  return k;
}

// ------------------------------------------------------------------------------------------------------
// Setup

QpSolver::QpSolver(int n, int n_eq, int n_ineq, const QpSettings& settings) : settings_(settings) {
  n_ = -1;  // force the allocation in resize()
  resize(n, n_eq, n_ineq);
}

void QpSolver::resize(int n, int n_eq, int n_ineq) {
  n = std::max(n, 0);
  n_eq = std::max(n_eq, 0);
  n_ineq = std::max(n_ineq, 0);
  if (n == n_ && n_eq == n_eq_ && n_ineq == m_) return;
  n_ = n;
  n_eq_ = n_eq;
  m_ = n_ineq;
  llt_ = Eigen::LLT<Eigen::MatrixXd>(n);
  H_reg_.setZero(n, n);
  J_.setZero(padded_rows(n), n);
  rot_c_.setZero(n);
  rot_s_.setZero(n);
  tmp_.setZero(n);
  R_.setZero(n, n);
  q_ = n_fixed_ = 0;
  active_id_.assign(n, -1);
  active_sign_.assign(n, 1);
  active_b_.setZero(n);
  u_.setZero(n);
  for (Eigen::VectorXd* v : {&x_, &d_, &z_, &r_, &np_, &w_}) v->setZero(n);
  cx_.setZero(n_ineq);
  norm_.setZero(n_eq + n_ineq + n);
  for (Eigen::VectorXd* v : {&lo_, &hi_, &tol_lo_, &tol_hi_, &inv_norm_}) v->setZero(n_ineq + n);
  active_.ineq.assign(n_ineq, ActiveSide::kInactive);
  active_.bounds.assign(n, ActiveSide::kInactive);
  warm_ = active_;
  solution_.status = QpStatus::kInvalidInput;
  solution_.x.setZero(n);
  solution_.y_eq.setZero(n_eq);
  solution_.y_ineq.setZero(n_ineq);
  solution_.y_bound.setZero(n);
  solution_.objective = kNaN;
  solution_.iterations = solution_.n_active = 0;
}

bool QpSolver::set_active_set(const ActiveSet& active) {
  if (active.ineq.size() != active_.ineq.size() || active.bounds.size() != active_.bounds.size()) return false;
  std::copy(active.ineq.begin(), active.ineq.end(), active_.ineq.begin());
  std::copy(active.bounds.begin(), active.bounds.end(), active_.bounds.begin());
  return true;
}

void QpSolver::clear_active_set() {
  std::fill(active_.ineq.begin(), active_.ineq.end(), ActiveSide::kInactive);
  std::fill(active_.bounds.begin(), active_.bounds.end(), ActiveSide::kInactive);
}

// Sizes, finiteness, symmetry and settings: kInvalidInput; otherwise kOptimal (meaning "go on").
QpStatus QpSolver::check_input(const QpProblem& p) {
  const Eigen::Index n = n_, m = m_, n_eq = n_eq_;
  const QpSettings& s = settings_;
  if (p.H.rows() != n || p.H.cols() != n || p.g.size() != n || p.A_eq.rows() != n_eq ||
      (n_eq && p.A_eq.cols() != n) || p.b_eq.size() != n_eq || p.C.rows() != m || (m && p.C.cols() != n) ||
      !side_ok(p.l, m) || !side_ok(p.u, m) || !side_ok(p.lb, n) || !side_ok(p.ub, n))
    return QpStatus::kInvalidInput;
  if (!finite(p.H) || !finite(p.g) || !finite(p.A_eq) || !finite(p.b_eq) || !finite(p.C))
    return QpStatus::kInvalidInput;
  if (s.max_iterations < 0 || !finite_nonneg(s.feasibility_tolerance) ||
      !finite_nonneg(s.dependency_tolerance) || !finite_nonneg(s.regularization) ||
      !finite_nonneg(s.symmetry_tolerance))
    return QpStatus::kInvalidInput;
  double asym = 0.0;
  for (Eigen::Index j = 0; j < n; ++j)
    for (Eigen::Index i = j + 1; i < n; ++i) asym = std::max(asym, std::abs(p.H(i, j) - p.H(j, i)));
  const double h_max = n ? p.H.cwiseAbs().maxCoeff() : 0.0;
  if (asym > s.symmetry_tolerance * std::max(1.0, h_max)) return QpStatus::kInvalidInput;
  return QpStatus::kOptimal;
}

// [GI] step 0: H = L Lᵀ and J = L⁻ᵀ (Q = I, no active constraint). False if H (+ εI) is not positive
// definite: a non-positive pivot, or a squared pivot below n·ε_machine times the largest (numerically
// singular).
bool QpSolver::factorize(const QpProblem& p) {
  const int n = n_;
  if (settings_.regularization > 0.0) {
    H_reg_ = p.H;
    H_reg_.diagonal().array() += settings_.regularization;
    llt_.compute(H_reg_);
  } else {
    llt_.compute(p.H);
  }
  if (llt_.info() != Eigen::Success) return false;
  const Eigen::MatrixXd& L = llt_.matrixLLT();
  if (n) {
    const double pivot_min = L.diagonal().minCoeff();
    const double pivot_max2 = L.diagonal().cwiseAbs2().maxCoeff();
    if (!(pivot_min * pivot_min > n * std::numeric_limits<double>::epsilon() * pivot_max2)) return false;
  }
  // J = L⁻ᵀ = U⁻¹ with U = Lᵀ, by back-substitution on UJ = I one row at a time from the bottom: row i of J
  // is (e_iᵀ - U(i, i+1:n) J(i+1:n, :)) / U_ii, where U(i, i+1:n) = L(i+1:n, i)ᵀ is a contiguous column
  // piece of L and J(i+1:n, i+1:n) is upper triangular (a triangular matrix-vector product).
  J_.setZero();
  for (int i = n - 1; i >= 0; --i) {
    const int k = n - i - 1;
    J_(i, i) = 1.0 / L(i, i);
    if (k == 0) continue;
    auto w = w_.head(k);
    w.noalias() = J_.block(i + 1, i + 1, k, k).triangularView<Eigen::Upper>().transpose() * L.col(i).tail(k);
    J_.row(i).tail(k) = -J_(i, i) * w.transpose();
  }
  j_norm_ = J_.norm();
  return true;
}

// ------------------------------------------------------------------------------------------------------
// Constraint sides

// The bound b of the side written nᵀx ≥ b (see the index convention in qp.hpp).
double QpSolver::side_bound(const QpProblem& p, int id, int sign) const {
  if (id < n_eq_) return p.b_eq[id];
  return sign > 0 ? lo_[id - n_eq_] : -hi_[id - n_eq_];
}

// np_ = the side's normal n = σ·(row of A_eq or C). Bounds use no np_.
void QpSolver::load_normal(const QpProblem& p, int id, int sign) {
  if (id < n_eq_) np_ = p.A_eq.row(id).transpose();
  else if (id < n_eq_ + m_) np_ = double(sign) * p.C.row(id - n_eq_).transpose();
}

// nᵀx - b for the current x (np_ loaded for rows).
double QpSolver::slack(int id, int sign, double b) const {
  if (id < n_eq_ + m_) return np_.dot(x_) - b;
  return sign * x_[id - n_eq_ - m_] - b;
}

// [GI] step 2(a)'s d = Jᵀn for the side's normal (np_ loaded for rows).
void QpSolver::compute_d(int id, int sign) {
  if (id < n_eq_ + m_) d_.noalias() = J_.topRows(n_).transpose() * np_;
  else d_ = double(sign) * J_.row(id - n_eq_ - m_).transpose();
}

// n ∈ span(active normals) ⇔ z = J₂d₂ = 0 ⇔ d₂ = 0 (J₂ has full column rank).
bool QpSolver::is_dependent(int id) const {
  const double limit = settings_.dependency_tolerance * norm_[id] * j_norm_;
  return d_.tail(n_ - q_).squaredNorm() <= limit * limit;
}

void QpSolver::set_side(int id, ActiveSide side) {
  if (id < n_eq_) return;
  if (id < n_eq_ + m_) active_.ineq[id - n_eq_] = side;
  else active_.bounds[id - n_eq_ - m_] = side;
}

// [GI]'s update for adding a constraint, with d = Jᵀn⁺ already computed: Givens rotations Q̄ in the planes
// (j-1, j), j = n-1 … q+1, reduce d₂ to ‖d₂‖e₁; J ← J Q̄ (only J₂'s columns change) and the new column of R
// is [d₁; ‖d₂‖]. The rotation in plane (j-1, j) meets (d_{j-1}, ‖d_{j:n}‖) and leaves ‖d_{j-1:n}‖, so all
// of them follow from the suffix norms of d, which keeps the square roots off the critical path.
void QpSolver::append(int id, int sign, double b, double multiplier, ActiveSide side) {
  const int n = n_, q = q_;
  if (q + 1 < n) {
    // With t_j = ‖d_{j:n}‖, the rotation in plane (j-1, j) meets (d_{j-1}, t_j) — at j = n-1, d_{n-1} with
    // its sign — and leaves (t_{j-1}, 0): c_j = d_{j-1}/t_{j-1}, s_j = t_j/t_{j-1}. Only the suffix sums
    // are sequential; roots and quotients are vectorised. d is scaled by 1/max|d_j| against overflow.
    const int k = n - q - 1;  // rotations, in the planes (j-1, j) for j = q+1 … n-1
    double scale = d_.tail(n - q).cwiseAbs().maxCoeff();
    if (scale == 0.0) scale = 1.0;
    const double inv_scale = 1.0 / scale;
    double sum = 0.0;
    for (int j = n - 1; j >= q; --j) {
      const double dj = d_[j] * inv_scale;
      sum += dj * dj;
      tmp_[j] = sum;
    }
    auto t = tmp_.segment(q, k + 1).array();
    t = t.sqrt();
    auto c = rot_c_.segment(q + 1, k).array();
    auto s = rot_s_.segment(q + 1, k).array();
    c = inv_scale * d_.segment(q, k).array() / t.head(k);
    s = t.tail(k) / t.head(k);
    rot_s_[n - 1] = inv_scale * d_[n - 1] / t[k - 1];
    for (int j = n - 1; j > q && tmp_[j - 1] == 0.0; --j) rot_c_[j] = 1.0, rot_s_[j] = 0.0;  // d_{j-1:n} = 0
    rotate_chain_down(J_.data(), J_.rows(), J_.rows(), q, n - 1, rot_c_.data(), rot_s_.data());
    d_[q] = t[0] * scale;
    d_.tail(k).setZero();
  }
  R_.col(q_).head(q_ + 1) = d_.head(q_ + 1);
  active_id_[q_] = id;
  active_sign_[q_] = static_cast<signed char>(sign);
  active_b_[q_] = b;
  u_[q_] = multiplier;
  ++q_;
  set_side(id, side);
}

// [GI]'s update for dropping the active constraint at position pos: delete column pos of R, then Givens
// rotations in the planes (k, k+1), k = pos … q-2, restore R's triangular form; J's columns k, k+1 get the
// same rotations. d (= Jᵀn⁺ of the constraint being added, if any) is rotated along to stay valid.
void QpSolver::drop(int pos) {
  set_side(active_id_[pos], ActiveSide::kInactive);
  for (int k = pos; k + 1 < q_; ++k) {
    active_id_[k] = active_id_[k + 1];
    active_sign_[k] = active_sign_[k + 1];
    active_b_[k] = active_b_[k + 1];
    u_[k] = u_[k + 1];
    R_.col(k).head(k + 2) = R_.col(k + 1).head(k + 2);
  }
  --q_;
  double* c = rot_c_.data();
  double* s = rot_s_.data();
  for (int k = pos; k < q_; ++k) {
    R_(k, k) = givens(R_(k, k), R_(k + 1, k), &c[k], &s[k]);
    R_(k + 1, k) = 0.0;
    for (int col = k + 1; col < q_; ++col) {
      const double top = R_(k, col), bottom = R_(k + 1, col);
      R_(k, col) = c[k] * top + s[k] * bottom;
      R_(k + 1, col) = c[k] * bottom - s[k] * top;
    }
    const double top = d_[k], bottom = d_[k + 1];
    d_[k] = c[k] * top + s[k] * bottom;
    d_[k + 1] = c[k] * bottom - s[k] * top;
  }
  if (pos < q_) rotate_chain_up(J_.data(), J_.rows(), J_.rows(), pos, q_, c, s);
}

// ------------------------------------------------------------------------------------------------------
// Phases of solve()

// Per-side data of the solve: normal norms (‖row‖, 1 for bounds), the sides lo ≤ value ≤ hi of the
// inequality rows and bounds (±∞ where absent), and the absolute parts of the feasibility thresholds.
void QpSolver::load_sides(const QpProblem& p) {
  const double tol = settings_.feasibility_tolerance;
  if (n_eq_) norm_.head(n_eq_) = p.A_eq.rowwise().norm();
  if (m_) norm_.segment(n_eq_, m_) = p.C.rowwise().norm();
  norm_.tail(n_).setOnes();
  for (int i = 0; i < m_ + n_; ++i) {
    const bool row = i < m_;
    const int k = row ? i : i - m_;
    lo_[i] = side_or(row ? p.l : p.lb, k, -kInf);
    hi_[i] = side_or(row ? p.u : p.ub, k, kInf);
    tol_lo_[i] = tol * std::abs(lo_[i]);
    tol_hi_[i] = tol * std::abs(hi_[i]);
    const double norm = norm_[n_eq_ + i];
    inv_norm_[i] = norm > 0.0 ? 1.0 / norm : 1.0;
  }
}

// The equality rows, then rows with l == u and bounds with lb == ub, go first into the factorisation and
// are never dropped (the usual treatment of equalities in [GI]'s dual method). A linearly dependent one, n = N r with
// r = R⁻¹d₁ (as d₂ = 0), is left out, but must be consistent: b = rᵀb_N. False if one is not.
bool QpSolver::add_fixed(const QpProblem& p) {
  const double tol = settings_.feasibility_tolerance;
  bool consistent = true;
  auto add = [&](int id, double b) {
    load_normal(p, id, 1);
    compute_d(id, 1);
    if (!is_dependent(id)) {
      append(id, 1, b, 0.0, ActiveSide::kEquality);
      return;
    }
    set_side(id, ActiveSide::kEquality);
    auto r = r_.head(q_);
    r = d_.head(q_);
    R_.topLeftCorner(q_, q_).triangularView<Eigen::Upper>().solveInPlace(r);
    const double implied = r.dot(active_b_.head(q_));
    const double scale = std::abs(b) + r.cwiseProduct(active_b_.head(q_)).cwiseAbs().sum();
    if (std::abs(b - implied) > tol * std::max(scale, 1.0)) consistent = false;
  };
  for (int i = 0; i < n_eq_; ++i) add(i, p.b_eq[i]);
  for (int i = 0; i < m_ + n_; ++i)
    if (lo_[i] == hi_[i]) add(n_eq_ + i, lo_[i]);
  n_fixed_ = q_;
  return consistent;
}

// Puts the sides of warm_ (the previous active set) into the factorisation, skipping sides that are now
// infinite or fixed, and linearly dependent ones.
void QpSolver::add_warm_set(const QpProblem& p) {
  auto add = [&](int id, ActiveSide was) {
    if (was != ActiveSide::kLower && was != ActiveSide::kUpper) return;
    const bool row = id < n_eq_ + m_;
    const int i = row ? id - n_eq_ : id - n_eq_ - m_;
    const std::vector<ActiveSide>& now = row ? active_.ineq : active_.bounds;
    if (now[i] != ActiveSide::kInactive) return;  // fixed (l == u) in this problem
    const int sign = was == ActiveSide::kLower ? 1 : -1;
    const double b = side_bound(p, id, sign);
    if (!std::isfinite(b)) return;
    load_normal(p, id, sign);
    compute_d(id, sign);
    if (!is_dependent(id)) append(id, sign, b, 0.0, was);
  };
  for (int i = 0; i < m_; ++i) add(n_eq_ + i, warm_.ineq[i]);
  for (int i = 0; i < n_; ++i) add(n_eq_ + m_ + i, warm_.bounds[i]);
}

// The minimiser of the QP restricted to the active face {nₖᵀx = bₖ}, and its multipliers, from the
// factorisation: with x = J y, JᵀHJ = I and JᵀN = [R; 0] give y₁ = R⁻ᵀb, y₂ = -J₂ᵀg, and the
// stationarity H x + g = N u gives u = R⁻¹(y₁ + J₁ᵀg).
void QpSolver::solve_on_face(const QpProblem& p) {
  const int q = q_, nz = n_ - q_;
  auto y1 = w_.head(q);
  y1 = active_b_.head(q);
  R_.topLeftCorner(q, q).triangularView<Eigen::Upper>().transpose().solveInPlace(y1);
  const auto J = J_.topRows(n_);
  w_.tail(nz).noalias() = -J.rightCols(nz).transpose() * p.g;
  x_.noalias() = J * w_;
  auto u = u_.head(q);
  u = y1;
  u.noalias() += J.leftCols(q).transpose() * p.g;
  R_.topLeftCorner(q, q).triangularView<Eigen::Upper>().solveInPlace(u);
}

// Makes (x, active set) an S-pair of [GI] (x minimises on the face, multipliers u ≥ 0) by dropping the
// most negative multiplier until none is left. Returns the number of drops.
int QpSolver::drop_negative_multipliers(const QpProblem& p) {
  int drops = 0;
  for (;;) {
    solve_on_face(p);
    int worst = -1;
    double u_min = 0.0, u_max = 0.0;
    for (int k = n_fixed_; k < q_; ++k) u_max = std::max(u_max, std::abs(u_[k]));
    const double limit = -1e-12 * std::max(1.0, u_max);
    for (int k = n_fixed_; k < q_; ++k)
      if (u_[k] < std::min(u_min, limit)) {
        u_min = u_[k];
        worst = k;
      }
    if (worst < 0) break;
    drop(worst);
    ++drops;
  }
  for (int k = n_fixed_; k < q_; ++k) u_[k] = std::max(u_[k], 0.0);
  return drops;
}

// [GI] step 1: the most violated inactive side (largest violation divided by ‖c‖, i.e. the Euclidean
// distance of x from its hyperplane). False if x satisfies every side.
bool QpSolver::select_violated(int* id, int* sign, double* b) {
  const double x_scale = 1.0 + (n_ ? x_.cwiseAbs().maxCoeff() : 0.0);
  const double tol = settings_.feasibility_tolerance * x_scale;
  double best = 0.0;
  int best_i = -1, best_sign = 0;
  // Sides [first, first + count) of the inequality rows and bounds, whose values C_i x (or x_i) are v.
  auto scan = [&](int first, int count, const ActiveSide* state, const double* v) {
    const double* lo = lo_.data() + first;
    const double* hi = hi_.data() + first;
    const double* tol_lo = tol_lo_.data() + first;
    const double* tol_hi = tol_hi_.data() + first;
    const double* norm = norm_.data() + n_eq_ + first;
    const double* inv_norm = inv_norm_.data() + first;
    for (int i = 0; i < count; ++i) {
      if (state[i] != ActiveSide::kInactive) continue;
      const double e_lo = lo[i] - v[i], e_hi = v[i] - hi[i], t = tol * norm[i];
      if (e_lo > tol_lo[i] + t && e_lo * inv_norm[i] > best) {
        best = e_lo * inv_norm[i];
        best_i = first + i, best_sign = 1;
      } else if (e_hi > tol_hi[i] + t && e_hi * inv_norm[i] > best) {
        best = e_hi * inv_norm[i];
        best_i = first + i, best_sign = -1;
      }
    }
  };
  if (m_) scan(0, m_, active_.ineq.data(), cx_.data());
  scan(m_, n_, active_.bounds.data(), x_.data());
  if (best_i < 0) return false;
  *id = n_eq_ + best_i;
  *sign = best_sign;
  *b = best_sign > 0 ? lo_[best_i] : -hi_[best_i];
  return true;
}

// [GI] steps 1 and 2 from the S-pair left by the phases above.
QpStatus QpSolver::iterate(const QpProblem& p, int max_iterations) {
  const double r_tol = 1e-12;
  for (;;) {
    // Step 1: choose a violated constraint p; none: x is optimal.
    int id = -1, sign = 1;
    double b = 0.0;
    if (m_) cx_.noalias() = p.C * x_;
    if (!select_violated(&id, &sign, &b)) return QpStatus::kOptimal;
    load_normal(p, id, sign);
    compute_d(id, sign);
    const ActiveSide side = sign > 0 ? ActiveSide::kLower : ActiveSide::kUpper;
    double u_plus = 0.0;  // the multiplier of p, grown by each step
    for (;;) {
      if (solution_.iterations >= max_iterations) return QpStatus::kMaxIterations;
      ++solution_.iterations;
      // Step 2(a): z = J₂d₂ (computed below when used) and r = R⁻¹d₁, of which only the entries of the
      // droppable constraints [n_fixed, q) are needed; R being triangular, they need only R's bottom block.
      const int nf = n_fixed_, qi = q_ - n_fixed_, nz = n_ - q_;
      auto r = r_.segment(nf, qi);
      r = d_.segment(nf, qi);
      R_.block(nf, nf, qi, qi).triangularView<Eigen::Upper>().solveInPlace(r);
      // Step 2(b): partial step length t1 = min u_k / r_k over r_k > 0 (largest dual step keeping u ≥ 0),
      // k the constraint to drop; full step length t2 = -s_p(x) / zᵀn⁺ (makes p active).
      const double r_min = r_tol * (qi ? r.cwiseAbs().maxCoeff() : 0.0);
      int k = -1;
      double t1 = kInf;
      for (int j = 0; j < qi; ++j)
        if (r[j] > r_min && u_[nf + j] < t1 * r[j]) {
          t1 = u_[nf + j] / r[j];
          k = nf + j;
        }
      auto u = u_.segment(nf, qi);
      if (is_dependent(id)) {
        // Step 2(c): z = 0. No droppable constraint with r_k > 0: no x satisfies p and the active set —
        // the problem is infeasible. Otherwise a step in dual space only, then drop k.
        if (k < 0) return QpStatus::kInfeasible;
        u -= t1 * r;
        u = u.cwiseMax(0.0);
        u_plus += t1;
        drop(k);
        continue;
      }
      const double dz2 = d_.tail(nz).squaredNorm();
      const double t2 = std::max(0.0, -slack(id, sign, b) / dz2);
      const double t = std::min(t1, t2);
      // Step 2(c): take the step in primal and dual space.
      z_.noalias() = J_.topRows(n_).rightCols(nz) * d_.tail(nz);
      x_ += t * z_;
      u -= t * r;
      u = u.cwiseMax(0.0);
      u_plus += t;
      if (t2 <= t1) {  // full step: p joins the active set; back to step 1
        append(id, sign, b, u_plus, side);
        break;
      }
      drop(k);  // partial step: k leaves the active set; back to step 2(a) with the same p
    }
  }
}

// Fills solution_ from the final active set: x and the multipliers in closed form on the active face
// (exact for kOptimal, the last active set's otherwise), the objective with H as given.
void QpSolver::finish(const QpProblem& p, QpStatus status) {
  QpSolution& s = solution_;
  s.status = status;
  solve_on_face(p);
  s.x = x_;
  s.y_eq.setZero();
  s.y_ineq.setZero();
  s.y_bound.setZero();
  for (int k = 0; k < q_; ++k) {
    const int id = active_id_[k];
    const double u = k < n_fixed_ ? u_[k] : std::max(u_[k], 0.0);
    const double y = -active_sign_[k] * u;
    if (id < n_eq_) s.y_eq[id] = y;
    else if (id < n_eq_ + m_) s.y_ineq[id - n_eq_] = y;
    else s.y_bound[id - n_eq_ - m_] = y;
  }
  w_.noalias() = p.H.selfadjointView<Eigen::Lower>() * x_;
  s.objective = 0.5 * x_.dot(w_) + p.g.dot(x_);
  s.n_active = 0;
  for (ActiveSide a : active_.ineq) s.n_active += a != ActiveSide::kInactive;
  for (ActiveSide a : active_.bounds) s.n_active += a != ActiveSide::kInactive;
}

// Stopped before iterating: zero solution, NaN objective; the active set is kept for the next warm start.
void QpSolver::stop_early(QpStatus status) {
  QpSolution& s = solution_;
  s.status = status;
  s.x.setZero();
  s.y_eq.setZero();
  s.y_ineq.setZero();
  s.y_bound.setZero();
  s.objective = kNaN;
  s.n_active = 0;
}

QpStatus QpSolver::solve(const QpProblem& p, bool warm_start) {
  QpSolution& s = solution_;
  s.iterations = 0;
  QpStatus status = check_input(p);
  if (status == QpStatus::kOptimal) {
    load_sides(p);
    for (int i = 0; i < m_ + n_; ++i)  // a side no x can meet
      if (lo_[i] > hi_[i] || lo_[i] == kInf || hi_[i] == -kInf) status = QpStatus::kInfeasible;
  }
  if (status == QpStatus::kOptimal && !factorize(p)) status = QpStatus::kInvalidInput;
  if (status != QpStatus::kOptimal) {
    stop_early(status);
    return status;
  }
  if (warm_start) {
    std::copy(active_.ineq.begin(), active_.ineq.end(), warm_.ineq.begin());
    std::copy(active_.bounds.begin(), active_.bounds.end(), warm_.bounds.begin());
  }
  clear_active_set();
  q_ = n_fixed_ = 0;

  if (!add_fixed(p)) {
    finish(p, QpStatus::kInfeasible);
    return s.status;
  }
  if (warm_start) add_warm_set(p);
  const int max_iterations = settings_.max_iterations > 0 ? settings_.max_iterations
                                                          : 10 * (n_ + m_ + n_eq_) + 100;
  s.iterations = drop_negative_multipliers(p);
  finish(p, iterate(p, max_iterations));
  return s.status;
}

}  // namespace oh::qp
