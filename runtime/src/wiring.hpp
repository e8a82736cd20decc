// Internal wiring of the run loop: the estimator fed from the hardware state, and the controllers.
#pragma once

#include "control/estimation/estimation.hpp"
#include "control/wbc/wbc.hpp"
#include "dynamics/dynamics.hpp"
#include "model/profile.hpp"
#include "runtime/runner.hpp"

#include <memory>

namespace oh::runtime {

/// Writes the joint entries of a RobotState into full q (nq) and v (nv) vectors.
void joints_into(const model::Model& model, const RobotState& s, Eigen::VectorXd& q, Eigen::VectorXd& v);

/// Base state estimation from the hardware state: orientation and angular velocity from the IMU, position and
/// velocity from control::BaseEstimator fed with the feet's kinematics. Stance: a foot whose measured normal
/// force exceeds 15% of the robot's weight.
class StateEstimator {
 public:
  StateEstimator(const model::Model& model, const model::Profile& profile);
  /// Starts from a known base position and world velocity.
  void reset(const RobotState& s, const Eigen::Vector3d& p, const Eigen::Vector3d& v_world);
  /// One step; returns the estimate (q: nq, v: nv with the base twist in the base frame).
  const Estimate& update(const RobotState& s, double dt);
  const Eigen::Vector3d& base_position() const { return kf_.position(); }
  const Eigen::Vector3d& base_velocity_world() const { return kf_.velocity(); }

 private:
  void kinematics(const RobotState& s);

  const model::Model& model_;
  dynamics::Model dm_;
  dynamics::Data data_;
  std::array<int, 2> foot_frame_{};
  std::array<Eigen::Vector3d, 2> foot_point_{Eigen::Vector3d::Zero(), Eigen::Vector3d::Zero()};  ///< foot frame [m]
  int base_v_ = 0, base_q_ = 0, base_frame_ = 0;
  double weight_ = 0;
  control::BaseEstimator kf_{2};
  std::vector<control::FootKinematics> feet_{2};
  Estimate est_;
  dynamics::Matrix6Xd J_;
};

/// The whole-body controller on the hardware interface, with a scripted target for the stand family of tasks:
///   stand      hold the nominal posture, CoM over the centre of the feet;
///   com-shift  move the CoM 5 cm to the left (t 1→2 s), hold, back (t 4→5 s);
///   reach      move the right hand 20 cm forward (t 1→2.5 s) and hold.
class WbcController : public Controller {
 public:
  WbcController(const model::Model& model, const model::Profile& profile, const std::vector<std::string>& joints,
                double dt, std::string task);
  std::string name() const override { return "wbc"; }
  void reset(const RobotState& state, const Estimate& estimate) override;
  void update(const RobotState& state, const Estimate& estimate, std::vector<MotorCommand>& out) override;
  /// Task metrics for the report.
  nlohmann::json metrics() const override;
  std::optional<Eigen::Vector2d> com_xy_reference() const override { return targets_.com.head<2>(); }
  control::WholeBodyController& wbc() { return wbc_; }

 private:
  const model::Model& model_;
  const model::Profile& profile_;
  control::WholeBodyController wbc_;
  std::string task_;
  control::WbcTargets targets_;
  Eigen::Vector3d com0_, com_start_, hand0_;
  double settle_time_ = 1.0;  ///< the CoM moves from its nominal place to its target over [0, settle_time_]
  std::array<Eigen::Isometry3d, 2> sole0_;
  double t0_ = 0.0, yaw0_ = 0.0;
  double max_sole_move_ = 0.0, max_com_shift_ = 0.0, hand_error_ = 0.0, com_return_error_ = 0.0;
  int qp_failures_ = 0, qp_relaxed_ = 0;
  std::string first_failure_, first_relaxed_;
};

}  // namespace oh::runtime
