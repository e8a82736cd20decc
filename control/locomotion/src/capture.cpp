#include "control/locomotion/locomotion.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace oh::control {

CaptureLimits CaptureLimits::from_gait(const GaitParams& gait, double min_single) {
  CaptureLimits lim;
  lim.omega = gait.omega();
  lim.step_time = min_single * gait.t_single;
  lim.half_length = gait.zmp_half_length;
  lim.half_width = gait.zmp_half_width;
  lim.reach_x = gait.max_step_x;
  // The reach binds sole centres; each box sits zmp_center.y outward of its sole (mirrored for the right foot).
  lim.min_width = gait.min_width + 2.0 * gait.zmp_center.y();
  lim.max_width = gait.nominal_width + gait.max_step_y + 2.0 * gait.zmp_center.y();
  return lim;
}

int capture_steps(const CaptureLimits& lim, const Eigen::Vector2d& xi, int stance_side, double first_step_time,
                  int n_max) {
  if (!xi.allFinite() || !(lim.omega > 0) || n_max < 0) return -1;
  // The stance foot's frame with y mirrored for a right stance: the next step always goes toward -y.
  const double x = xi.x(), y = stance_side == kLeft ? xi.y() : -xi.y();
  const double hx = lim.half_length, hy = lim.half_width;
  const double e = std::exp(-lim.omega * std::max(lim.step_time, 0.0));
  const double e1 = std::exp(-lim.omega * std::max(first_step_time, 0.0));
  // Regions of a foot that has just landed, k steps to go, in that foot's mirrored frame (steps after the
  // first take step_time): along x [-a_k, a_k]; along y [lo_k, hi_k].
  std::vector<double> a{hx}, lo{-hy}, hi{hy};
  for (int n = 0; n <= n_max; ++n) {
    if (n == 0) {
      if (std::abs(x) <= hx && std::abs(y) <= hy) return 0;
      continue;
    }
    const size_t k = static_cast<size_t>(n - 1);
    // One step of time t from here (centre of pressure p anywhere in the stance rectangle): the capture point
    // reached at touchdown, p + (xi - p) e^(omega t), must lie in the next foot's (n - 1)-step region for some
    // placement within reach. Along y the next foot lands toward -y, min_width..max_width away, and its region
    // is mirrored: [-hi, -lo]. The last step ends in double support: the capture point may then lie anywhere
    // between the two feet, up to the stance rectangle's own edge (the hull's extent along y).
    auto x_half = [&](double ek) { return hx + (a[k] + lim.reach_x - hx) * ek; };
    auto y_range = [&](double ek) {
      const double upper = k == 0 ? hy : -lim.min_width - lo[k], lower = -lim.max_width - hi[k];
      return std::pair<double, double>{-hy + (lower + hy) * ek, hy + (upper - hy) * ek};
    };
    const auto [ylo, yhi] = y_range(e1);
    if (std::abs(x) <= x_half(e1) && y >= ylo && y <= yhi) return n;
    // The same region for a foot that has just landed (its first step also takes step_time).
    a.push_back(x_half(e));
    const auto [l, h] = y_range(e);
    lo.push_back(l);
    hi.push_back(h);
  }
  return -1;
}

}  // namespace oh::control
