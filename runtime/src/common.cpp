#include "runtime/src/common.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

namespace oh::runtime {

Scene load_scene(const std::filesystem::path& path, const std::string& profile_file, const sim::Terrain& terrain) {
  Scene s{sim::with_terrain(model::load(path), terrain), {}};
  s.profile = model::profile_for(
      s.robot.model, profile_file.empty() ? std::nullopt : std::optional<std::filesystem::path>(profile_file));
  return s;
}

Estimate estimate_from_truth(const model::Model& model, const sim::GroundTruth& g) {
  Estimate e{g.qpos, g.qvel};
  if (model.has_floating_base()) {
    const auto& fj = model.joints[model.bodies[1].joints[0]];
    const Eigen::Vector3d v_world = g.qvel.segment<3>(fj.v_index);
    e.v.segment<3>(fj.v_index) = g.base_quat.toRotationMatrix().transpose() * v_world;
  }
  return e;
}

double tilt_of(const Eigen::Quaterniond& q) {
  const double c = std::clamp(q.toRotationMatrix()(2, 2), -1.0, 1.0);
  return std::acos(c);
}

Eigen::Vector3d heading_velocity(const sim::GroundTruth& g) {
  const Eigen::Matrix3d Rb = g.base_quat.toRotationMatrix();
  const double yaw = std::atan2(Rb(1, 0), Rb(0, 0));
  const Eigen::Vector2d vh = Eigen::Rotation2Dd(-yaw) * g.base_lin_vel.head<2>();
  return {vh.x(), vh.y(), g.base_ang_vel.z()};
}

bool has_fallen(const sim::GroundTruth& g, double h0, bool diverged) {
  return g.base_pos.z() < 0.5 * h0 || tilt_of(g.base_quat) > 1.0 || diverged;
}

double yaw_of(const Eigen::Matrix3d& R) { return std::atan2(R(1, 0), R(0, 0)); }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

}  // namespace oh::runtime
