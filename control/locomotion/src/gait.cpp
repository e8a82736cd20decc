#include "control/locomotion/locomotion.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace oh::control {
namespace {

Eigen::Matrix2d rot(double yaw) {
  Eigen::Matrix2d R;
  R << std::cos(yaw), -std::sin(yaw), std::sin(yaw), std::cos(yaw);
  return R;
}

double wrap(double a) { return std::atan2(std::sin(a), std::cos(a)); }

double side_sign(int side) { return side == kLeft ? 1.0 : -1.0; }

}  // namespace

const std::vector<std::string>& GaitParams::override_keys() {
  static const std::vector<std::string> keys = {
      "com_height",  "t_single",        "t_double",       "step_height", "nominal_width", "min_width",
      "max_step_x",  "max_step_y",      "max_step_yaw",   "zmp_half_length", "zmp_half_width", "max_vx",
      "max_vy",      "max_wz"};
  return keys;
}

GaitParams GaitParams::from_profile(const model::Model& model, const model::Profile& profile) {
  GaitParams p;
  const auto& ov = profile.walking;
  // Overridden value of `key` (validated), or `derived`.
  auto value = [&](const char* key, double derived) {
    const auto it = ov.find(key);
    if (it == ov.end()) return derived;
    if (!(it->second > 0) || !std::isfinite(it->second))
      throw std::invalid_argument(std::string("profile walking.") + key + ": expected a positive number");
    return it->second;
  };
  p.gravity = model.gravity.norm() > 0 ? model.gravity.norm() : 9.81;
  p.com_height = value("com_height", profile.com_height > 0.2 ? profile.com_height : 0.8);
  const double leg = profile.leg_length > 0.2 ? profile.leg_length : 0.8;
  // Step timing from the pendulum time constant: about 0.4 s single support for a 0.9 m CoM height.
  const double tc = std::sqrt(p.com_height / p.gravity);
  auto dof = [&](const std::vector<int>& joints) {
    int n = 0;
    for (int j : joints)
      if (j >= 0 && j < static_cast<int>(model.joints.size())) n += model.joints[static_cast<size_t>(j)].nv;
    return n;
  };
  if (!profile.left_leg.joints.empty() && !profile.right_leg.joints.empty())
    p.leg_dof = std::min(dof(profile.left_leg.joints), dof(profile.right_leg.joints));
  p.t_single = value("t_single", (p.leg_dof >= 6 ? 1.3 : 1.0) * tc);
  p.t_double = value("t_double", 0.3 * tc);
  p.step_height = value("step_height", 0.09 * leg);
  p.max_step_x = value("max_step_x", 0.4 * leg);
  p.max_step_y = value("max_step_y", 0.3 * leg);
  p.max_step_yaw = value("max_step_yaw", p.max_step_yaw);
  // Sole centres at nominal: their lateral distance in the base heading frame.
  const auto poses = model::body_poses(model, profile.q_nominal);
  const Eigen::Vector3d l = poses[profile.left_foot.body] * profile.left_foot.sole_center;
  const Eigen::Vector3d r = poses[profile.right_foot.body] * profile.right_foot.sole_center;
  const Eigen::Matrix3d Rb = poses[profile.base_body].linear();
  const double yaw = std::atan2(Rb(1, 0), Rb(0, 0));
  const Eigen::Vector2d d = rot(yaw).transpose() * (l - r).head<2>();
  const double foot_w = std::max(profile.left_foot.width, profile.right_foot.width);
  const double foot_l = std::max(profile.left_foot.length, profile.right_foot.length);
  p.nominal_width = value("nominal_width", std::max(std::abs(d.y()), 1.5 * foot_w));
  p.min_width = value("min_width", std::max(0.6 * p.nominal_width, foot_w + 0.04));
  p.zmp_half_length = value("zmp_half_length", 0.35 * foot_l);
  p.zmp_half_width = value("zmp_half_width", 0.3 * foot_w);
  p.max_vx = value("max_vx", 0.8 * p.max_step_x / p.t_step());
  // Lateral: the stance opens to at most nominal + max_step_y and closes to min_width (see FootstepPlanner::plan).
  p.max_vy = value("max_vy", 0.8 * std::max(p.nominal_width + p.max_step_y - p.min_width, 0.0) / (2.0 * p.t_step()));
  p.max_wz = value("max_wz", 0.8 * p.max_step_yaw / p.t_step());
  return p;
}

double GaitParams::omega() const { return std::sqrt(gravity / com_height); }

Eigen::Vector2d GaitParams::zmp_box_center(const Footstep& f) const {
  return f.pos + rot(f.yaw) * Eigen::Vector2d(zmp_center.x(), side_sign(f.side) * zmp_center.y());
}

void GaitParams::fit_zmp_box(const std::vector<Eigen::Vector2d>& poly) {
  const size_t n = poly.size();
  if (n < 3) return;
  // Inside test of a point against every (counter-clockwise) edge.
  auto inside = [&](const Eigen::Vector2d& p) {
    for (size_t k = 0; k < n; ++k) {
      const Eigen::Vector2d& a = poly[k];
      const Eigen::Vector2d& b = poly[(k + 1) % n];
      if ((b - a).x() * (p - a).y() - (b - a).y() * (p - a).x() < -1e-12) return false;
    }
    return true;
  };
  // The box [x0, x1] x [y0, y1] lies inside when its four corners do.
  auto box_inside = [&](double x0, double x1, double y0, double y1) {
    return inside({x0, y0}) && inside({x1, y0}) && inside({x1, y1}) && inside({x0, y1});
  };
  const Eigen::Vector2d c0 = zmp_center;
  if (box_inside(c0.x() - zmp_half_length, c0.x() + zmp_half_length, c0.y() - zmp_half_width, c0.y() + zmp_half_width))
    return;  // the default box fits
  double x_lo = poly[0].x(), x_hi = x_lo, y_lo = poly[0].y(), y_hi = y_lo;
  for (const auto& v : poly) {
    x_lo = std::min(x_lo, v.x()), x_hi = std::max(x_hi, v.x());
    y_lo = std::min(y_lo, v.y()), y_hi = std::max(y_hi, v.y());
  }
  // Grid search over the box's x extent and y centre; its half-width is the largest (up to zmp_half_width)
  // keeping all four corners inside.
  constexpr int kGrid = 60;
  double best = -1.0;
  Eigen::Vector2d best_c = zmp_center;
  double best_hl = zmp_half_length, best_hw = zmp_half_width;
  for (int i = 0; i <= kGrid; ++i) {
    const double xa = x_lo + (x_hi - x_lo) * i / kGrid;
    for (int j = i + 1; j <= kGrid; ++j) {
      const double xb = x_lo + (x_hi - x_lo) * j / kGrid;
      if (0.5 * (xb - xa) > zmp_half_length + 1e-9) break;
      for (int m = 0; m <= 16; ++m) {
        const double yc = y_lo + (y_hi - y_lo) * m / 16;
        double lo = 0.0, hi = zmp_half_width;  // bisection on the half-width
        if (!inside({xa, yc}) || !inside({xb, yc})) continue;
        for (int it = 0; it < 30; ++it) {
          const double h = 0.5 * (lo + hi);
          const bool ok = box_inside(xa, xb, yc - h, yc + h);
          (ok ? lo : hi) = h;
        }
        const double area = (xb - xa) * lo;
        // Ties (a rectangle sole) go to the box nearest the sole centre.
        const Eigen::Vector2d c(0.5 * (xa + xb), yc);
        if (area > best * (1.0 + 1e-6) || (area > best * (1.0 - 1e-6) && c.norm() < best_c.norm())) {
          best = area;
          best_c = c;
          best_hl = 0.5 * (xb - xa);
          best_hw = lo;
        }
      }
    }
  }
  if (best <= 0.0) return;
  zmp_center = best_c;
  zmp_half_length = best_hl;
  zmp_half_width = best_hw;
}

Eigen::Vector3d FootstepPlanner::clamp_command(const Eigen::Vector3d& cmd) const {
  Eigen::Vector3d c;
  const double lim[3] = {p_.max_vx, p_.max_vy, p_.max_wz};
  for (int i = 0; i < 3; ++i) c[i] = std::isfinite(cmd[i]) ? std::clamp(cmd[i], -lim[i], lim[i]) : 0.0;
  return c;
}

Footstep FootstepPlanner::clamp_to_reach(const Footstep& stance, Footstep t) const {
  const Eigen::Matrix2d R = rot(stance.yaw);
  Eigen::Vector2d d = R.transpose() * (t.pos - stance.pos);
  const double s = side_sign(t.side);
  d.x() = std::clamp(d.x(), -p_.max_step_x, p_.max_step_x);
  d.y() = s * std::clamp(s * d.y(), p_.min_width, p_.nominal_width + p_.max_step_y);
  t.pos = stance.pos + R * d;
  t.yaw = stance.yaw + std::clamp(wrap(t.yaw - stance.yaw), -p_.max_step_yaw, p_.max_step_yaw);
  return t;
}

std::vector<Footstep> FootstepPlanner::plan(const Footstep& stance, const Eigen::Vector3d& cmd_in, int n) const {
  const Eigen::Vector3d cmd = clamp_command(cmd_in);
  const double T = p_.t_step();
  // Lateral walking: the leading foot (the one on the side of motion) opens the stance by |vy| T, the trailing foot
  // closes it by as much, both widened so the closed stance keeps min_width: the body moves |vy| T per step.
  const double dy = std::abs(cmd.y()) * T;
  const double widen = std::max(0.0, p_.min_width - (p_.nominal_width - dy));
  std::vector<Footstep> out;
  out.reserve(static_cast<size_t>(std::max(n, 0)));
  Footstep cur = stance;
  for (int i = 0; i < n; ++i) {
    Footstep f;
    f.side = 1 - cur.side;
    f.z = cur.z;
    const double s = side_sign(f.side);
    // The body frame sits half a nominal width from the stance foot; it advances by vx T and turns by wz T.
    const Eigen::Vector2d center = cur.pos - rot(cur.yaw) * Eigen::Vector2d(0, -s * 0.5 * p_.nominal_width);
    f.yaw = cur.yaw + cmd.z() * T;
    const Eigen::Vector2d next_center = center + rot(cur.yaw + 0.5 * cmd.z() * T) * Eigen::Vector2d(cmd.x() * T, 0.0);
    f.pos = next_center + rot(f.yaw) * Eigen::Vector2d(0, s * 0.5 * p_.nominal_width);
    // Lateral placement relative to the stance foot, in the stance frame.
    const bool leading = s * cmd.y() > 0;
    const double width = p_.nominal_width + (leading ? dy : (cmd.y() != 0 ? -dy : 0.0)) + widen;
    Eigen::Vector2d d = rot(cur.yaw).transpose() * (f.pos - cur.pos);
    d.y() = s * width;
    f.pos = cur.pos + rot(cur.yaw) * d;
    f = clamp_to_reach(cur, f);
    out.push_back(f);
    cur = f;
  }
  return out;
}

LipmMpc::Input walking_mpc_input(const GaitParams& p, const FootstepPlanner& planner, const WalkingPhase& ph,
                                 const Eigen::Vector3d& cmd, const Eigen::Vector2d& com, const Eigen::Vector2d& com_vel,
                                 int planned) {
  const double ts = p.t_single, td = p.t_double;
  LipmMpc::Input in;
  in.com = com;
  in.com_vel = com_vel;
  double t = 0.0;
  auto alternate_from = [&](int first) {
    const int n = static_cast<int>(in.steps.size());
    for (int j = first; j + 1 < n; ++j) {
      in.support.push_back({t, t + td, j, j + 1});
      t += td;
      in.support.push_back({t, j + 2 < n ? t + ts : 1e9, j + 1, -1});
      t += ts;
    }
  };
  in.steps = {ph.single ? ph.stance : ph.prev};
  if (ph.single) {
    const double rem = std::max(ph.duration - ph.elapsed, ph.min_remaining);
    if (ph.frozen) {
      in.steps.push_back(*ph.frozen);
      for (const auto& f : planner.plan(*ph.frozen, cmd, planned - 1)) in.steps.push_back(f);
    } else {
      for (const auto& f : planner.plan(ph.stance, cmd, planned)) in.steps.push_back(f);
    }
    in.step_fixed = {ph.frozen != nullptr, false};
    in.support.push_back({0, rem, 0, -1});
    t = rem;
    alternate_from(0);
  } else {
    const double rem = std::max(ph.duration - ph.elapsed, 0.01);
    const double b0 = ph.blend0 + (1.0 - ph.blend0) * std::clamp(ph.elapsed / std::max(ph.duration, 1e-6), 0.0, 1.0);
    in.steps.push_back(ph.stance);
    for (const auto& f : planner.plan(ph.stance, cmd, planned - 1)) in.steps.push_back(f);
    in.step_fixed = {true, false};
    in.support.push_back({0, rem, 0, 1, b0, 1.0});
    in.support.push_back({rem, rem + ts, 1, -1});
    t = rem + ts;
    alternate_from(1);
  }
  return in;
}

void SwingTrajectory::sample(double t, Eigen::Vector3d& pos, double& yaw, Eigen::Vector3d& vel, double& yaw_rate) const {
  const double T = std::max(duration, 1e-3);
  const double s = std::clamp(t / T, 0.0, 1.0);
  const double mj = s * s * s * (10.0 - 15.0 * s + 6.0 * s * s);
  const double dmj = 30.0 * s * s * (1.0 - s) * (1.0 - s) / T;
  const Eigen::Vector2d dxy = land.pos - lift.pos;
  const double dyaw = wrap(land.yaw - lift.yaw);
  const double bump = 64.0 * s * s * s * (1 - s) * (1 - s) * (1 - s);
  const double dbump = 64.0 * (3.0 * s * s * (1 - s) * (1 - s) * (1 - s) - 3.0 * s * s * s * (1 - s) * (1 - s)) / T;
  pos.head<2>() = lift.pos + dxy * mj;
  pos.z() = z_lift + (z_land - z_lift) * mj + apex * bump;
  vel.head<2>() = dxy * dmj;
  vel.z() = (z_land - z_lift) * dmj + apex * dbump;
  yaw = lift.yaw + dyaw * mj;
  yaw_rate = dyaw * dmj;
}

Eigen::Matrix3d SwingTrajectory::orientation(double t, double yaw) const {
  const double T = std::max(duration, 1e-3);
  const double s = std::clamp(t / T, 0.0, 1.0);
  const double mj = s * s * s * (10.0 - 15.0 * s + 6.0 * s * s);
  const Eigen::Vector3d z = Eigen::Vector3d::UnitZ();
  const Eigen::Quaterniond q0 = Eigen::Quaterniond::FromTwoVectors(z, lift_normal.normalized());
  const Eigen::Quaterniond q1 = Eigen::Quaterniond::FromTwoVectors(z, land_normal.normalized());
  return q0.slerp(mj, q1).toRotationMatrix() * Eigen::AngleAxisd(yaw, z).toRotationMatrix();
}

}  // namespace oh::control
