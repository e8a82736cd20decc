// Terrain for scenario runs: the robot's scene with slopes or steps added to the world, ahead of the robot
// along +x. Blind locomotion tests use it; a run may also give the controller its surface normals
// (RunOptions::terrain_known).
#pragma once

#include "model/model.hpp"

#include <Eigen/Core>

#include <string>

namespace oh::sim {

/// A parsed terrain: `flat`, `slope:<deg>` (up a ramp, a plateau, down a ramp) or `steps:<height_m>` (a
/// platform one step high, then down again). Lengths in m; the features start 1 m ahead of the origin.
struct Terrain {
  enum class Kind { kFlat, kSlope, kSteps };
  Kind kind = Kind::kFlat;
  double value = 0.0;   ///< slope angle [rad] or step height [m]
  double end_x = 0.0;   ///< x [m] past which the terrain is flat again at ground level (0 for flat)
};

/// Parses the spec. Throws std::invalid_argument for an unknown kind, a non-finite value, a slope outside
/// (0, 30] degrees or a step height outside (0, 0.3] m.
Terrain parse_terrain(const std::string& spec);

/// The walking surface's upward unit normal at world point p (xy) [m]: tilted on the ramps of a slope, vertical
/// elsewhere (the step's vertical faces are edges, not surfaces). For a controller that is given the terrain.
Eigen::Vector3d terrain_normal(const Terrain& terrain, const Eigen::Vector2d& p);

/// The robot's scene with the terrain's geoms added to the worldbody, recompiled with MuJoCo 2.2.2. A flat
/// terrain returns the robot unchanged. Throws model::ModelError if the scene does not compile.
model::LoadedRobot with_terrain(const model::LoadedRobot& robot, const Terrain& terrain);

}  // namespace oh::sim
