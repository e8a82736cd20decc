#include "runtime/hardware.hpp"

#include <mujoco/mujoco.h>

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <stdexcept>

namespace oh::runtime {

SimHardware::SimHardware(sim::Simulation& sim, double control_dt) : sim_(sim) {
  if (!(control_dt > 0) || !std::isfinite(control_dt))
    throw std::invalid_argument("SimHardware: control_dt must be positive");
  decimation_ = std::max(1, static_cast<int>(std::lround(control_dt / sim.timestep())));
  const model::Model& model = sim.model();
  mjModel* m = sim.mj_model();
  for (size_t j = 0; j < model.joints.size(); ++j) {
    const auto& jt = model.joints[j];
    if (jt.nv != 1) continue;
    Map mp;
    mp.joint = static_cast<int>(j);
    mp.q = jt.q_index;
    mp.v = jt.v_index;
    mp.actuator = model.actuator_for_joint(static_cast<int>(j));
    if (mp.actuator >= 0) {
      const int a = mp.actuator;
      if (m->actuator_dyntype[a] != mjDYN_NONE || m->actuator_gaintype[a] != mjGAIN_FIXED ||
          m->actuator_biastype[a] == mjBIAS_USER)
        throw std::invalid_argument(fmt::format(
            "SimHardware: actuator '{}' has activation dynamics or a non-fixed gain; cannot apply the motor law",
            model.actuators[a].name));
      mp.gear = m->actuator_gear[6 * a];
      mp.gain = m->actuator_gainprm[mjNGAIN * a];
      if (m->actuator_biastype[a] == mjBIAS_AFFINE) {
        mp.b0 = m->actuator_biasprm[mjNBIAS * a];
        mp.b1 = m->actuator_biasprm[mjNBIAS * a + 1];
        mp.b2 = m->actuator_biasprm[mjNBIAS * a + 2];
      }
      mp.motor = mp.b0 == 0 && mp.b1 == 0 && mp.b2 == 0;
      if (mp.gain == 0 || mp.gear == 0)
        throw std::invalid_argument(fmt::format("SimHardware: actuator '{}' has zero gain or gear", model.actuators[a].name));
      // Effort limits at the joint: the force range scaled by the gear, or for a motor its ctrl range.
      if (m->actuator_forcelimited[a]) {
        const double lo = m->actuator_forcerange[2 * a] * mp.gear, hi = m->actuator_forcerange[2 * a + 1] * mp.gear;
        mp.effort_lo = std::min(lo, hi);
        mp.effort_hi = std::max(lo, hi);
      } else if (mp.motor && m->actuator_ctrllimited[a]) {
        const double lo = m->actuator_ctrlrange[2 * a] * mp.gain * mp.gear;
        const double hi = m->actuator_ctrlrange[2 * a + 1] * mp.gain * mp.gear;
        mp.effort_lo = std::min(lo, hi);
        mp.effort_hi = std::max(lo, hi);
      }
      if (!mp.motor) m->actuator_ctrllimited[a] = 0;  // the servo's ctrl now carries an effort, see header
    }
    names_.push_back(jt.name);
    map_.push_back(mp);
  }
  cmd_.assign(map_.size(), MotorCommand{});
  effort_ = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(map_.size()));
  // Hold the current pose until the first command: zero gains, zero effort.
}

RobotState SimHardware::read() {
  const sim::SensorState s = sim_.sensors();
  RobotState r{s.t, s.imu, s.q, s.dq, s.tau, {}};
  for (int b : contact_bodies_) r.contact_wrenches.push_back(sim_.contact_wrench(b));
  return r;
}

void SimHardware::set_contact_bodies(const std::vector<int>& bodies) {
  for (int b : bodies)
    if (b < 0 || b >= static_cast<int>(sim_.model().bodies.size()))
      throw std::invalid_argument(fmt::format("set_contact_bodies: body {} out of range", b));
  contact_bodies_ = bodies;
}

void SimHardware::write(const std::vector<MotorCommand>& commands) {
  if (commands.size() != map_.size())
    throw std::invalid_argument(fmt::format("write: {} commands for {} joints", commands.size(), map_.size()));
  for (size_t i = 0; i < commands.size(); ++i) {
    const MotorCommand& c = commands[i];
    if (!std::isfinite(c.q) || !std::isfinite(c.dq) || !std::isfinite(c.kp) || !std::isfinite(c.kd) ||
        !std::isfinite(c.tau))
      throw std::invalid_argument(fmt::format("write: non-finite command for joint '{}'", names_[i]));
    if (c.kp < 0 || c.kd < 0) throw std::invalid_argument(fmt::format("write: negative gain for joint '{}'", names_[i]));
    if (map_[i].actuator < 0 && (c.kp != 0 || c.kd != 0 || c.tau != 0))
      throw std::invalid_argument(fmt::format("write: joint '{}' has no actuator", names_[i]));
  }
  cmd_ = commands;
}

void SimHardware::damp(double kd) {
  for (size_t i = 0; i < map_.size(); ++i) cmd_[i] = map_[i].actuator >= 0 ? MotorCommand{0, 0, 0, kd, 0} : MotorCommand{};
}

void SimHardware::apply_law() {
  mjData* d = sim_.mj_data();
  for (size_t i = 0; i < map_.size(); ++i) {
    const Map& mp = map_[i];
    if (mp.actuator < 0) continue;
    const MotorCommand& c = cmd_[i];
    const double q = d->qpos[mp.q], dq = d->qvel[mp.v];
    const double effort = std::clamp(c.tau + c.kp * (c.q - q) + c.kd * (c.dq - dq), mp.effort_lo, mp.effort_hi);
    effort_[static_cast<Eigen::Index>(i)] = effort;
    // MuJoCo: actuator length l = gear q, force = gain ctrl + b0 + b1 l + b2 dl/dt, joint effort = gear force.
    const double force = effort / mp.gear;
    d->ctrl[mp.actuator] = (force - mp.b0 - mp.b1 * mp.gear * q - mp.b2 * mp.gear * dq) / mp.gain;
  }
}

void SimHardware::advance() {
  for (int k = 0; k < decimation_; ++k) {
    apply_law();
    sim_.step();
  }
}

}  // namespace oh::runtime
