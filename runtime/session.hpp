// An interactive simulation session: one robot in a MuJoCo scene under the walking controller, advanced step by
// step (or paced in real time) while other threads send commands and read state snapshots. This is what
// `humanoid run --serve` drives and the dashboard server (server/) talks to.
#pragma once

#include "runtime/runner.hpp"

#include <Eigen/Core>
#include <Eigen/Geometry>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace oh::model {
struct Model;
struct Profile;
struct LoadedRobot;
}  // namespace oh::model

namespace oh::runtime {

/// Options of a session (the scene part of RunOptions).
struct SessionOptions {
  std::string robot;            ///< name or path, see model::resolve_robot
  std::string profile;          ///< optional profile YAML
  std::string terrain = "flat"; ///< see sim/terrain.hpp
  bool terrain_known = false;   ///< give the walking controller the terrain's surface normals (else blind)
  CommandSchedule schedule;     ///< velocity command until a client sends one (empty: stand)
  std::uint64_t seed = 0;
  double control_rate = 500.0;  ///< [Hz]
  bool ground_truth = false;    ///< feed the controller ground truth instead of the estimate
  double estop_kd = 3.0;        ///< damping gain of the e-stop [N m s/rad], > 0
  double max_push_dv = 1.0;     ///< largest push a client may ask for [m/s]
};

/// What the robot is doing, as the dashboard colours it.
enum class Mode { kStanding, kWalking, kFallen, kEstopped };

/// "standing", "walking", "fallen" or "estopped".
const char* mode_name(Mode m);

/// The velocity limits the controller declares (GaitParams::max_vx/max_vy/max_wz) [m/s, m/s, rad/s].
struct CommandLimits {
  double max_vx = 0, max_vy = 0, max_wz = 0;
};

/// One contact point between the robot and the world: position and the force the world exerts on the robot,
/// world frame [m], [N].
struct ContactPoint {
  Eigen::Vector3d pos = Eigen::Vector3d::Zero();
  Eigen::Vector3d force = Eigen::Vector3d::Zero();
};

/// A consistent copy of the session's state after one control tick. Joint vectors are in Model::joints order,
/// 1-DoF joints only (the hardware's joints); body poses are MuJoCo's xpos/xquat (world frame, w x y z).
struct SessionSnapshot {
  double t = 0.0;                         ///< simulation time since the last reset [s]
  std::uint64_t episode = 0;              ///< increments at every reset
  std::uint64_t tick = 0;                 ///< control ticks since the last reset
  Mode mode = Mode::kStanding;
  std::string task = "stand";             ///< "stand" or "walk"
  Eigen::Vector3d base_pos = Eigen::Vector3d::Zero();          ///< world [m]
  Eigen::Quaterniond base_quat = Eigen::Quaterniond::Identity();
  Eigen::Vector3d base_lin_vel = Eigen::Vector3d::Zero();      ///< world [m/s]
  Eigen::Vector3d base_ang_vel = Eigen::Vector3d::Zero();      ///< world [rad/s]
  Eigen::Vector3d heading_vel = Eigen::Vector3d::Zero();       ///< (vx, vy, wz) in the heading frame
  double base_height = 0.0;               ///< [m]
  double tilt = 0.0;                      ///< [rad]
  Eigen::Vector3d com = Eigen::Vector3d::Zero();               ///< world [m]
  Eigen::VectorXd q, dq, tau;             ///< joints [rad|m], [rad/s|m/s], applied effort [N m|N]
  double kp_max = 0.0, kd_min = 0.0;      ///< extreme gains of the motor commands in force (e-stop: 0, > 0)
  std::vector<Eigen::Vector3d> body_pos;  ///< per body (0 = world)
  std::vector<Eigen::Quaterniond> body_quat;
  std::vector<ContactPoint> contacts;     ///< robot-world contacts
  std::array<double, 2> foot_force_z{};   ///< measured normal force of the left and right foot [N]
  Eigen::Vector3d command = Eigen::Vector3d::Zero();           ///< command last asked for (clamped)
  Eigen::Vector3d command_applied = Eigen::Vector3d::Zero();   ///< what the controller receives now
  int steps_taken = 0;
  double tick_us = 0.0, tick_p50_us = 0.0, tick_p99_us = 0.0;  ///< controller update time, last and over ~1 s
  double real_time_factor = 0.0;          ///< simulated / wall time over the last ~1 s of run_realtime
};

/// A robot in simulation under the walking controller (control/locomotion + WBC): it stands while the command
/// is zero and walks on a non-zero velocity command. Commands are thread-safe and take effect at the next
/// control tick; step() and run_realtime() must be called from one thread at a time.
///
/// Commands (return an empty string when accepted, otherwise a one-line reason and nothing changes):
///  - set_velocity: (vx, vy, wz) in the heading frame, clamped to limits(); non-finite is refused; switches the
///    task to walk;
///  - set_task: "stand" (command zero) or "walk" (the last velocity command);
///  - push: a base velocity change of `dv` [m/s] (0 < dv <= max_push_dv) in a random horizontal direction;
///  - estop: every joint into damping (kp = 0, kd = estop_kd, tau = 0) at once, latched until reset();
///    commands other than reset are refused while it is latched;
///  - reset: the nominal pose at t = 0, controller and estimator restarted, e-stop and fall cleared.
/// A fall (has_fallen) damps the joints as the e-stop does, until reset.
class Session {
 public:
  /// Loads the robot and builds the scene. Throws model::ModelError for a bad robot, std::invalid_argument for
  /// bad options (terrain, rates, gains).
  explicit Session(const SessionOptions& options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const model::Model& model() const;
  const model::Profile& profile() const;
  /// The loaded robot with its scene (terrain included) and its compiled mjModel.
  const model::LoadedRobot& robot() const;
  /// The robot file that was loaded.
  const std::string& robot_path() const;
  CommandLimits limits() const;
  /// Control period [s].
  double control_dt() const;

  /// Advances one control tick (estimator, controller or damping, `decimation` physics steps) and publishes a
  /// snapshot. Applies the commands received since the previous tick first.
  void step();
  /// Steps in real time scaled by `rate` (> 0; 2 = twice as fast as real time) until `stop` becomes true or
  /// the simulated time reaches `duration` [s] (<= 0: no limit; resets restart the clock). When the
  /// simulation cannot keep up it runs as fast as it can and drops the backlog. Throws std::invalid_argument
  /// for a non-positive or non-finite rate.
  void run_realtime(double rate, double duration, const std::atomic<bool>& stop);

  std::string set_velocity(const Eigen::Vector3d& cmd);
  std::string set_task(const std::string& task);
  std::string push(double dv);
  std::string estop();
  std::string reset();

  /// The latest snapshot (a copy; safe from any thread).
  SessionSnapshot snapshot() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace oh::runtime
