#include "sim/terrain.hpp"

#include "model/compat.hpp"

#include <cmath>
#include <fmt/format.h>
#include <numbers>
#include <stdexcept>

namespace oh::sim {
namespace {

// The slope's layout: a ramp up from x = kRampStart (kRampLength along the surface), a plateau, a ramp down.
constexpr double kRampStart = 1.0, kRampLength = 1.5, kPlateau = 1.0;

}  // namespace

Terrain parse_terrain(const std::string& spec) {
  Terrain t;
  if (spec.empty() || spec == "flat") return t;
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  double value = std::nan("");
  if (colon != std::string::npos) {
    try {
      size_t used = 0;
      value = std::stod(spec.substr(colon + 1), &used);
      if (used != spec.size() - colon - 1) value = std::nan("");
    } catch (const std::exception&) {
      value = std::nan("");
    }
  }
  if (kind == "slope") {
    if (!(value > 0 && value <= 30)) throw std::invalid_argument(fmt::format("--terrain '{}': slope:<deg> with 0 < deg <= 30", spec));
    t.kind = Terrain::Kind::kSlope;
    t.value = value * std::numbers::pi / 180.0;
    t.end_x = kRampStart + 2 * kRampLength * std::cos(t.value) + kPlateau;
  } else if (kind == "steps") {
    if (!(value > 0 && value <= 0.3)) throw std::invalid_argument(fmt::format("--terrain '{}': steps:<height_m> with 0 < h <= 0.3", spec));
    t.kind = Terrain::Kind::kSteps;
    t.value = value;
    t.end_x = 3.0;
  } else {
    throw std::invalid_argument(fmt::format("--terrain '{}': expected flat, slope:<deg> or steps:<height_m>", spec));
  }
  return t;
}

Eigen::Vector3d terrain_normal(const Terrain& t, const Eigen::Vector2d& p) {
  if (t.kind != Terrain::Kind::kSlope) return Eigen::Vector3d::UnitZ();
  const double a = t.value, run = kRampLength * std::cos(a), x = p.x();
  if (x >= kRampStart && x < kRampStart + run) return Eigen::Vector3d(-std::sin(a), 0.0, std::cos(a));
  const double down = kRampStart + run + kPlateau;
  if (x >= down && x < down + run) return Eigen::Vector3d(std::sin(a), 0.0, std::cos(a));
  return Eigen::Vector3d::UnitZ();
}

namespace {

/// Geoms of the terrain, as MJCF. Each piece is a box with its top face where the walking surface is.
std::string terrain_geoms(const Terrain& t) {
  std::string xml;
  const char* look = R"(rgba="0.55 0.6 0.65 1" condim="3" friction="1 0.005 0.0001")";
  if (t.kind == Terrain::Kind::kSlope) {
    // Ramp up (length L along the slope), plateau 1 m, ramp down. Boxes 0.1 m thick below the surface.
    const double a = t.value, L = kRampLength, th = 0.05, rise = L * std::sin(a), run = L * std::cos(a);
    const double x0 = kRampStart;
    auto ramp = [&](double xs, double zs, double sign) {
      // Centre of the sloped box: midpoint of the surface segment, moved down by th along the surface normal.
      const double xm = xs + 0.5 * run, zm = zs + sign * 0.5 * rise;
      const double nx = -sign * std::sin(a), nz = std::cos(a);
      xml += fmt::format(R"(<geom name="terrain_ramp_{}" type="box" size="{} 2 {}" pos="{} 0 {}" euler="0 {} 0" {}/>)",
                         sign > 0 ? "up" : "down", 0.5 * L, th, xm - th * nx, zm - th * nz, -sign * a, look);
    };
    ramp(x0, 0.0, 1.0);
    xml += fmt::format(R"(<geom name="terrain_plateau" type="box" size="{} 2 {}" pos="{} 0 {}" {}/>)", 0.5 * kPlateau,
                       0.5 * rise, x0 + run + 0.5 * kPlateau, 0.5 * rise, look);
    ramp(x0 + run + kPlateau, rise, -1.0);
  } else if (t.kind == Terrain::Kind::kSteps) {
    xml += fmt::format(R"(<geom name="terrain_step" type="box" size="0.75 2 {}" pos="1.75 0 {}" {}/>)", 0.5 * t.value,
                       0.5 * t.value, look);
  }
  return xml;
}

}  // namespace

model::LoadedRobot with_terrain(const model::LoadedRobot& robot, const Terrain& terrain) {
  if (terrain.kind == Terrain::Kind::kFlat) return robot;
  std::string xml = robot.mjcf;
  const auto pos = xml.find("<worldbody>");
  if (pos == std::string::npos) throw model::ModelError("with_terrain: the compiled scene has no <worldbody>");
  xml.insert(pos + std::string("<worldbody>").size(), terrain_geoms(terrain));
  model::LoadedRobot out;
  out.mj = model::compat::compile_string(xml, robot.model.source);
  out.model = model::from_mujoco(out.mj.get());
  out.model.source = robot.model.source;
  out.model.compat_rewrites = robot.model.compat_rewrites;
  out.mjcf = std::move(xml);
  return out;
}

}  // namespace oh::sim
