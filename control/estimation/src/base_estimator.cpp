#include "control/estimation/estimation.hpp"

#include <stdexcept>

namespace oh::control {

BaseEstimator::BaseEstimator(int n_feet, BaseEstimatorParams params)
    : params_(params), anchors_(static_cast<size_t>(n_feet), Eigen::Vector3d::Zero()),
      was_stance_(static_cast<size_t>(n_feet), false) {
  if (n_feet < 0) throw std::invalid_argument("BaseEstimator: negative foot count");
}

void BaseEstimator::reset(const Eigen::Vector3d& p, const Eigen::Vector3d& v, const std::vector<FootKinematics>& feet) {
  if (feet.size() != anchors_.size()) throw std::invalid_argument("BaseEstimator::reset: wrong number of feet");
  p_ = p;
  v_ = v;
  P_ = Eigen::Matrix<double, 6, 6>::Identity() * 1e-6;
  for (size_t i = 0; i < feet.size(); ++i) {
    anchors_[i] = p + feet[i].r;
    was_stance_[i] = feet[i].stance;
  }
}

void BaseEstimator::measure(const Eigen::Matrix<double, 3, 6>& H, const Eigen::Vector3d& residual, double sigma) {
  const Eigen::Matrix3d S = H * P_ * H.transpose() + Eigen::Matrix3d::Identity() * sigma * sigma;
  const Eigen::Matrix<double, 6, 3> K = P_ * H.transpose() * S.inverse();
  Eigen::Matrix<double, 6, 1> x;
  x << p_, v_;
  x += K * residual;
  p_ = x.head<3>();
  v_ = x.tail<3>();
  P_ = (Eigen::Matrix<double, 6, 6>::Identity() - K * H) * P_;
  P_ = 0.5 * (P_ + P_.transpose()).eval();
}

void BaseEstimator::update(double dt, const Eigen::Matrix3d& R, const Eigen::Vector3d& f_imu,
                           const Eigen::Vector3d& omega_world, const Eigen::Vector3d& gravity,
                           const std::vector<FootKinematics>& feet) {
  if (feet.size() != anchors_.size() || !(dt > 0) || !R.allFinite() || !f_imu.allFinite() ||
      !omega_world.allFinite())
    return;
  for (const auto& f : feet)
    if (!f.r.allFinite() || !f.v_rel.allFinite()) return;

  // Predict.
  const Eigen::Vector3d a = R * f_imu + gravity;
  p_ += v_ * dt + 0.5 * a * dt * dt;
  v_ += a * dt;
  Eigen::Matrix<double, 6, 6> F = Eigen::Matrix<double, 6, 6>::Identity();
  F.block<3, 3>(0, 3) = Eigen::Matrix3d::Identity() * dt;
  Eigen::Matrix<double, 6, 3> G;
  G << Eigen::Matrix3d::Identity() * 0.5 * dt * dt, Eigen::Matrix3d::Identity() * dt;
  const double qa = params_.accel_noise * params_.accel_noise;
  P_ = F * P_ * F.transpose() + G * G.transpose() * qa;

  // Update with every stance foot; a foot that just touched down sets its anchor from the prediction.
  Eigen::Matrix<double, 3, 6> Hp = Eigen::Matrix<double, 3, 6>::Zero(), Hv = Eigen::Matrix<double, 3, 6>::Zero();
  Hp.block<3, 3>(0, 0).setIdentity();
  Hv.block<3, 3>(0, 3).setIdentity();
  for (size_t i = 0; i < feet.size(); ++i) {
    const FootKinematics& f = feet[i];
    if (!f.stance) {
      was_stance_[i] = false;
      continue;
    }
    if (!was_stance_[i]) anchors_[i] = p_ + f.r;
    was_stance_[i] = true;
    measure(Hv, -(omega_world.cross(f.r) + f.v_rel) - v_, params_.foot_velocity_noise);
    measure(Hp, anchors_[i] - f.r - p_, params_.foot_position_noise);
  }
}

}  // namespace oh::control
