// OpenHumanoid dense convex QP solver: the Goldfarb–Idnani dual active-set method.
//
//   minimise    ½ xᵀ H x + gᵀ x                      x ∈ ℝⁿ
//   subject to  A_eq x = b_eq                         (n_eq rows)
//               l ≤ C x ≤ u                           (n_ineq two-sided rows; a side may be ±∞)
//               lb ≤ x ≤ ub                           (n bounds; a side may be ±∞)
//
// H must be symmetric positive definite (strictly convex problem); QpSettings::regularization turns a
// positive semidefinite H into H + εI.
//
// Source: D. Goldfarb and A. Idnani, "A numerically stable dual method for solving strictly convex
// quadratic programs", Mathematical Programming 27 (1983) 1–33, referred to below as [GI]. The solver
// keeps [GI]'s factorisation: the Cholesky factor H = L Lᵀ, the matrix J = L⁻ᵀ Q and the upper-triangular
// R of the QR factorisation L⁻¹ N = Q [R; 0] of the active constraint normals N ([GI]'s numerically stable implementation),
// updated by Givens rotations when a constraint is added or dropped.
//
// Multiplier convention (the same as OSQP's): at a solution
//   H x + g + A_eqᵀ y_eq + Cᵀ y_ineq + y_bound = 0,
// y_ineq[i] ≤ 0 when row i is active at its lower side l[i], ≥ 0 when active at its upper side u[i], and 0
// when inactive; likewise y_bound. y_eq has either sign.
//
// Real-time use: a QpSolver is sized once by (n, n_eq, n_ineq); solve() then allocates no memory.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <cstdint>
#include <vector>

namespace oh::qp {

/// Outcome of QpSolver::solve().
enum class QpStatus {
  kOptimal,        ///< x is the solution; the multipliers satisfy the KKT conditions
  kInfeasible,     ///< no x satisfies the constraints (contradictory bounds, inconsistent equalities, …)
  kMaxIterations,  ///< QpSettings::max_iterations active-set changes were made without reaching the optimum
  kInvalidInput,   ///< dimension mismatch, NaN/Inf in the data, H not symmetric or not positive definite
};

/// "optimal", "infeasible", "max_iterations" or "invalid_input".
const char* to_string(QpStatus status);

/// Where an inequality row or a bound stands in the active set.
enum class ActiveSide : std::int8_t {
  kInactive = 0,  ///< strictly between its sides (or touching one with a zero multiplier)
  kLower = 1,     ///< held at its lower side: C_i x = l_i (or x_i = lb_i)
  kUpper = 2,     ///< held at its upper side: C_i x = u_i (or x_i = ub_i)
  kEquality = 3,  ///< a row with l_i == u_i (or a bound with lb_i == ub_i): treated as an equality
};

/// The active set of the inequality rows and the bounds. Equality rows are always active.
struct ActiveSet {
  std::vector<ActiveSide> ineq;    ///< n_ineq entries, one per row of C
  std::vector<ActiveSide> bounds;  ///< n entries, one per variable
};

/// The problem data. Sizes: H n×n (symmetric; only its lower triangle is factorised, but the symmetry of the
/// whole matrix is checked), g n, A_eq n_eq×n, b_eq n_eq, C n_ineq×n, l and u n_ineq (or empty: no side),
/// lb and ub n (or empty: no bounds). Lower sides may be -∞ and upper sides +∞; every other value must be
/// finite. Units are the caller's. Fill a long-lived QpProblem in place to keep the control loop free of
/// allocation.
struct QpProblem {
  Eigen::MatrixXd H;
  Eigen::VectorXd g;
  Eigen::MatrixXd A_eq;
  Eigen::VectorXd b_eq;
  Eigen::MatrixXd C;
  Eigen::VectorXd l, u;
  Eigen::VectorXd lb, ub;

  QpProblem() = default;
  /// Sized by resize(n, n_eq, n_ineq).
  QpProblem(int n, int n_eq, int n_ineq);
  /// Resizes every member to the sizes above and sets H, g, A_eq, b_eq, C to zero, l and lb to -∞, u and
  /// ub to +∞ (no constraint but the equalities). Allocates. Negative sizes count as 0.
  void resize(int n, int n_eq, int n_ineq);
};

/// Tolerances and limits of QpSolver. The defaults suit problems scaled to values of order 1..1e3.
struct QpSettings {
  /// Most active-set changes (constraint additions plus drops) per solve(); 0 picks
  /// 10·(n + n_ineq + n_eq) + 100.
  int max_iterations = 0;
  /// A side with normal c and bound b counts as violated when its slack is below
  /// -feasibility_tolerance·(|b| + ‖c‖·(1 + ‖x‖∞)). Also the tolerance on linearly dependent equalities
  /// being consistent.
  double feasibility_tolerance = 1e-9;
  /// A constraint normal n counts as linearly dependent on the active normals when the part of L⁻¹n
  /// outside their span, ‖J₂ᵀ n‖ in [GI]'s notation, is at most dependency_tolerance·‖n‖·‖L⁻¹‖_F.
  double dependency_tolerance = 1e-11;
  /// ε ≥ 0 added to H's diagonal before it is factorised: the solver then minimises with H + εI, which
  /// makes a positive semidefinite H usable. The reported objective uses H as given. 0: H is used as is.
  double regularization = 0.0;
  /// H counts as symmetric when max|H_ij - H_ji| ≤ symmetry_tolerance·max(1, max|H_ij|).
  double symmetry_tolerance = 1e-10;
};

/// The result of the last solve(). Sizes follow the solver: x n, y_eq n_eq, y_ineq n_ineq, y_bound n.
/// For kInfeasible and kMaxIterations, x and the multipliers describe the last iterate (not a solution);
/// for kInvalidInput they are zero and objective is NaN.
struct QpSolution {
  QpStatus status = QpStatus::kInvalidInput;
  Eigen::VectorXd x;        ///< primal solution
  Eigen::VectorXd y_eq;     ///< multipliers of A_eq x = b_eq (either sign)
  Eigen::VectorXd y_ineq;   ///< multipliers of l ≤ C x ≤ u (≤ 0 at l, ≥ 0 at u)
  Eigen::VectorXd y_bound;  ///< multipliers of lb ≤ x ≤ ub (≤ 0 at lb, ≥ 0 at ub)
  double objective = 0.0;   ///< ½ xᵀ H x + gᵀ x with H as given
  int iterations = 0;       ///< active-set changes after the equalities (and warm-start set) were factorised
  int n_active = 0;         ///< inequality rows and bounds in the final active set (kEquality ones included)
};

/// KKT residuals of a candidate solution, in the problem's units (all ∞-norms, all ≥ 0).
struct KktResiduals {
  double stationarity = 0.0;     ///< ‖H x + g + A_eqᵀ y_eq + Cᵀ y_ineq + y_bound‖∞
  double primal_eq = 0.0;        ///< ‖A_eq x - b_eq‖∞
  double primal_ineq = 0.0;      ///< largest violation of l ≤ C x ≤ u and lb ≤ x ≤ ub
  double dual = 0.0;             ///< largest multiplier of the wrong sign (or on an infinite side)
  double complementarity = 0.0;  ///< largest |y_i|·(distance of side i from C_i x) over the side y_i acts on
  /// The largest of the five.
  double max() const;
};

/// KKT residuals of `solution` for `problem` (the optimality conditions, e.g. Nocedal & Wright, "Numerical
/// Optimization", 2nd ed., Theorem 12.1). A check for tests and diagnostics: it allocates temporaries.
/// Requires the sizes of `solution` to match `problem`; returns all residuals = +∞ if they do not.
KktResiduals kkt_residuals(const QpProblem& problem, const QpSolution& solution);

/// Dense Goldfarb–Idnani dual active-set solver with preallocated workspace and warm start.
///
/// Usage:  QpSolver solver(n, n_eq, n_ineq);  … fill problem …
///         if (solver.solve(problem) == QpStatus::kOptimal) use(solver.solution().x);
///         … next control tick, problem changed slightly …  solver.solve(problem, /*warm_start=*/true);
///
/// Cost per solve: one Cholesky factorisation of H and the triangular inverse L⁻ᵀ (O(n³)), then O(n²) per
/// active-set change. Not thread-safe: use one solver per thread.
class QpSolver {
 public:
  /// An empty solver (n = n_eq = n_ineq = 0); call resize() before solving anything bigger.
  QpSolver() : QpSolver(0, 0, 0) {}
  /// Allocates every workspace for problems with n variables, n_eq equality rows and n_ineq two-sided
  /// inequality rows (negative sizes count as 0).
  QpSolver(int n, int n_eq, int n_ineq, const QpSettings& settings = {});

  /// Reallocates for new sizes (a no-op if they are unchanged) and forgets the active set.
  void resize(int n, int n_eq, int n_ineq);

  /// Solves `problem`. Its sizes must match the solver's (else kInvalidInput). Does not allocate.
  ///
  /// warm_start = false: [GI]'s algorithm from the unconstrained minimum x = -H⁻¹g (step 0), after the
  /// equality rows (and rows with l == u, bounds with lb == ub) have been put in the active set.
  /// warm_start = true: also puts the active set of the previous solve() (or of set_active_set()) into the
  /// factorisation first, takes x as the minimiser on that face, drops the constraints whose multipliers come
  /// out negative until the pair (x, active set) is dual feasible — an S-pair in [GI]'s terms — and carries
  /// on with [GI]'s algorithm. The answer is the same; on a problem close to the previous one it needs far
  /// fewer iterations. Rows whose side has become infinite are not carried over.
  ///
  /// Returns the status, also in solution().status. Never throws.
  QpStatus solve(const QpProblem& problem, bool warm_start = false);

  /// The result of the last solve().
  const QpSolution& solution() const { return solution_; }
  /// The active set after the last solve(); the warm start of the next one.
  const ActiveSet& active_set() const { return active_; }
  /// Replaces the active set used by the next warm-started solve() (e.g. one saved from another solver).
  /// Returns false, changing nothing, if the sizes do not match (n_ineq rows, n bounds).
  bool set_active_set(const ActiveSet& active);
  /// Empties the active set: the next warm-started solve() is a cold one.
  void clear_active_set();

  QpSettings& settings() { return settings_; }
  const QpSettings& settings() const { return settings_; }
  int n() const { return n_; }
  int n_eq() const { return n_eq_; }
  int n_ineq() const { return m_; }

 private:
  // A constraint side is identified by an index: [0, n_eq) equality rows, [n_eq, n_eq + n_ineq) rows of C,
  // [n_eq + n_ineq, n_eq + n_ineq + n) bounds; and a sign σ = +1 (normal c, bound l: cᵀx ≥ l) or σ = -1
  // (normal -c, bound -u: -cᵀx ≥ -u). Equalities and kEquality rows use σ = +1.
  QpStatus check_input(const QpProblem& p);
  bool factorize(const QpProblem& p);
  double side_bound(const QpProblem& p, int id, int sign) const;
  void load_normal(const QpProblem& p, int id, int sign);
  double slack(int id, int sign, double b) const;
  void compute_d(int id, int sign);
  bool is_dependent(int id) const;
  void append(int id, int sign, double b, double multiplier, ActiveSide side);
  void drop(int pos);
  bool add_fixed(const QpProblem& p);
  void add_warm_set(const QpProblem& p);
  int drop_negative_multipliers(const QpProblem& p);
  void solve_on_face(const QpProblem& p);
  void load_sides(const QpProblem& p);
  bool select_violated(int* id, int* sign, double* b);
  QpStatus iterate(const QpProblem& p, int max_iterations);
  void finish(const QpProblem& p, QpStatus status);
  void stop_early(QpStatus status);
  void set_side(int id, ActiveSide side);

  int n_ = 0, n_eq_ = 0, m_ = 0;
  QpSettings settings_;
  Eigen::LLT<Eigen::MatrixXd> llt_;
  Eigen::MatrixXd H_reg_;  // H + εI when regularising
  Eigen::MatrixXd J_;      // [GI] J = L⁻ᵀQ in rows [0, n); zero rows pad it to a multiple of 8 rows.
                           // Columns [0, q) are J₁, [q, n) are J₂.
  Eigen::VectorXd rot_c_, rot_s_, tmp_;  // Givens rotations of one add or drop, and their workspace
  Eigen::MatrixXd R_;      // [GI] R, upper triangular, leading q×q block used
  double j_norm_ = 0.0;    // ‖L⁻¹‖_F = ‖J‖_F
  int q_ = 0;              // number of active constraints
  int n_fixed_ = 0;        // the first n_fixed_ active ones are equalities and are never dropped
  std::vector<int> active_id_;           // per active position
  std::vector<signed char> active_sign_;  // per active position
  Eigen::VectorXd active_b_;             // per active position: the side's bound (σ-signed)
  Eigen::VectorXd u_;                    // per active position: [GI] multipliers u ≥ 0 (internal sign)
  Eigen::VectorXd x_, d_, z_, r_, np_, w_, cx_;
  Eigen::VectorXd norm_;  // per constraint index: ‖normal‖
  // Per inequality side i (rows of C, then bounds): lo ≤ value ≤ hi, feasibility_tolerance·|lo| and ·|hi|,
  // and 1/‖normal‖ (1 for a zero row).
  Eigen::VectorXd lo_, hi_, tol_lo_, tol_hi_, inv_norm_;
  ActiveSet active_, warm_;
  QpSolution solution_;
};

}  // namespace oh::qp
