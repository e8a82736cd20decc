#include "control/estimation/estimation.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using oh::control::BaseEstimator;
using oh::control::FootKinematics;

namespace {

// A base swaying on two fixed feet: p(t) = p0 + A sin(w t), rotating slowly about z. Kinematic measurements and
// the IMU's specific force are generated from the closed form, with noise.
struct Sway {
  Eigen::Vector3d p0{0.1, -0.2, 0.8}, A{0.03, 0.05, 0.01};
  double w = 3.0, wz = 0.4;
  std::vector<Eigen::Vector3d> feet{{0.1, 0.1, 0.0}, {0.1, -0.3, 0.0}};
  Eigen::Vector3d p(double t) const { return p0 + A * std::sin(w * t); }
  Eigen::Vector3d v(double t) const { return A * w * std::cos(w * t); }
  Eigen::Vector3d a(double t) const { return -A * w * w * std::sin(w * t); }
  Eigen::Matrix3d R(double t) const { return Eigen::AngleAxisd(0.2 * std::sin(wz * t), Eigen::Vector3d::UnitZ()).toRotationMatrix(); }
  Eigen::Vector3d omega(double t) const { return Eigen::Vector3d(0, 0, 0.2 * wz * std::cos(wz * t)); }
};

}  // namespace

TEST(BaseEstimator, TracksSwayOnFixedFeetWithNoise) {
  Sway s;
  const Eigen::Vector3d g(0, 0, -9.81);
  std::mt19937 rng(3);
  std::normal_distribution<double> n(0.0, 1.0);
  auto feet_at = [&](double t, double noise) {
    std::vector<FootKinematics> out;
    for (const auto& f : s.feet) {
      FootKinematics k;
      k.stance = true;
      k.r = f - s.p(t) + noise * Eigen::Vector3d(n(rng), n(rng), n(rng));
      // The foot is fixed: 0 = v_base + omega x r + v_rel.
      k.v_rel = -s.v(t) - s.omega(t).cross(f - s.p(t)) + 10 * noise * Eigen::Vector3d(n(rng), n(rng), n(rng));
      out.push_back(k);
    }
    return out;
  };
  BaseEstimator est(2);
  est.reset(s.p(0), s.v(0), feet_at(0, 0));
  const double dt = 0.002;
  double pos_sq = 0, vel_sq = 0;
  int count = 0;
  for (int k = 1; k <= 5000; ++k) {
    const double t = k * dt;
    const Eigen::Vector3d f_imu = s.R(t).transpose() * (s.a(t) - g) + 0.05 * Eigen::Vector3d(n(rng), n(rng), n(rng));
    est.update(dt, s.R(t), f_imu, s.omega(t), g, feet_at(t, 0.001));
    pos_sq += (est.position() - s.p(t)).squaredNorm();
    vel_sq += (est.velocity() - s.v(t)).squaredNorm();
    ++count;
  }
  EXPECT_LT(std::sqrt(pos_sq / count), 0.002);
  EXPECT_LT(std::sqrt(vel_sq / count), 0.02);
}

TEST(BaseEstimator, NonFiniteInputLeavesStateUnchanged) {
  BaseEstimator est(1);
  FootKinematics f;
  f.stance = true;
  f.r = Eigen::Vector3d(0, 0, -0.8);
  est.reset(Eigen::Vector3d(0, 0, 0.8), Eigen::Vector3d::Zero(), {f});
  est.update(0.002, Eigen::Matrix3d::Identity(), Eigen::Vector3d(NAN, 0, 9.81), Eigen::Vector3d::Zero(),
             Eigen::Vector3d(0, 0, -9.81), {f});
  EXPECT_TRUE(est.position().isApprox(Eigen::Vector3d(0, 0, 0.8)));
  EXPECT_TRUE(est.velocity().isZero());
}
