// MuJoCo 2.2.2 simulation of a robot scene: stepping, sensors read as a real robot exposes them, ground
// truth kept apart for scoring, scheduled or random disturbances, and MuJoCo warnings reported.
//
// Frames: world is REP-103 (z up). Sensor readings are in the IMU (base body) frame. Contact wrenches are in
// the world frame, about the named body's origin, ordered [force (N); torque (N m)].
#pragma once

#include "model/model.hpp"

#include <Eigen/Core>
#include <Eigen/Geometry>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

struct mjData_;

namespace oh::sim {

/// Inertial measurement as a real IMU on the base body reports it.
struct ImuReading {
  Eigen::Quaterniond quat = Eigen::Quaterniond::Identity();  ///< orientation, world ← IMU
  Eigen::Vector3d gyro = Eigen::Vector3d::Zero();            ///< angular velocity in the IMU frame [rad/s]
  Eigen::Vector3d accel = Eigen::Vector3d::Zero();           ///< specific force a − g in the IMU frame [m/s²]
};

/// What a robot's own sensors report. Joint vectors are in Model::joints order, 1-DoF joints only.
struct SensorState {
  double t = 0.0;                 ///< simulation time [s]
  ImuReading imu;
  Eigen::VectorXd q, dq, tau;     ///< joint position [rad|m], velocity, measured actuator effort [N m|N]
};

/// Ground truth for scoring, never given to a controller unless it asks for it.
struct GroundTruth {
  Eigen::VectorXd qpos;           ///< MuJoCo qpos (nq)
  Eigen::VectorXd qvel;           ///< MuJoCo qvel (nv): free-joint linear part in world, angular in body
  Eigen::Vector3d com = Eigen::Vector3d::Zero();       ///< whole-body centre of mass, world [m]
  Eigen::Vector3d base_pos = Eigen::Vector3d::Zero();  ///< base origin, world [m]
  Eigen::Quaterniond base_quat = Eigen::Quaterniond::Identity();
  Eigen::Vector3d base_lin_vel = Eigen::Vector3d::Zero();  ///< world frame [m/s]
  Eigen::Vector3d base_ang_vel = Eigen::Vector3d::Zero();  ///< world frame [rad/s]
};

/// A disturbance: a force on a body for a duration, or a sudden change of the base velocity.
struct Disturbance {
  enum class Kind { kForce, kVelocityChange };
  Kind kind = Kind::kVelocityChange;
  double t = 0.0;                 ///< start time [s]
  double duration = 0.0;          ///< [s], force only
  int body = -1;                  ///< body index for forces (-1: the base)
  Eigen::Vector3d value = Eigen::Vector3d::Zero();  ///< force [N] (world) or base velocity change [m/s] (world)
  bool applied = false;           ///< set once the disturbance has started
};

/// Options for a Simulation.
struct SimOptions {
  std::uint64_t seed = 0;         ///< seeds every random choice the simulation makes
};

/// One MuJoCo scene with one robot. Not copyable; not thread-safe.
class Simulation {
 public:
  /// Takes a loaded robot (its mjModel is copied, so the simulation may change options freely).
  /// Throws oh::model::ModelError if the robot has no mjModel.
  explicit Simulation(const model::LoadedRobot& robot, SimOptions options = {});
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  const model::Model& model() const { return model_; }
  /// Raw MuJoCo access for wiring layers (runtime/) and tests.
  mjModel_* mj_model() { return m_.get(); }
  mjData_* mj_data() { return d_; }

  /// Resets time to 0 and the state to q (nq, MuJoCo qpos layout) with zero velocity; clears disturbances
  /// already applied but keeps the schedule. Throws std::invalid_argument on a size mismatch or NaN.
  void reset(const Eigen::VectorXd& q);
  /// Advances one physics step (Model::timestep) with the current ctrl, applying due disturbances.
  void step();
  double time() const;
  double timestep() const;

  /// Sets the actuator controls (nu). Non-finite entries are replaced by 0 and reported as a warning.
  void set_ctrl(const Eigen::VectorXd& ctrl);

  SensorState sensors() const;
  GroundTruth ground_truth() const;
  /// Ground-truth world position of a body's origin [m]. Throws std::out_of_range for a bad index.
  Eigen::Vector3d body_position(int body) const;
  /// Sum of contact wrenches on the geoms of `body` (not its children), world frame, about the body origin.
  Eigen::Matrix<double, 6, 1> contact_wrench(int body) const;

  /// Schedules a disturbance. Throws std::invalid_argument for a bad body or non-finite values.
  void add_disturbance(const Disturbance& d);
  /// Schedules base velocity changes of magnitude dv [m/s] in random horizontal directions every
  /// `period` seconds in [t0, t1), drawn from the simulation's seeded generator.
  void add_random_pushes(double dv, double period, double t0, double t1);
  const std::vector<Disturbance>& disturbances() const { return disturbances_; }

  /// True once MuJoCo has reset the state because of a non-finite qpos, qvel or qacc (a diverged simulation).
  /// The reset keeps time() running: it does not go back to 0.
  bool diverged() const { return diverged_; }
  /// MuJoCo warnings raised so far, one line each ("t=1.234 s: contact buffer full (nconmax) x3").
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  void apply_disturbances();
  void collect_warnings();

  model::Model model_;
  std::shared_ptr<mjModel_> m_;
  mjData_* d_ = nullptr;
  std::vector<Disturbance> disturbances_;
  std::vector<std::string> warnings_;
  std::vector<int> warning_counts_;
  std::vector<int> joint_ids_;    ///< the 1-DoF joints reported in SensorState
  int base_body_ = 1;
  bool diverged_ = false;
  std::mt19937_64 rng_;
};

}  // namespace oh::sim
