// Setup and measurement helpers shared by the headless run loop (runner.cpp) and the interactive session
// (session.cpp): loading a robot on a terrain, ground truth in the controller's convention, tilt, heading-frame
// velocity and the fall test.
#pragma once

#include "model/model.hpp"
#include "model/profile.hpp"
#include "runtime/runner.hpp"
#include "sim/sim.hpp"
#include "sim/terrain.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace oh::runtime {

/// A robot loaded into a scene with its profile.
struct Scene {
  model::LoadedRobot robot;
  model::Profile profile;
};

/// Loads the robot file `path` on `terrain` and detects its profile (`profile_file`, when not empty, overrides
/// it). Throws model::ModelError for a bad robot or profile file.
Scene load_scene(const std::filesystem::path& path, const std::string& profile_file, const sim::Terrain& terrain);

/// Ground truth in the controller's convention (Estimate: q = qpos, v with the base linear velocity rotated
/// into the base frame).
Estimate estimate_from_truth(const model::Model& model, const sim::GroundTruth& g);

/// Angle between the base z axis and the world z axis [rad], in [0, pi].
double tilt_of(const Eigen::Quaterniond& q);

/// Base velocity in the heading frame (yaw of the base): (vx [m/s], vy [m/s], wz [rad/s]).
Eigen::Vector3d heading_velocity(const sim::GroundTruth& g);

/// The fall test of the run loop: the base below half its start height h0 [m], tilted more than 1 rad, or
/// the simulation diverged.
bool has_fallen(const sim::GroundTruth& g, double h0, bool diverged);

/// The p-quantile (p in [0, 1], nearest rank) of v; 0 for an empty v.
double percentile(std::vector<double> v, double p);

/// Heading (yaw about world z) of a rotation, world <- frame [rad].
double yaw_of(const Eigen::Matrix3d& R);

}  // namespace oh::runtime
