// The hardware interface every controller uses, for simulated and real robots alike: read a state
// (IMU, joints, time), write per-joint motor commands {q, dq, kp, kd, tau}. A command is applied as the
// Unitree SDK2 motor law
//     effort = tau + kp * (q - q_measured) + kd * (dq - dq_measured)      [N m | N]
// at the hardware's own rate (on the motor driver for real robots; at every physics step in simulation).
// Joints are the model's 1-DoF joints in Model::joints order, named as in the model
// (ros2_control interfaces: position, velocity, effort).
#pragma once

#include "model/model.hpp"
#include "sim/sim.hpp"

#include <Eigen/Core>

#include <memory>
#include <string>
#include <vector>

namespace oh::runtime {

/// One joint's command, Unitree SDK2 semantics. Units: rad, rad/s, N m/rad, N m s/rad, N m (m, N for prismatic).
struct MotorCommand {
  double q = 0.0;    ///< position target
  double dq = 0.0;   ///< velocity target
  double kp = 0.0;   ///< position gain (>= 0)
  double kd = 0.0;   ///< velocity gain (>= 0)
  double tau = 0.0;  ///< feed-forward effort
};

/// What the robot reports: time, IMU and joint measurements (Model::joints order, 1-DoF joints).
struct RobotState {
  double t = 0.0;                  ///< [s]
  sim::ImuReading imu;             ///< base IMU
  Eigen::VectorXd q, dq, tau;      ///< joint position, velocity, measured effort
  /// Foot force/torque sensors, one per body given to set_contact_bodies(): [force; torque] in the world
  /// frame about the body origin [N; N m].
  std::vector<Eigen::Matrix<double, 6, 1>> contact_wrenches;
};

/// Abstract hardware: a simulated or real robot. Implementations are not thread-safe.
class HardwareInterface {
 public:
  virtual ~HardwareInterface() = default;
  /// Names of the commandable joints, in command order.
  virtual const std::vector<std::string>& joint_names() const = 0;
  /// The latest state.
  virtual RobotState read() = 0;
  /// Sets the commands (one per joint_names() entry). Throws std::invalid_argument for a wrong count, a
  /// non-finite value, a negative gain, or a non-zero command to a joint that has no actuator.
  virtual void write(const std::vector<MotorCommand>& commands) = 0;
  /// Lets time pass by one control period (simulation: `decimation` physics steps; real robot: waits).
  virtual void advance() = 0;
  /// Control period [s].
  virtual double control_dt() const = 0;
};

/// The simulated robot: maps motor commands onto whatever actuators the MuJoCo model has.
///  - motor (torque) actuators: the law is evaluated at every physics step and clamped to the force range;
///  - position / general servos with affine bias (gain kp_a, bias b0 + b1 l + b2 dl/dt, l = gear q): the control is solved
///    so the servo delivers exactly the law's effort, ctrl = (effort/gear - b0 - b1 l - b2 dl/dt) / kp_a, with
///    the servo's own kp/kv accounted for; its ctrl range is lifted in the simulation's model copy (the force
///    range still limits the effort, as the motor driver does);
///  - velocity servos likewise.
/// Source: Unitree SDK2 LowCmd motor law; MuJoCo actuator model (mujoco.readthedocs.io, "Actuation model").
class SimHardware : public HardwareInterface {
 public:
  /// control_dt is rounded to a whole number of physics steps (at least one). Throws std::invalid_argument
  /// for an actuator kind that cannot carry the law (activation dynamics, non-joint transmission).
  SimHardware(sim::Simulation& sim, double control_dt);

  const std::vector<std::string>& joint_names() const override { return names_; }
  RobotState read() override;
  void write(const std::vector<MotorCommand>& commands) override;
  void advance() override;
  double control_dt() const override { return decimation_ * sim_.timestep(); }
  int decimation() const { return decimation_; }
  /// Bodies whose contact wrenches read() reports (e.g. the feet). Throws std::invalid_argument if out of range.
  void set_contact_bodies(const std::vector<int>& bodies);
  /// Puts every joint into damping (kp = 0, kd = `kd`, tau = 0); used by e-stop and safety.
  void damp(double kd);
  /// The effort applied at the last physics step, per joint [N m].
  const Eigen::VectorXd& applied_effort() const { return effort_; }

 private:
  void apply_law();

  struct Map {
    int joint = -1;       ///< Model joint index
    int q = 0, v = 0;     ///< qpos / qvel addresses
    int actuator = -1;    ///< -1: unactuated
    double gear = 1, gain = 1, b0 = 0, b1 = 0, b2 = 0;
    bool motor = true;
    double effort_lo = -1e300, effort_hi = 1e300;
  };
  sim::Simulation& sim_;
  int decimation_ = 1;
  std::vector<std::string> names_;
  std::vector<Map> map_;
  std::vector<MotorCommand> cmd_;
  Eigen::VectorXd effort_;
  std::vector<int> contact_bodies_;
};

}  // namespace oh::runtime
