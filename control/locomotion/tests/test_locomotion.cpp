#include "control/locomotion/locomotion.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

using namespace oh::control;

namespace {

GaitParams params() {
  GaitParams p;  // a 0.85 m CoM robot, 0.2 m stance width
  p.com_height = 0.85;
  p.t_single = 0.4;
  p.t_double = 0.1;
  p.nominal_width = 0.2;
  p.min_width = 0.12;
  p.max_step_x = 0.3;
  p.max_step_y = 0.15;
  p.zmp_half_length = 0.07;
  p.zmp_half_width = 0.03;
  return p;
}

Footstep step(int side, double x, double y, double yaw = 0) {
  Footstep f;
  f.side = side;
  f.pos = {x, y};
  f.yaw = yaw;
  return f;
}

}  // namespace

TEST(FootstepPlanner, ForwardStepsAdvanceByCommandTimesPeriod) {
  const GaitParams p = params();
  FootstepPlanner planner(p);
  const auto steps = planner.plan(step(kLeft, 0, 0.1), {0.4, 0, 0}, 6);
  ASSERT_EQ(steps.size(), 6u);
  for (size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(steps[i].side, i % 2 == 0 ? kRight : kLeft);
    EXPECT_NEAR(steps[i].pos.x(), 0.4 * p.t_step() * (i + 1), 1e-12);
    EXPECT_NEAR(std::abs(steps[i].pos.y()), 0.1, 1e-12);
  }
}

TEST(FootstepPlanner, LateralCommandNeverCrossesFeet) {
  FootstepPlanner planner(params());
  Footstep cur = step(kLeft, 0, 0.1);
  for (double vy : {-5.0, 5.0}) {
    const auto steps = planner.plan(cur, {0, vy, 0}, 8);
    Footstep prev = cur;
    for (const auto& s : steps) {
      const double lateral = (s.side == kLeft ? 1 : -1) * (s.pos.y() - prev.pos.y());
      EXPECT_GE(lateral, 0.12 - 1e-12);
      EXPECT_LE(lateral, 0.35 + 1e-12);
      prev = s;
    }
  }
}

TEST(FootstepPlanner, TurnStaysWithinYawLimitAndCommandIsClamped) {
  const GaitParams p = params();
  FootstepPlanner planner(p);
  const auto steps = planner.plan(step(kLeft, 0, 0.1), {0, 0, 100.0}, 4);
  double prev = 0;
  for (const auto& s : steps) {
    EXPECT_LE(std::abs(s.yaw - prev), p.max_step_yaw + 1e-12);
    prev = s.yaw;
  }
  EXPECT_DOUBLE_EQ(planner.clamp_command({NAN, 10, -10}).x(), 0.0);
  EXPECT_DOUBLE_EQ(planner.clamp_command({NAN, 10, -10}).y(), p.max_vy);
}

TEST(SwingTrajectory, SoleTurnsFromTheLiftNormalToTheLandingNormal) {
  SwingTrajectory s;
  s.duration = 0.4;
  const double a = 10.0 * std::numbers::pi / 180.0;  // onto a 10 degree ramp rising along x
  s.land_normal = Eigen::Vector3d(-std::sin(a), 0, std::cos(a));
  const double yaw = 0.3;
  // At lift-off: level, turned by the yaw alone.
  const Eigen::Matrix3d R0 = s.orientation(0.0, yaw);
  EXPECT_NEAR((R0 - Eigen::AngleAxisd(yaw, Eigen::Vector3d::UnitZ()).toRotationMatrix()).norm(), 0, 1e-12);
  // At touchdown: the sole's z axis along the ground normal, its x axis in the ramp's plane, and its heading
  // (x axis projected on the horizontal) still the yaw: tilting about the ramp's own axis (y) keeps it.
  const Eigen::Matrix3d R1 = s.orientation(0.4, yaw);
  EXPECT_NEAR((R1.col(2) - s.land_normal).norm(), 0, 1e-12);
  EXPECT_NEAR(R1.col(0).dot(s.land_normal), 0, 1e-12);
  EXPECT_NEAR(std::atan2(R1(1, 0), R1(0, 0)), yaw, 0.01);
  EXPECT_NEAR((R1.transpose() * R1 - Eigen::Matrix3d::Identity()).norm(), 0, 1e-12);
  // Halfway (minimum-jerk s = 0.5): half the tilt.
  EXPECT_NEAR(std::acos(s.orientation(0.2, yaw).col(2).z()), 0.5 * a, 1e-9);
}

TEST(SwingTrajectory, StartsAndEndsAtRestWithApexInTheMiddle) {
  SwingTrajectory s;
  s.lift = step(kRight, 0, -0.1);
  s.land = step(kRight, 0.3, -0.1, 0.2);
  s.z_lift = 0.0;
  s.z_land = 0.04;
  s.apex = 0.07;
  s.duration = 0.4;
  Eigen::Vector3d p, v;
  double yaw, wz;
  s.sample(0, p, yaw, v, wz);
  EXPECT_NEAR(p.x(), 0, 1e-12);
  EXPECT_NEAR(v.norm(), 0, 1e-12);
  s.sample(0.4, p, yaw, v, wz);
  EXPECT_NEAR(p.x(), 0.3, 1e-12);
  EXPECT_NEAR(p.z(), 0.04, 1e-12);
  EXPECT_NEAR(yaw, 0.2, 1e-12);
  EXPECT_NEAR(v.norm(), 0, 1e-12);
  s.sample(0.2, p, yaw, v, wz);
  EXPECT_NEAR(p.z(), 0.02 + 0.07, 1e-12);
  // Velocity is the derivative of position (central difference).
  Eigen::Vector3d pa, pb, va;
  double y0, y1;
  s.sample(0.1 - 1e-6, pa, y0, va, wz);
  s.sample(0.1 + 1e-6, pb, y1, va, wz);
  s.sample(0.1, p, yaw, v, wz);
  EXPECT_NEAR(((pb - pa) / 2e-6 - v).norm(), 0, 1e-6);
}

TEST(LipmMpc, StandingStillKeepsZmpUnderTheCom) {
  const GaitParams p = params();
  LipmMpc mpc(p);
  LipmMpc::Input in;
  in.steps = {step(kLeft, 0, 0.1), step(kRight, 0, -0.1), step(kLeft, 0, 0.1)};
  in.step_fixed = {true, true};
  in.support = {{0.0, 10.0, 0, 1, 0.5, 0.5}};  // standing between the feet for the whole horizon
  in.com = {0.0, 0.0};
  const auto& out = mpc.solve(in);
  ASSERT_TRUE(out.ok);
  EXPECT_LT(out.com_acc.norm(), 0.5);
}

TEST(LipmMpc, SwingCopOffsetShiftsThePendulumZmp) {
  // Single support on the left foot with the CoM at rest above it: without an offset the ZMP stays under the CoM.
  // A swing that will move the centre of pressure 5 cm forward (and 1 cm left) for the first 0.2 s makes the MPC
  // plan the pendulum ZMP behind and to the right, toward keeping the centre of pressure p + d at the sole centre;
  // an offset beyond the box keeps p + d inside it (a hard constraint).
  const GaitParams p = params();
  LipmMpc mpc(p);
  LipmMpc::Input in;
  in.steps = {step(kLeft, 0, 0.1), step(kRight, 0, -0.1), step(kLeft, 0, 0.1)};
  in.step_fixed = {true, true};
  in.support = {{0.0, 1e9, 0, -1}};
  in.com = {0.0, 0.1};
  const Eigen::Vector2d free = mpc.solve(in).zmp;
  EXPECT_NEAR(free.x(), 0.0, 1e-3);
  EXPECT_NEAR(free.y(), 0.1, 1e-3);
  in.cop_offset.assign(static_cast<size_t>(mpc.horizon()), Eigen::Vector2d::Zero());
  for (int k = 0; k < 4; ++k) in.cop_offset[static_cast<size_t>(k)] = {0.05, 0.01};
  const auto& out = mpc.solve(in);
  ASSERT_TRUE(out.ok);
  // The ZMP tracking term is soft against the terminal DCM (w_zmp << w_dcm): the pendulum ZMP moves back by
  // 0.9 cm here (measured), against the offset, not by all of it.
  EXPECT_LT(out.zmp.x(), free.x() - 0.005);
  EXPECT_LT(out.zmp.y(), free.y() - 0.001);
  for (int k = 0; k < 4; ++k) in.cop_offset[static_cast<size_t>(k)] = {0.2, 0.0};
  const auto& big = mpc.solve(in);
  ASSERT_TRUE(big.ok);
  EXPECT_LE(big.zmp.x() + 0.2, p.zmp_half_length + 1e-6);
  EXPECT_GE(big.zmp.x() + 0.2, -p.zmp_half_length - 1e-6);
}

TEST(LipmMpc, ForwardPushMovesTheNextStepForward) {
  const GaitParams p = params();
  FootstepPlanner planner(p);
  LipmMpc mpc(p);
  LipmMpc::Input in;
  const Footstep stance = step(kLeft, 0, 0.1);
  auto plan = planner.plan(stance, {0, 0, 0}, 2);
  in.steps = {stance, plan[0], plan[1]};
  in.step_fixed = {false, false};
  // Single support on the left foot for t_single, double support, single support on the next step...
  const double ts = p.t_single, td = p.t_double;
  in.support = {{0, ts, 0, -1}, {ts, ts + td, 0, 1}, {ts + td, 2 * ts + td, 1, -1}, {2 * ts + td, 2 * ts + 2 * td, 1, 2},
                {2 * ts + 2 * td, 10, 2, -1}};
  in.com = {0.0, 0.1};
  in.com_vel = {0.0, 0.0};
  const double x_still = mpc.solve(in).steps[1].pos.x();
  in.com_vel = {0.6, 0.0};
  const auto& pushed = mpc.solve(in);
  ASSERT_TRUE(pushed.ok);
  EXPECT_GT(pushed.steps[1].pos.x(), x_still + 0.1);
  EXPECT_LE(pushed.steps[1].pos.x(), p.max_step_x + 1e-6);
  // The ZMP stays in the stance foot's box.
  EXPECT_LE(std::abs(pushed.zmp.x() - 0.0), p.zmp_half_length + 1e-6);
}

TEST(LipmMpc, AnInwardPushCostsLessWithAnEarlierStep) {
  // Single support on the left foot, pushed at 0.5 m/s toward the swing (right) side. Landing after the nominal
  // 0.4 s, the DCM (here at y = -0.1 m, 0.2 m from the stance foot) diverges by e^(w 0.4) ~ 3.9 to about
  // y = -0.67 m, beyond the lateral reach (y >= -0.25 m); landing after 0.16 s it grows by only ~ 1.7 to -0.24 m.
  // The cost, constants included, must rank the two timings that way; without a push the nominal timing
  // costs no more than the early one.
  const GaitParams p = params();
  FootstepPlanner planner(p);
  LipmMpc mpc(p);
  WalkingPhase ph;
  ph.single = true;
  ph.stance = step(kLeft, 0, 0.1);
  ph.duration = p.t_single;
  auto cost = [&](double remaining, const Eigen::Vector2d& com_vel) {
    ph.elapsed = ph.duration - remaining;
    const auto in = walking_mpc_input(p, planner, ph, {0, 0, 0}, {0.0, 0.05}, com_vel);
    const auto& out = mpc.solve(in);
    EXPECT_TRUE(out.ok);
    EXPECT_GE(out.cost, 0.0);
    return out.cost;
  };
  const double nominal = cost(0.4, {0, -0.5}), early = cost(0.16, {0, -0.5});
  EXPECT_LT(early, 0.5 * nominal);
  EXPECT_LE(cost(0.4, {0, 0}), cost(0.16, {0, 0}) + 1e-9);
}

TEST(LipmMpc, AFrozenStepOutOfReachKeepsTheProblemFeasible) {
  // A pushed swing foot landed crossing toward the stance foot (closer than min_width): in the double support
  // that follows it is a frozen step, and its reach constraint must not make the problem infeasible.
  const GaitParams p = params();
  FootstepPlanner planner(p);
  LipmMpc mpc(p);
  WalkingPhase ph;
  ph.single = false;
  ph.prev = step(kLeft, 0, 0.1);
  ph.stance = step(kRight, 0.1, 0.05);  // 0.05 m from the left foot, min_width is 0.12 m
  ph.duration = p.t_double;
  ph.elapsed = 0.02;
  const auto in = walking_mpc_input(p, planner, ph, {0.3, 0, 0}, {0.05, 0.07}, {0.3, -0.2});
  const auto& out = mpc.solve(in);
  ASSERT_TRUE(out.ok);
  EXPECT_NEAR(out.steps[1].pos.y(), 0.05, 1e-9);  // stays where it landed
  EXPECT_GE(out.steps[2].pos.y(), 0.05 + p.min_width - 1e-6);  // the next (left) step keeps its reach from it
}

TEST(LipmMpc, StepWeightsActAlongAndAcrossTheStepHeading) {
  // A heading of 0.5 rad and a diagonal push: with a weak weight along the heading and a strong one across it,
  // the step adapts along its heading and holds its width, measured in the step's own frame.
  const GaitParams p = params();
  FootstepPlanner planner(p);
  Footstep stance = step(kLeft, 0, 0.1);
  stance.yaw = 0.5;
  const auto plan = planner.plan(stance, {0, 0, 0}, 2);
  LipmMpc::Input in;
  in.steps = {stance, plan[0], plan[1]};
  in.step_fixed = {false, false};
  const double ts = p.t_single, td = p.t_double;
  in.support = {{0, ts, 0, -1}, {ts, ts + td, 0, 1}, {ts + td, 2 * ts + td, 1, -1}, {2 * ts + td, 10, 1, 2}};
  in.com = stance.pos + Eigen::Rotation2Dd(0.5) * Eigen::Vector2d(0, -0.1);
  in.com_vel = Eigen::Rotation2Dd(0.5) * Eigen::Vector2d(0.3, 0.3);  // forward and outward in the heading frame
  auto deviation = [&](double w_along, double w_across) {
    LipmMpc mpc(p);
    mpc.w_step = w_along;
    mpc.w_step_lateral = w_across;
    const auto& out = mpc.solve(in);
    EXPECT_TRUE(out.ok);
    return Eigen::Vector2d(Eigen::Rotation2Dd(-plan[0].yaw) * (out.steps[1].pos - plan[0].pos));
  };
  const Eigen::Vector2d equal = deviation(5, 5), split = deviation(0.5, 50);
  EXPECT_GT(split.x(), equal.x() + 0.01);
  EXPECT_LT(std::abs(split.y()), 0.5 * std::abs(equal.y()));
  EXPECT_GT(std::abs(equal.y()), 0.01);
}

TEST(LipmMpc, DoubleSupportZmpStaysInTheHullOfDiagonalFeet) {
  // Feet one step apart diagonally: a rectangle spanning the segment would reach well outside the two soles.
  // Whatever the CoM does, the ZMP must stay in the convex hull of the two ZMP boxes.
  const GaitParams p = params();
  LipmMpc mpc(p);
  const Footstep a = step(kRight, 0.0, -0.1), b = step(kLeft, 0.3, 0.1);
  auto in_hull = [&](const Eigen::Vector2d& z) {
    std::vector<Eigen::Vector2d> pts;
    for (const Footstep& f : {a, b})
      for (double sx : {-1.0, 1.0})
        for (double sy : {-1.0, 1.0}) pts.push_back(f.pos + Eigen::Vector2d(sx * p.zmp_half_length, sy * p.zmp_half_width));
    // Inside the hull iff on the inner side of every edge direction given by the hull's supporting lines:
    // check with the support function over many directions.
    for (int k = 0; k < 360; ++k) {
      const Eigen::Vector2d d(std::cos(k * M_PI / 180), std::sin(k * M_PI / 180));
      double h = -1e9;
      for (const auto& q : pts) h = std::max(h, d.dot(q));
      if (d.dot(z) > h + 1e-6) return false;
    }
    return true;
  };
  for (const Eigen::Vector2d& vel : {Eigen::Vector2d(0, -3), Eigen::Vector2d(0, 3), Eigen::Vector2d(3, -3),
                                    Eigen::Vector2d(-3, 3), Eigen::Vector2d(3, 3), Eigen::Vector2d(-3, -3)}) {
    LipmMpc::Input in;
    in.steps = {a, b, step(kRight, 0.6, -0.1)};
    in.step_fixed = {true, true};
    in.support = {{0.0, 10.0, 0, 1, 0.5, 0.5}};
    in.com = {0.15, 0.0};
    in.com_vel = vel;
    const auto& out = mpc.solve(in);
    ASSERT_TRUE(out.ok);
    EXPECT_TRUE(in_hull(out.zmp)) << "com_vel " << vel.transpose() << ": zmp " << out.zmp.transpose();
  }
}

namespace {

/// Walks an ideal linear inverted pendulum with the MPC in the loop (100 Hz, exact pendulum between solves,
/// fixed step timing) and returns the mean CoM velocity over the last half of the run.
Eigen::Vector2d walk_ideal_pendulum(const GaitParams& p, const Eigen::Vector3d& cmd, double duration,
                                    Eigen::Vector2d push = Eigen::Vector2d::Zero(), double push_t = -1,
                                    double* min_margin = nullptr) {
  FootstepPlanner planner(p);
  LipmMpc mpc(p);
  const double w = p.omega(), ts = p.t_single, td = p.t_double, h = 0.01;
  Footstep stance = step(kLeft, 0, 0.5 * p.nominal_width), swing_target;
  Eigen::Vector2d c(0, 0), cd(0, 0);
  double phase_t = 0, t = 0;
  bool single = true;
  Eigen::Vector2d start(0, 0);
  double t_start = 0;
  if (min_margin) *min_margin = 1e9;
  Footstep prev = step(kRight, 0, -0.5 * p.nominal_width);
  while (t < duration) {
    WalkingPhase ph;
    ph.single = single;
    ph.elapsed = phase_t;
    ph.duration = single ? ts : td;
    ph.stance = stance;
    ph.prev = prev;
    const LipmMpc::Input in = walking_mpc_input(p, planner, ph, cmd, c, cd);
    const auto& out = mpc.solve(in);
    if (single) swing_target = out.steps[1];
    if (min_margin && single && phase_t < ts - 2 * h)  // the last samples of a swing already plan the transfer
      *min_margin = std::min(*min_margin, p.zmp_half_length - std::abs((out.zmp - stance.pos).x()));
    // Exact pendulum over h with the ZMP held.
    for (int a = 0; a < 2; ++a) {
      const double c0 = c[a] - out.zmp[a], v0 = cd[a];
      c[a] = out.zmp[a] + c0 * std::cosh(w * h) + v0 / w * std::sinh(w * h);
      cd[a] = c0 * w * std::sinh(w * h) + v0 * std::cosh(w * h);
    }
    t += h;
    phase_t += h;
    if (push_t >= 0 && std::abs(t - push_t) < 0.5 * h) cd += push;
    if (single && phase_t >= ts - 1e-9) {
      prev = stance;
      stance = swing_target;
      single = false;
      phase_t = 0;
    } else if (!single && phase_t >= td - 1e-9) {
      single = true;
      phase_t = 0;
    }
    if (t >= 0.5 * duration && t_start == 0) {
      t_start = t;
      start = c;
    }
  }
  return (c - start) / (t - t_start);
}

}  // namespace

TEST(LipmMpc, IdealPendulumWalksAtTheCommandedVelocity) {
  const GaitParams p = params();
  for (const Eigen::Vector3d& cmd : {Eigen::Vector3d(0.3, 0, 0), Eigen::Vector3d(0.5, 0, 0), Eigen::Vector3d(-0.3, 0, 0),
                                    Eigen::Vector3d(0, 0.15, 0)}) {
    SCOPED_TRACE(cmd.transpose());
    const Eigen::Vector2d v = walk_ideal_pendulum(p, cmd, 12.0);
    EXPECT_NEAR(v.x(), cmd.x(), 0.02);
    EXPECT_NEAR(v.y(), cmd.y(), 0.02);
  }
}

TEST(LipmMpc, IdealPendulumAbsorbsSagittalPushesByStepping) {
  const GaitParams p = params();
  // A push of 0.3 m/s forward or backward while walking at 0.3 m/s: the velocity over the last half of the run is
  // back at the command (a diverging pendulum would run away) and the ZMP never left its box. Lateral pushes are
  // not absorbed yet by the pendulum alone (the swing foot may not cross the stance foot).
  for (const Eigen::Vector2d& push : {Eigen::Vector2d(0.3, 0), Eigen::Vector2d(-0.3, 0)}) {
    SCOPED_TRACE(push.transpose());
    double margin = 0;
    const Eigen::Vector2d v = walk_ideal_pendulum(p, {0.3, 0, 0}, 12.0, push, 2.0, &margin);
    EXPECT_NEAR(v.x(), 0.3, 0.03);
    EXPECT_NEAR(v.y(), 0.0, 0.03);
    EXPECT_GE(margin, -1e-6);
  }
}

TEST(GaitParams, ZmpBoxFitsInsideTheSupportPolygon) {
  // A rectangular sole keeps the default box; a heel point with a toe bar (a triangle) gets a box moved toward
  // the toe, narrower, with every corner inside the triangle.
  GaitParams p = params();
  const GaitParams before = p;
  p.fit_zmp_box({{-0.1, -0.05}, {0.1, -0.05}, {0.1, 0.05}, {-0.1, 0.05}});
  EXPECT_EQ(p.zmp_center, before.zmp_center);
  EXPECT_DOUBLE_EQ(p.zmp_half_length, before.zmp_half_length);
  EXPECT_DOUBLE_EQ(p.zmp_half_width, before.zmp_half_width);
  const std::vector<Eigen::Vector2d> tri = {{-0.09, 0.0}, {0.09, -0.03}, {0.09, 0.03}};
  p.fit_zmp_box(tri);
  EXPECT_GT(p.zmp_center.x(), 0.0);
  EXPECT_GT(p.zmp_half_width, 0.0);
  EXPECT_LE(p.zmp_half_length, before.zmp_half_length + 1e-12);
  for (double sx : {-1.0, 1.0})
    for (double sy : {-1.0, 1.0}) {
      const Eigen::Vector2d c = p.zmp_center + Eigen::Vector2d(sx * p.zmp_half_length, sy * p.zmp_half_width);
      for (size_t k = 0; k < tri.size(); ++k) {
        const Eigen::Vector2d a = tri[k], b = tri[(k + 1) % tri.size()];
        EXPECT_GE((b - a).x() * (c - a).y() - (b - a).y() * (c - a).x(), -1e-9) << "corner " << c.transpose();
      }
    }
  Footstep right = step(kRight, 1.0, -0.1, 0.0);
  EXPECT_NEAR(p.zmp_box_center(right).x(), 1.0 + p.zmp_center.x(), 1e-12);
  EXPECT_NEAR(p.zmp_box_center(right).y(), -0.1 - p.zmp_center.y(), 1e-12);
}

namespace {

/// Integrates the pendulum c'' = omega^2 (c - p) along one axis with RK4 (1e-4 s steps) for `t` seconds.
void integrate_lipm(double omega, double p, double t, double& c, double& cd) {
  const int n = std::max(1, static_cast<int>(std::ceil(t / 1e-4)));
  const double h = t / n;
  for (int i = 0; i < n; ++i) {
    auto acc = [&](double x) { return omega * omega * (x - p); };
    const double k1c = cd, k1v = acc(c);
    const double k2c = cd + 0.5 * h * k1v, k2v = acc(c + 0.5 * h * k1c);
    const double k3c = cd + 0.5 * h * k2v, k3v = acc(c + 0.5 * h * k2c);
    const double k4c = cd + h * k3v, k4v = acc(c + h * k3c);
    c += h / 6 * (k1c + 2 * k2c + 2 * k3c + k4c);
    cd += h / 6 * (k1v + 2 * k2v + 2 * k3v + k4v);
  }
}

}  // namespace

TEST(Capturability, PointFeetMatchKoolensClosedForm) {
  // Point feet (h = 0) and free lateral placement: the N-step capture regions along x are the discs of radius
  // d_N = L sum_{k=1..N} e^(-k omega T) (Koolen et al. 2012, Part 1, eq. 26 with r = 0).
  CaptureLimits lim;
  lim.omega = 3.4, lim.step_time = 0.3, lim.half_length = 0.0, lim.half_width = 0.0, lim.reach_x = 0.4;
  lim.min_width = 0.0, lim.max_width = 0.4;
  const double b = std::exp(-lim.omega * lim.step_time);
  double d = 0.0;
  for (int n = 1; n <= 3; ++n) {
    d += lim.reach_x * std::pow(b, n);
    for (int side : {kLeft, kRight}) {
      EXPECT_EQ(capture_steps(lim, {d - 1e-9, 0.0}, side, lim.step_time), n) << n;
      EXPECT_EQ(capture_steps(lim, {-(d - 1e-9), 0.0}, side, lim.step_time), n) << n;
      EXPECT_EQ(capture_steps(lim, {d + 1e-6, 0.0}, side, lim.step_time), n == 3 ? -1 : n + 1) << n;
    }
  }
}

TEST(Capturability, SagittalBoundMatchesAnIntegratedPendulumOnItsExtremeStrategy) {
  // The sagittal bound after a push, checked against the pendulum integrated numerically under the strategy
  // that reaches furthest (centre of pressure at the front edge, every step at full reach and as early as
  // allowed): just inside the n-step bound the capture point ends within the last foot's ZMP box, just
  // outside it does not.
  const CaptureLimits lim = CaptureLimits::from_gait(params(), 0.5);
  const double t1 = 0.12;  // the swing in the air lands in 0.12 s
  for (int n = 1; n <= 3; ++n) {
    // Bisect the largest capture point along x that capture_steps gives n steps or fewer.
    double lo = 0.0, hi = 2.0;
    for (int it = 0; it < 60; ++it) {
      const double mid = 0.5 * (lo + hi);
      const int k = capture_steps(lim, {mid, 0.0}, kLeft, t1, n);
      (k >= 0 ? lo : hi) = mid;
    }
    for (const double eps : {-1e-4, 1e-4}) {
      double c = 0.0, cd = (lo + eps) * lim.omega;  // the CoM over the stance box centre, xi = c + cd / omega
      double foot = 0.0;
      for (int s = 0; s < n; ++s) {
        integrate_lipm(lim.omega, foot + lim.half_length, s == 0 ? t1 : lim.step_time, c, cd);
        foot += lim.reach_x;
      }
      const double xi = c + cd / lim.omega - foot;
      if (eps < 0) EXPECT_LE(std::abs(xi), lim.half_length + 1e-6) << n;
      else EXPECT_GT(std::abs(xi), lim.half_length) << n;
    }
  }
}

TEST(Capturability, LateralPushesTowardTheStanceSideNeedAnExtraStep) {
  // Standing on the left foot (step time 0.2 s, the swing in the air lands in 0.1 s, omega 3.4 1/s): a capture
  // point 6 cm left of the stance box centre cannot be caught by the next step (the right foot may not cross
  // over, and after it the capture point may lie at most at the left box's edge, 3 cm), but two steps do. By
  // hand: at the right foot's touchdown the capture point may lie up to -0.12 + 0.03 + 0.35 e^(-0.68) = 0.087 m
  // left of the left box centre (the right foot's one-step region, placed at least 0.12 m to the right), so
  // now up to 0.03 + (0.087 - 0.03) e^(-0.34) = 0.070 m. 15 cm to the right takes one step. Mirrored for the
  // right foot.
  const CaptureLimits lim = CaptureLimits::from_gait(params(), 0.5);
  EXPECT_EQ(capture_steps(lim, {0.0, 0.06}, kLeft, 0.1), 2);
  EXPECT_EQ(capture_steps(lim, {0.0, 0.069}, kLeft, 0.1), 2);
  EXPECT_EQ(capture_steps(lim, {0.0, 0.071}, kLeft, 0.1), -1);
  EXPECT_EQ(capture_steps(lim, {0.0, 0.15}, kLeft, 0.1), -1);
  EXPECT_EQ(capture_steps(lim, {0.0, -0.15}, kLeft, 0.1), 1);
  EXPECT_EQ(capture_steps(lim, {0.0, -0.06}, kRight, 0.1), 2);
  EXPECT_EQ(capture_steps(lim, {0.0, 0.15}, kRight, 0.1), 1);
  // Inside the stance box nothing needs a step; far ahead nothing catches it within three.
  EXPECT_EQ(capture_steps(lim, {0.02, 0.01}, kLeft, 0.1), 0);
  EXPECT_EQ(capture_steps(lim, {1.5, 0.0}, kLeft, 0.1), -1);
  EXPECT_EQ(capture_steps(lim, {0.0, 0.06}, kLeft, 0.1, 1), -1);
  EXPECT_EQ(capture_steps(lim, {NAN, 0.0}, kLeft, 0.1), -1);
}
