// The headless run loop behind `humanoid run`: a robot in a MuJoCo scene, a controller at its own rate
// behind the hardware interface, scheduled pushes, and a scored report.
#pragma once

#include "runtime/hardware.hpp"
#include "sim/sim.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace oh::runtime {

/// The robot's full state as a controller sees it: q is MuJoCo's qpos layout (nq); v (nv) has the base twist
/// in the BASE frame (dynamics/ convention).
struct Estimate {
  Eigen::VectorXd q, v;
};

/// A controller driven by the run loop at the hardware's control rate.
class Controller {
 public:
  virtual ~Controller() = default;
  virtual std::string name() const = 0;
  /// Called once before the first update.
  virtual void reset(const RobotState& state, const Estimate& estimate) = 0;
  /// Computes one command per hardware joint into `out` (already sized). Must not throw on finite input.
  virtual void update(const RobotState& state, const Estimate& estimate, std::vector<MotorCommand>& out) = 0;
  /// Controller-specific figures for the report's task_metrics.
  virtual nlohmann::json metrics() const { return nlohmann::json::object(); }
  /// The CoM position the controller currently aims for (world xy [m]), when it has one; the report's
  /// com_xy_error_rms_m is measured against it.
  virtual std::optional<Eigen::Vector2d> com_xy_reference() const { return std::nullopt; }
};

/// A piecewise-constant velocity command: (t [s], [vx, vy, wz]) entries sorted by time; the value holds from
/// its time until the next entry.
using CommandSchedule = std::vector<std::pair<double, Eigen::Vector3d>>;

/// Parses "vx,vy,wz" [m/s, m/s, rad/s]. Throws std::invalid_argument naming the text when it is malformed or
/// non-finite.
Eigen::Vector3d parse_command(const std::string& text);

/// Reads a schedule file: CSV lines "t,vx,vy,wz" (a header line and # comments are skipped), or YAML — a list
/// of {t: <s>, cmd: [vx, vy, wz]} — for files ending in .yaml/.yml. Throws std::invalid_argument naming the
/// file and line for a missing file, a malformed entry or times that are not increasing.
CommandSchedule load_command_schedule(const std::string& file);

/// A parsed --push argument. Either one disturbance or a random series.
struct PushSpec {
  std::optional<sim::Disturbance> disturbance;
  std::string body_name;       ///< for forces; empty means the base
  double random_dv = 0.0;      ///< random:<dv>:<period>
  double random_period = 0.0;
};

/// Parses `t=<s>,dv=<vx>,<vy>`, `t=<s>,f=<fx>,<fy>,<fz>,dt=<s>[,body=<name>]` or `random:<dv>:<period>`.
/// Throws std::invalid_argument with the offending text on any malformed or non-finite field.
PushSpec parse_push(const std::string& spec);

/// Options of one run.
struct RunOptions {
  std::string robot;           ///< name or path, see model::resolve_robot
  std::string profile;         ///< optional profile YAML
  std::string task = "stand";  ///< stand, com-shift, reach or walk
  std::string cmd;             ///< walk: constant command "vx,vy,wz"
  std::string policy;          ///< learned policy (spec YAML, deploy YAML or policy directory) in place of the WBC; task walk
  std::string cmd_schedule;    ///< walk: schedule file (see load_command_schedule)
  std::string terrain = "flat";///< flat, slope:<deg>, steps:<height_m> (see sim/terrain.hpp)
  /// walk: give the controller the terrain's surface normals (WalkController::set_terrain_normal); else blind
  bool terrain_known = false;
  double duration = 10.0;      ///< [s]
  std::vector<std::string> pushes;
  std::uint64_t seed = 0;
  bool ground_truth = false;   ///< feed the controller ground truth instead of the estimate
  double control_rate = 500.0; ///< [Hz]
};

/// Runs one scenario headless, as fast as possible, and returns the report. Throws model::ModelError for a bad
/// robot and std::invalid_argument for bad options.
nlohmann::json run(const RunOptions& options);

}  // namespace oh::runtime
