// Whole-body controller on the built-in robot standing at its nominal pose: the contact wrenches carry the
// weight, a planned ZMP shifts the reference load between the feet and the centre of pressure, and the base
// orientation task turns the base toward its target. The closed-loop behaviour (standing, pushes, walking) is
// tested through runtime/tests.
#include "control/wbc/wbc.hpp"
#include "model/model.hpp"
#include "model/profile.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <optional>

namespace {

using oh::control::WbcTargets;
using oh::control::WholeBodyController;

/// A robot (the built-in one by default) standing at its nominal pose, with targets that hold it there.
struct Standing {
  oh::model::LoadedRobot robot;
  oh::model::Profile profile = oh::model::profile_for(robot.model);
  WholeBodyController wbc{robot.model, profile, 0.002};
  Eigen::VectorXd q = profile.q_nominal, v = Eigen::VectorXd::Zero(robot.model.nv);
  WbcTargets t;
  double weight = 0.0;

  explicit Standing(const std::filesystem::path& path = oh::model::builtin_robot_path())
      : robot(oh::model::load(path)) {
    t.q_posture = q;
    for (int i = 0; i < 2; ++i) {
      t.foot[i] = wbc.sole_pose(q, i);
      t.foot_vel[i].setZero();
    }
    t.com = wbc.com(q);
    t.torso = wbc.torso_orientation(q);
    weight = robot.model.total_mass() * robot.model.gravity.norm();
  }
  /// World xy of a point at fraction s along the segment from the left sole centre to the right one.
  Eigen::Vector2d between(double s) {
    const Eigen::Vector2d l = wbc.sole_pose(q, 0).translation().head<2>();
    const Eigen::Vector2d r = wbc.sole_pose(q, 1).translation().head<2>();
    return l + s * (r - l);
  }
};

}  // namespace

TEST(Wbc, StandingWrenchesCarryTheWeight) {
  Standing s;
  const auto& o = s.wbc.update(s.q, s.v, s.t);
  ASSERT_TRUE(o.ok) << o.status;
  EXPECT_NEAR(o.wrench[0][2] + o.wrench[1][2], s.weight, 0.01 * s.weight);
  EXPECT_LT(o.com_acc.norm(), 0.05);
}

TEST(Wbc, PlannedZmpShiftsTheLoadBetweenTheFeet) {
  // With a ZMP target the reference wrenches follow it: near the left foot the left foot carries most of the
  // weight, near the right foot the right one; the weight is carried either way.
  Standing s;
  s.wbc.params().w_force = 1e-2;
  s.wbc.params().w_cop = 1e-2;
  for (const double frac : {0.2, 0.8}) {
    s.t.zmp = s.between(frac);
    const auto& o = s.wbc.update(s.q, s.v, s.t);
    ASSERT_TRUE(o.ok) << o.status;
    const double left = o.wrench[0][2], right = o.wrench[1][2];
    EXPECT_NEAR(left + right, s.weight, 0.02 * s.weight);
    if (frac < 0.5) EXPECT_GT(left, 2.0 * right) << "zmp at " << frac;
    else EXPECT_GT(right, 2.0 * left) << "zmp at " << frac;
  }
  // Single support on the left foot: a ZMP 3 cm ahead of its sole centre moves the centre of pressure forward
  // (the reference is a soft target traded against the CoM task, so only its direction is asserted).
  s.t.contact = {true, false};
  auto cop_x = [&](const std::optional<Eigen::Vector2d>& zmp) {
    s.t.zmp = zmp;
    const auto& o = s.wbc.update(s.q, s.v, s.t);
    EXPECT_TRUE(o.ok) << o.status;
    return -o.wrench[0][4] / o.wrench[0][2];
  };
  const Eigen::Isometry3d X = s.wbc.sole_pose(s.q, 0);
  const double free = cop_x(std::nullopt);
  const double ahead = cop_x((X.translation() + X.linear() * Eigen::Vector3d(0.03, 0.0, 0.0)).head<2>().eval());
  EXPECT_GT(ahead, free + 0.003);
}

TEST(Wbc, BaseOrientationTaskTurnsTheBaseTowardItsTarget) {
  // Target: the base pitched forward by 0.1 rad. The base's angular acceleration (base frame, v[3..5]) about y is
  // positive with the task and (nearly) absent without it.
  Standing s;
  const Eigen::Quaterniond qb(s.q[3], s.q[4], s.q[5], s.q[6]);
  s.t.pelvis = qb * Eigen::Quaterniond(Eigen::AngleAxisd(0.1, Eigen::Vector3d::UnitY()));
  s.wbc.params().w_pelvis = 0.0;
  const double without = s.wbc.update(s.q, s.v, s.t).a[4];
  s.wbc.params().w_pelvis = 10.0;
  const auto& o = s.wbc.update(s.q, s.v, s.t);
  ASSERT_TRUE(o.ok) << o.status;
  EXPECT_GT(o.a[4], without + 1.0);
}

TEST(Wbc, SwingMomentumMapPredictsTheAngularMomentumOfASwing) {
  // Single support on the left foot while the right foot is driven up and forward: the change of the
  // centroidal angular momentum rate the QP's accelerations produce (Ag a at v = 0, dynamics/ccrba) matches the
  // map's prediction K a_foot, a_foot the change of the swing sole's acceleration (finite differences of its
  // pose along the QP's a).
  Standing s;
  s.t.contact = {true, false};
  const oh::dynamics::Model& dm = s.wbc.dynamics_model();
  oh::dynamics::Data data(dm);
  auto solve = [&](const Eigen::Vector3d& offset, Eigen::Vector3d& dL, Eigen::Vector3d& a_foot) {
    s.t.foot[1] = s.wbc.sole_pose(s.q, 1);
    s.t.foot[1].translation() += offset;
    const auto& o = s.wbc.update(s.q, s.v, s.t);
    ASSERT_TRUE(o.ok) << o.status;
    const Eigen::VectorXd a = o.a;
    dL = oh::dynamics::ccrba(dm, data, s.q, s.v).bottomRows<3>() * a;
    const double h = 1e-4;
    Eigen::VectorXd qp(s.q.size()), qm(s.q.size());
    oh::dynamics::integrate(dm, s.q, a, h, qp);
    oh::dynamics::integrate(dm, s.q, a, -h, qm);
    // At v = 0 the sole's acceleration is J a: the central difference of its position along a.
    a_foot = (s.wbc.sole_pose(qp, 1).translation() - s.wbc.sole_pose(qm, 1).translation()) / (2.0 * h);
  };
  Eigen::Vector3d dL0, af0, dL1, af1;
  solve(Eigen::Vector3d::Zero(), dL0, af0);
  solve(Eigen::Vector3d(0.02, 0.0, 0.02), dL1, af1);
  const Eigen::Matrix3d K = s.wbc.swing_momentum_map(s.q, 1);
  const Eigen::Vector3d predicted = K * (af1 - af0), actual = dL1 - dL0;
  ASSERT_GT((af1 - af0).norm(), 1.0) << "the swing did not accelerate";
  // Measured on the built-in robot: predicted (-18.1, -48.0, 5.4), actual (-12.1, -48.1, 5.8) [kg m^2/s^2].
  EXPECT_LT((predicted - actual).norm(), 0.2 * actual.norm())
      << "predicted " << predicted.transpose() << " actual " << actual.transpose();
}

TEST(Wbc, AnkleRollIsFoundFromTheLegJoints) {
  // The built-in robot's ankles pitch and roll: its soles are held flat, with a full contact wrench.
  Standing s;
  EXPECT_TRUE(oh::control::WbcParams::has_ankle_roll(s.robot.model, s.profile, 0));
  EXPECT_TRUE(oh::control::WbcParams::has_ankle_roll(s.robot.model, s.profile, 1));
  EXPECT_FALSE(s.wbc.params().passive_sole_roll);
}

TEST(Wbc, FeetWithoutAnkleRollAreLineContactsWithoutRollMoment) {
  // H1's legs end in a pitch-only ankle over a heel-to-toe capsule line: its soles roll freely, so the contact
  // carries no roll moment about the line (m_x = c_y f_z, c_y the support centroid's offset), even when the CoM is
  // asked to move sideways. G1's ankles roll: its soles stay full contacts.
  const auto h1_dir = oh::model::shared_dir() / "robots" / "unitree_h1";
  const auto g1_dir = oh::model::shared_dir() / "robots" / "unitree_g1";
  if (!std::filesystem::exists(h1_dir) || !std::filesystem::exists(g1_dir))
    GTEST_SKIP() << "../shared/robots/unitree_{h1,g1} not found; set OH_SHARED_DIR";
  const auto g1 = oh::model::load(oh::model::resolve_robot(g1_dir.string()));
  const auto g1_profile = oh::model::profile_for(g1.model);
  EXPECT_TRUE(oh::control::WbcParams::has_ankle_roll(g1.model, g1_profile, 0));
  EXPECT_TRUE(oh::control::WbcParams::has_ankle_roll(g1.model, g1_profile, 1));

  Standing s(oh::model::resolve_robot(h1_dir.string()));
  EXPECT_FALSE(oh::control::WbcParams::has_ankle_roll(s.robot.model, s.profile, 0));
  EXPECT_FALSE(oh::control::WbcParams::has_ankle_roll(s.robot.model, s.profile, 1));
  ASSERT_TRUE(s.wbc.params().passive_sole_roll);
  s.t.com += Eigen::Vector3d(0.0, 0.03, 0.0);
  const auto& o = s.wbc.update(s.q, s.v, s.t);
  ASSERT_TRUE(o.ok) << o.status;
  for (int i = 0; i < 2; ++i) {
    const Eigen::Vector3d c = s.wbc.sole_pose(s.q, i).inverse() * s.wbc.support_center(s.q, i);
    EXPECT_NEAR(o.wrench[i][3], c.y() * o.wrench[i][2], 1e-6 * s.weight) << "foot " << i;
  }
  // Pulled left, the CoM accelerates left: the centre of pressure moves right of it, onto the right foot.
  EXPECT_GT(o.com_acc.y(), 0.0);
  EXPECT_GT(o.wrench[1][2], o.wrench[0][2]);
}

// The rectangle's yaw-torque rows (Caron et al., ICRA 2015) against wrenches built from forces at its four
// corners, each inside its friction pyramid: every such wrench satisfies them (the rows are sound), the pure
// turn mu (X + Y) f_z is reached exactly (tight), and a little more violates them.
TEST(RectangleYawCone, HoldsEveryCornerForceWrenchAndIsTight) {
  const double X = 0.085, Y = 0.03, mu = 0.4;
  const Eigen::Vector2d c(0.02, -0.01);  // the rectangle's centre in the sole frame
  const auto A = oh::control::rectangle_yaw_torque_rows(X, Y, mu, c);
  const Eigen::Vector2d corners[4] = {c + Eigen::Vector2d(X, Y), c + Eigen::Vector2d(-X, Y),
                                      c + Eigen::Vector2d(-X, -Y), c + Eigen::Vector2d(X, -Y)};
  auto wrench = [&](const Eigen::Vector3d (&f)[4]) {
    Eigen::Matrix<double, 6, 1> w = Eigen::Matrix<double, 6, 1>::Zero();
    for (int k = 0; k < 4; ++k) {
      w.head<3>() += f[k];
      w.tail<3>() += Eigen::Vector3d(corners[k].x(), corners[k].y(), 0.0).cross(f[k]);
    }
    return w;
  };
  std::srand(7);
  auto uniform = [] { return static_cast<double>(std::rand()) / RAND_MAX; };
  for (int n = 0; n < 20000; ++n) {
    Eigen::Vector3d f[4];
    for (auto& fk : f) {
      const double fz = uniform() < 0.2 ? 0.0 : uniform();  // some corners unloaded: the centre of pressure moves
      // Tangential forces on the pyramid's faces and inside it.
      const double ax = uniform() < 0.3 ? (uniform() < 0.5 ? -1.0 : 1.0) : 2.0 * uniform() - 1.0;
      const double ay = uniform() < 0.3 ? (uniform() < 0.5 ? -1.0 : 1.0) : 2.0 * uniform() - 1.0;
      fk = Eigen::Vector3d(ax * mu * fz, ay * mu * fz, fz);
    }
    const Eigen::Matrix<double, 8, 1> r = A * wrench(f);
    ASSERT_LE(r.maxCoeff(), 1e-12) << "sample " << n;
  }
  // The largest turn: each corner's tangential force at the pyramid's corner, perpendicular-most to its lever.
  Eigen::Vector3d f[4];
  for (int k = 0; k < 4; ++k) {
    const Eigen::Vector2d d = corners[k] - c;
    f[k] = Eigen::Vector3d(-mu * (d.y() > 0 ? 1.0 : -1.0), mu * (d.x() > 0 ? 1.0 : -1.0), 1.0);
  }
  Eigen::Matrix<double, 6, 1> w = wrench(f);
  const double tau_c = w[5] - (c.x() * w[1] - c.y() * w[0]);  // about the centre
  EXPECT_NEAR(tau_c, mu * (X + Y) * 4.0, 1e-12);
  EXPECT_NEAR((A * w).maxCoeff(), 0.0, 1e-12);
  w[5] += 1e-3;
  EXPECT_GT((A * w).maxCoeff(), 0.0);
}
