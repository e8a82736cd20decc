// Floating-base state estimation: base orientation from the IMU, base position and velocity from a
// linear Kalman filter fusing the IMU's specific force with stance-leg kinematics.
//
// Source: the linear KF of Flayols, Del Prete, Wensing, Mifsud, Benallegue, Mansard, "Experimental
// evaluation of simple estimators for humanoid robots", Humanoids 2017 (sec. III-B), itself a reduced form of
// Bloesch et al., "State estimation for legged robots", RSS 2012. State x = [p (3), v (3)], world frame [m, m/s].
//   predict: p += v dt + ½ a dt², v += a dt, with a = R f_imu + g           (constant-acceleration model)
//   update, per stance foot i:  p = anchor_i − r_i            (anchor fixed in world while in stance)
//                               v = −(ω × r_i + v_rel_i)       (the foot does not move)
// where r_i = p_foot − p_base and v_rel_i is the foot velocity due to joint motion, both in world axes.
#pragma once

#include <Eigen/Core>
#include <Eigen/Geometry>

#include <vector>

namespace oh::control {

/// Kinematic measurement of one foot, produced by forward kinematics on the measured joints.
struct FootKinematics {
  bool stance = false;                               ///< the foot carries load (contact force above threshold)
  Eigen::Vector3d r = Eigen::Vector3d::Zero();       ///< p_foot − p_base, world axes [m]
  Eigen::Vector3d v_rel = Eigen::Vector3d::Zero();   ///< foot velocity from joint rates only, world axes [m/s]
};

/// Noise parameters (standard deviations).
struct BaseEstimatorParams {
  double accel_noise = 0.5;        ///< IMU specific-force noise [m/s²]
  double foot_position_noise = 0.005;  ///< kinematic foot position [m]
  double foot_velocity_noise = 0.05;   ///< kinematic foot velocity [m/s]
};

/// Linear KF for the base position and velocity. No allocation after construction.
class BaseEstimator {
 public:
  explicit BaseEstimator(int n_feet, BaseEstimatorParams params = {});

  /// Starts from a known pose (the run's initial state); anchors are set from the stance feet.
  void reset(const Eigen::Vector3d& p, const Eigen::Vector3d& v, const std::vector<FootKinematics>& feet);

  /// One filter step of dt [s]. R: world ← base orientation; f_imu: specific force in the base frame [m/s²];
  /// omega_world: base angular velocity in world axes [rad/s]; gravity in world [m/s²]. Feet must have the
  /// size given at construction. Non-finite inputs skip the step and leave the state unchanged.
  void update(double dt, const Eigen::Matrix3d& R, const Eigen::Vector3d& f_imu, const Eigen::Vector3d& omega_world,
              const Eigen::Vector3d& gravity, const std::vector<FootKinematics>& feet);

  const Eigen::Vector3d& position() const { return p_; }   ///< base position, world [m]
  const Eigen::Vector3d& velocity() const { return v_; }   ///< base velocity, world [m/s]

 private:
  void measure(const Eigen::Matrix<double, 3, 6>& H, const Eigen::Vector3d& residual, double sigma);

  BaseEstimatorParams params_;
  Eigen::Vector3d p_ = Eigen::Vector3d::Zero(), v_ = Eigen::Vector3d::Zero();
  Eigen::Matrix<double, 6, 6> P_ = Eigen::Matrix<double, 6, 6>::Identity() * 1e-4;
  std::vector<Eigen::Vector3d> anchors_;
  std::vector<bool> was_stance_;
};

}  // namespace oh::control
