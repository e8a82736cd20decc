// The simulated hardware applies the Unitree SDK2 motor law tau + kp (q* - q) + kd (dq* - dq) on whatever
// actuators the model has: torque motors (H1, built-in) and position servos with their own kp/kv (G1).
#include "model/model.hpp"
#include "runtime/hardware.hpp"
#include "runtime/runner.hpp"
#include "sim/sim.hpp"

#include <gtest/gtest.h>
#include <mujoco/mujoco.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

namespace {

void check_motor_law(const std::string& robot_name) {
  const auto robot = oh::model::load(oh::model::resolve_robot(robot_name));
  oh::sim::Simulation sim(robot);
  oh::runtime::SimHardware hw(sim, sim.timestep());
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  const auto& names = hw.joint_names();
  std::vector<oh::runtime::MotorCommand> cmd(names.size());
  for (auto& c : cmd) c = {0.1 * u(rng), 0.2 * u(rng), 20.0 + 10 * u(rng), 1.0 + 0.5 * u(rng), 2.0 * u(rng)};
  hw.write(cmd);
  const mjData* d = sim.mj_data();
  // The law at the state the step starts from; MuJoCo's actuator force at that state is what the step applied.
  std::vector<double> expected(names.size());
  for (size_t k = 0; k < names.size(); ++k) {
    const auto& j = robot.model.joints[robot.model.joint_id(names[k])];
    const double q = d->qpos[j.q_index], dq = d->qvel[j.v_index];
    expected[k] = cmd[k].tau + cmd[k].kp * (cmd[k].q - q) + cmd[k].kd * (cmd[k].dq - dq);
  }
  hw.advance();
  for (size_t k = 0; k < names.size(); ++k) {
    const auto& j = robot.model.joints[robot.model.joint_id(names[k])];
    const double limit = j.effort_limit > 0 ? j.effort_limit : 1e300;
    const double want = std::clamp(expected[k], -limit, limit);
    EXPECT_NEAR(hw.applied_effort()[static_cast<Eigen::Index>(k)], want, 1e-9 * std::max(1.0, std::abs(want))) << names[k];
    EXPECT_NEAR(d->qfrc_actuator[j.v_index], want, 1e-6 * std::max(1.0, std::abs(want))) << names[k];
  }
}

}  // namespace

TEST(SimHardware, MotorLawOnTorqueMotors) { check_motor_law("builtin"); }

TEST(SimHardware, MotorLawOnPositionServosAccountsForTheirGains) {
  if (!std::filesystem::exists(oh::model::shared_dir() / "robots/unitree_g1"))
    GTEST_SKIP() << "../shared/robots/unitree_g1 not found; set OH_SHARED_DIR";
  check_motor_law("g1");
}

TEST(SimHardware, RefusesCommandsForJointsWithoutActuatorAndBadValues) {
  const std::filesystem::path file = std::filesystem::temp_directory_path() / "oh_unactuated.xml";
  std::ofstream(file) << R"(<mujoco><worldbody><body name="b" pos="0 0 1"><joint name="a" axis="0 1 0"/>
    <geom type="capsule" fromto="0 0 0 0 0 -0.3" size="0.03"/><body pos="0 0 -0.3"><joint name="free_swing" axis="0 1 0"/>
    <geom type="capsule" fromto="0 0 0 0 0 -0.3" size="0.03"/></body></body></worldbody>
    <actuator><motor joint="a" ctrlrange="-5 5"/></actuator></mujoco>)";
  const auto robot = oh::model::load(file);
  oh::sim::Simulation sim(robot);
  oh::runtime::SimHardware hw(sim, 0.002);
  ASSERT_EQ(hw.joint_names().size(), 2u);
  std::vector<oh::runtime::MotorCommand> cmd(2);
  cmd[0].tau = 1.0;
  EXPECT_NO_THROW(hw.write(cmd));
  cmd[1].kp = 10.0;
  EXPECT_THROW(hw.write(cmd), std::invalid_argument);  // joint without an actuator
  cmd[1] = {};
  cmd[0].tau = std::nan("");
  EXPECT_THROW(hw.write(cmd), std::invalid_argument);
  cmd[0] = {0, 0, -1, 0, 0};
  EXPECT_THROW(hw.write(cmd), std::invalid_argument);   // negative gain
  EXPECT_THROW(hw.write(std::vector<oh::runtime::MotorCommand>(3)), std::invalid_argument);
  std::filesystem::remove(file);
}

TEST(Run, SameSeedSameRun) {
  oh::runtime::RunOptions o;
  o.duration = 4.0;
  o.pushes = {"random:0.3:1"};
  o.seed = 42;
  const auto a = oh::runtime::run(o), b = oh::runtime::run(o);
  EXPECT_EQ(a["max_tilt_rad"].get<double>(), b["max_tilt_rad"].get<double>());
  EXPECT_EQ(a["com_xy_error_rms_m"].get<double>(), b["com_xy_error_rms_m"].get<double>());
  EXPECT_EQ(a["pushes"].dump(), b["pushes"].dump());
  o.seed = 43;
  const auto c = oh::runtime::run(o);
  EXPECT_NE(a["pushes"].dump(), c["pushes"].dump());
}

TEST(Simulation, ADivergedStepKeepsTheClockRunning) {
  // A force far beyond anything physical makes qacc huge: MuJoCo resets the state (and its own clock). The
  // simulation's time goes on, and the warning carries the time it happened at, not 0.
  oh::sim::Simulation sim(oh::model::load(oh::model::resolve_robot("builtin")));
  oh::sim::Disturbance d;
  d.kind = oh::sim::Disturbance::Kind::kForce;
  d.t = 0.05;
  d.duration = 0.01;
  d.value = Eigen::Vector3d(1e200, 0, 0);
  sim.add_disturbance(d);
  const int steps = static_cast<int>(std::lround(0.1 / sim.timestep()));
  for (int k = 0; k < steps; ++k) sim.step();
  EXPECT_TRUE(sim.diverged());
  EXPECT_NEAR(sim.time(), steps * sim.timestep(), 1e-9);
  ASSERT_FALSE(sim.warnings().empty());
  const std::string& w = sim.warnings().front();
  const double t_warn = std::stod(w.substr(2));  // "t=<s> s: ..."
  EXPECT_NEAR(t_warn, 0.05, 2 * sim.timestep()) << w;
}
