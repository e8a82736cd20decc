#include "control/locomotion/locomotion.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace oh::control {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int kRowsPerSample = 5;  // ZMP support rows per horizon sample

double side_sign(int side) { return side == kLeft ? 1.0 : -1.0; }

}  // namespace

LipmMpc::LipmMpc(const GaitParams& params, int horizon, double dt, int n_steps)
    : p_(params), n_(std::max(horizon, 2)), m_(std::max(n_steps, 1)), dt_(dt) {
  // Exact zero-order-hold discretisation of c'' = w^2 (c - p) over dt (Kajita 2003, sec. III):
  //   [c; c']_{k+1} = A [c; c']_k + B p_k.
  const double w = p_.omega(), ch = std::cosh(w * dt_), sh = std::sinh(w * dt_);
  Eigen::Matrix2d A;
  A << ch, sh / w, w * sh, ch;
  const Eigen::Vector2d B(1.0 - ch, -w * sh);
  // Rows k = 0..N-1 give the state after k + 1 samples as a function of [p_0..p_{N-1}, c0, c0'].
  Pc_.setZero(n_, n_ + 2);
  Pv_.setZero(n_, n_ + 2);
  Eigen::MatrixXd S = Eigen::MatrixXd::Zero(2, n_ + 2);
  S(0, n_) = 1.0;
  S(1, n_ + 1) = 1.0;
  for (int k = 0; k < n_; ++k) {
    S = (A * S).eval();
    S.col(k) += B;
    Pc_.row(k) = S.row(0);
    Pv_.row(k) = S.row(1);
  }
  const int nx = 2 * n_ + 2 * m_;
  prob_.resize(nx, 0, kRowsPerSample * n_ + 2 * m_);
  solver_.resize(nx, 0, kRowsPerSample * n_ + 2 * m_);
}

const LipmMpc::Output& LipmMpc::solve(const Input& in) {
  Output& o = out_;
  o.ok = false;
  o.steps = in.steps;
  o.iterations = 0;
  o.cost = kInf;
  if (in.steps.size() < static_cast<size_t>(m_ + 1) || !in.com.allFinite() || !in.com_vel.allFinite()) {
    o.zmp = in.steps.empty() ? in.com : p_.zmp_box_center(in.steps.front());
    return o;
  }
  const int N = n_, M = m_, nx = 2 * N + 2 * M;
  const double w = p_.omega();
  auto px = [&](int k) { return k; };
  auto py = [&](int k) { return N + k; };
  auto fx = [&](int j) { return 2 * N + (j - 1); };      // j = 1..M
  auto fy = [&](int j) { return 2 * N + M + (j - 1); };

  // Affine expression of a footstep's xy in the decision variables: f_0 (stance) is a constant.
  struct Affine {
    Eigen::VectorXd ax, ay;  // coefficients (nx)
    Eigen::Vector2d c;       // constant
  };
  const int last = static_cast<int>(in.steps.size()) - 1;
  auto foot = [&](int j, double scale, Affine& e) {
    const int jj = std::clamp(j, 0, last);
    const Footstep& f = in.steps[static_cast<size_t>(jj)];
    // The ZMP box centre: the footstep plus a constant offset in its frame.
    e.c += scale * (p_.zmp_box_center(f) - f.pos);
    if (jj == 0 || jj > M) {
      e.c += scale * f.pos;
    } else {
      e.ax[fx(jj)] += scale;
      e.ay[fy(jj)] += scale;
    }
  };
  auto step_yaw = [&](int j) { return in.steps[static_cast<size_t>(std::clamp(j, 0, last))].yaw; };
  // ZMP reference at time t (affine in the footstep variables), walking the support intervals in order.
  auto ref_at = [&](double t, size_t& iv, Affine& e, double& yaw_out) {
    while (iv + 1 < in.support.size() && t >= in.support[iv].t1) ++iv;
    const SupportInterval s = in.support.empty() ? SupportInterval{0, 1e9, 0, -1} : in.support[iv];
    if (s.next < 0) {
      foot(s.foot, 1.0, e);
      yaw_out = step_yaw(s.foot);
    } else {
      const double r = std::clamp((t - s.t0) / std::max(s.t1 - s.t0, 1e-6), 0.0, 1.0);
      const double a = s.blend0 + (s.blend1 - s.blend0) * r;
      foot(s.foot, 1.0 - a, e);
      foot(s.next, a, e);
      yaw_out = 0.5 * (step_yaw(s.foot) + step_yaw(s.next));
    }
  };
  // ZMP reference at each sample.
  std::vector<Affine> ref(static_cast<size_t>(N), Affine{Eigen::VectorXd::Zero(nx), Eigen::VectorXd::Zero(nx), Eigen::Vector2d::Zero()});
  std::vector<double> yaw(static_cast<size_t>(N), in.steps[0].yaw);
  size_t iv = 0;
  for (int k = 0; k < N; ++k) ref_at((k + 0.5) * dt_, iv, ref[k], yaw[k]);
  // The stable DCM at time T0 for the reference from T0 on (the "anticipative tail" of IS-MPC):
  //   xi(T0) = w * integral_T0^inf exp(-w (tau - T0)) p_ref(tau) d tau,
  // integrated over tail_horizon with the remainder put on the last reference.
  auto stable_dcm = [&](double T0, size_t it) {
    Affine acc{Eigen::VectorXd::Zero(nx), Eigen::VectorXd::Zero(nx), Eigen::Vector2d::Zero()};
    Affine e{Eigen::VectorXd::Zero(nx), Eigen::VectorXd::Zero(nx), Eigen::Vector2d::Zero()};
    const double h = 0.01;
    double weight_left = 1.0;
    for (double tau = T0; tau < T0 + tail_horizon; tau += h) {
      const double wgt = std::exp(-w * (tau - T0)) - std::exp(-w * (tau + h - T0));
      e.ax.setZero();
      e.ay.setZero();
      e.c.setZero();
      double y = 0;
      ref_at(tau + 0.5 * h, it, e, y);
      acc.ax += wgt * e.ax;
      acc.ay += wgt * e.ay;
      acc.c += wgt * e.c;
      weight_left -= wgt;
    }
    acc.ax += weight_left * e.ax;
    acc.ay += weight_left * e.ay;
    acc.c += weight_left * e.c;
    return acc;
  };
  const Affine tail = stable_dcm(N * dt_, iv);

  qp::QpProblem& pr = prob_;
  pr.H.setZero();
  pr.g.setZero();
  Eigen::VectorXd row(nx);
  double constant_cost = 0.0;
  // Adds weight * (row . x - b)^2 to the cost (H = 2 sum w a a^T, g = -2 sum w b a for 1/2 x'Hx + g'x, and the
  // constant w b^2 kept aside).
  auto add = [&](double weight, double b) {
    pr.H.noalias() += 2.0 * weight * row * row.transpose();
    pr.g.noalias() -= 2.0 * weight * b * row;
    constant_cost += weight * b * b;
  };
  const bool have_offset = in.cop_offset.size() == static_cast<size_t>(N);
  auto offset = [&](int k) { return have_offset ? in.cop_offset[static_cast<size_t>(k)] : Eigen::Vector2d::Zero(); };
  for (int k = 0; k < N; ++k) {
    row = -ref[k].ax;
    row[px(k)] += 1.0;
    add(w_zmp, ref[k].c.x() - offset(k).x());
    row = -ref[k].ay;
    row[py(k)] += 1.0;
    add(w_zmp, ref[k].c.y() - offset(k).y());
    if (k > 0) {
      // ZMP rate relative to the reference's own rate: smooths the ZMP without biasing toward short steps.
      row = -(ref[k].ax - ref[k - 1].ax);
      row[px(k)] += 1.0;
      row[px(k - 1)] -= 1.0;
      add(w_jerk, ref[k].c.x() - ref[k - 1].c.x() - (offset(k) - offset(k - 1)).x());
      row = -(ref[k].ay - ref[k - 1].ay);
      row[py(k)] += 1.0;
      row[py(k - 1)] -= 1.0;
      add(w_jerk, ref[k].c.y() - ref[k - 1].c.y() - (offset(k) - offset(k - 1)).y());
    }
  }
  // Step tracking along and across each reference step's heading (separate weights).
  for (int j = 1; j <= M; ++j) {
    const Footstep& f = in.steps[static_cast<size_t>(j)];
    const Eigen::Vector2d along(std::cos(f.yaw), std::sin(f.yaw)), across(-along.y(), along.x());
    for (int r = 0; r < 2; ++r) {
      const Eigen::Vector2d& d = r == 0 ? along : across;
      row.setZero();
      row[fx(j)] = d.x();
      row[fy(j)] = d.y();
      add(r == 0 ? w_step : w_step_lateral, d.dot(f.pos));
    }
  }
  // Terminal DCM xi_N = c_N + c'_N / w at the stable DCM of the tail (capturability at the horizon).
  const Eigen::VectorXd dcm = Pc_.row(N - 1) + Pv_.row(N - 1) / w;
  for (int axis = 0; axis < 2; ++axis) {
    const double c0 = axis == 0 ? in.com.x() : in.com.y();
    const double v0 = axis == 0 ? in.com_vel.x() : in.com_vel.y();
    row = axis == 0 ? (-tail.ax).eval() : (-tail.ay).eval();
    for (int k = 0; k < N; ++k) row[axis == 0 ? px(k) : py(k)] += dcm[k];
    const double constant = dcm[N] * c0 + dcm[N + 1] * v0;
    add(w_dcm, (axis == 0 ? tail.c.x() : tail.c.y()) - constant);
  }
  for (int i = 0; i < nx; ++i) pr.H(i, i) += 1e-8;

  // ZMP support constraints, kRowsPerSample rows per sample. Single support: the ZMP box of the foot in the
  // foot's frame (rows 0 and 2). Double support: the convex hull of the two feet's boxes, which for feet of
  // one heading is the box swept along the segment between them (a hexagon): along each box axis the ZMP stays
  // within the extent of the foot ahead (upper bound, rows 0 and 2) and of the foot behind (lower bound, rows 1
  // and 3), ordered by their reference positions; across the segment it stays within the box's half-extent in
  // that direction (row 4). Feet of different headings use their mean heading (an inner fit for small turns).
  pr.C.setZero();
  pr.l.head(kRowsPerSample * N).setConstant(-kInf);
  pr.u.head(kRowsPerSample * N).setConstant(kInf);
  size_t jv = 0;
  for (int k = 0; k < N; ++k) {
    const double t = (k + 0.5) * dt_;
    while (jv + 1 < in.support.size() && t >= in.support[jv].t1) ++jv;
    const SupportInterval sup = in.support.empty() ? SupportInterval{0, 1e9, 0, -1} : in.support[jv];
    const Eigen::Vector2d ax_dir(std::cos(yaw[k]), std::sin(yaw[k])), ay_dir(-ax_dir.y(), ax_dir.x());
    // Row i: lo <= d . (p_k - foot_j) <= hi, with foot_j affine in the decision variables.
    auto set_row = [&](int i, const Eigen::Vector2d& d, int j, double scale_b, int j2, double lo, double hi) {
      Affine centre{Eigen::VectorXd::Zero(nx), Eigen::VectorXd::Zero(nx), Eigen::Vector2d::Zero()};
      foot(j, 1.0 - scale_b, centre);
      if (scale_b != 0.0) foot(j2, scale_b, centre);
      pr.C.row(i) = -(d.x() * centre.ax + d.y() * centre.ay).transpose();
      pr.C(i, px(k)) += d.x();
      pr.C(i, py(k)) += d.y();
      const double off = d.dot(centre.c - offset(k));
      pr.l[i] = off + lo;
      pr.u[i] = off + hi;
    };
    const int r0 = kRowsPerSample * k;
    if (sup.next < 0) {
      set_row(r0 + 0, ax_dir, sup.foot, 0.0, 0, -p_.zmp_half_length, p_.zmp_half_length);
      set_row(r0 + 2, ay_dir, sup.foot, 0.0, 0, -p_.zmp_half_width, p_.zmp_half_width);
      continue;
    }
    const Eigen::Vector2d a = in.steps[static_cast<size_t>(std::clamp(sup.foot, 0, last))].pos;
    const Eigen::Vector2d b = in.steps[static_cast<size_t>(std::clamp(sup.next, 0, last))].pos;
    for (int axis = 0; axis < 2; ++axis) {
      const Eigen::Vector2d& d = axis == 0 ? ax_dir : ay_dir;
      const double h = axis == 0 ? p_.zmp_half_length : p_.zmp_half_width;
      const bool b_ahead = d.dot(b - a) >= 0.0;
      set_row(r0 + 2 * axis, d, b_ahead ? sup.next : sup.foot, 0.0, 0, -kInf, h);
      set_row(r0 + 2 * axis + 1, d, b_ahead ? sup.foot : sup.next, 0.0, 0, -h, kInf);
    }
    const double len = (b - a).norm();
    if (len > 1e-6) {
      const Eigen::Vector2d n(-(b - a).y() / len, (b - a).x() / len);
      const double half = p_.zmp_half_length * std::abs(n.dot(ax_dir)) + p_.zmp_half_width * std::abs(n.dot(ay_dir));
      set_row(r0 + 4, n, sup.foot, 0.5, sup.next, -half, half);
    }
  }
  // Reach of each step from the previous one, in the previous step's frame. A frozen step keeps none: where it
  // was put (a foot that landed out of reach after a push) must not make the problem infeasible.
  auto fixed = [&](int j) { return static_cast<int>(in.step_fixed.size()) >= j && in.step_fixed[static_cast<size_t>(j - 1)]; };
  for (int j = 1; j <= M; ++j) {
    const Footstep& prev = in.steps[j - 1];
    const double c = std::cos(prev.yaw), s = std::sin(prev.yaw), sg = side_sign(in.steps[j].side);
    for (int r = 0; r < 2; ++r) {
      const double ux = r == 0 ? c : -s, uy = r == 0 ? s : c;
      const int i = kRowsPerSample * N + 2 * (j - 1) + r;
      pr.C(i, fx(j)) = ux;
      pr.C(i, fy(j)) = uy;
      double off = 0.0;
      if (j == 1) {
        off = ux * prev.pos.x() + uy * prev.pos.y();
      } else {
        pr.C(i, fx(j - 1)) = -ux;
        pr.C(i, fy(j - 1)) = -uy;
      }
      if (fixed(j)) {
        pr.l[i] = -kInf;
        pr.u[i] = kInf;
      } else if (r == 0) {
        pr.l[i] = off - p_.max_step_x;
        pr.u[i] = off + p_.max_step_x;
      } else {
        const double lo = sg > 0 ? p_.min_width : -(p_.nominal_width + p_.max_step_y);
        const double hi = sg > 0 ? p_.nominal_width + p_.max_step_y : -p_.min_width;
        pr.l[i] = off + lo;
        pr.u[i] = off + hi;
      }
    }
  }
  pr.lb.setConstant(-kInf);
  pr.ub.setConstant(kInf);
  for (int j = 1; j <= M; ++j) {
    if (fixed(j)) {
      pr.lb[fx(j)] = pr.ub[fx(j)] = in.steps[j].pos.x();
      pr.lb[fy(j)] = pr.ub[fy(j)] = in.steps[j].pos.y();
    }
  }

  qp::QpStatus st = solver_.solve(pr, true);
  if (st != qp::QpStatus::kOptimal) {
    solver_.clear_active_set();
    st = solver_.solve(pr, false);
  }
  o.iterations = solver_.solution().iterations;
  if (st != qp::QpStatus::kOptimal) {
    o.zmp = p_.zmp_box_center(in.steps.front());
    o.com_acc = w * w * (in.com - o.zmp);
    return o;
  }
  const Eigen::VectorXd& x = solver_.solution().x;
  o.ok = true;
  o.cost = solver_.solution().objective + constant_cost;
  o.zmp = Eigen::Vector2d(x[px(0)], x[py(0)]);
  for (int j = 1; j <= M; ++j) o.steps[j].pos = Eigen::Vector2d(x[fx(j)], x[fy(j)]);
  o.com_acc = w * w * (in.com - o.zmp);
  return o;
}

}  // namespace oh::control
