#include "runtime/runner.hpp"

#include <cmath>
#include <fmt/format.h>
#include <sstream>
#include <stdexcept>

namespace oh::runtime {
namespace {

double number(const std::string& text, const std::string& spec) {
  size_t used = 0;
  double x = 0;
  try {
    x = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !std::isfinite(x))
    throw std::invalid_argument(fmt::format("--push '{}': '{}' is not a finite number", spec, text));
  return x;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

}  // namespace

PushSpec parse_push(const std::string& spec) {
  PushSpec out;
  if (spec.rfind("random:", 0) == 0) {
    const auto parts = split(spec.substr(7), ':');
    if (parts.size() != 2) throw std::invalid_argument(fmt::format("--push '{}': expected random:<dv>:<period>", spec));
    out.random_dv = number(parts[0], spec);
    out.random_period = number(parts[1], spec);
    if (out.random_period <= 0 || out.random_dv < 0)
      throw std::invalid_argument(fmt::format("--push '{}': need dv >= 0 and period > 0", spec));
    return out;
  }
  // Comma-separated key=value fields, where a vector value continues over the following bare numbers.
  sim::Disturbance d;
  bool have_t = false, have_dv = false, have_f = false, have_dt = false;
  const auto tokens = split(spec, ',');
  for (size_t i = 0; i < tokens.size(); ++i) {
    const auto eq = tokens[i].find('=');
    if (eq == std::string::npos) throw std::invalid_argument(fmt::format("--push '{}': unexpected '{}'", spec, tokens[i]));
    const std::string key = tokens[i].substr(0, eq), val = tokens[i].substr(eq + 1);
    auto vector = [&](int n) {
      Eigen::Vector3d v = Eigen::Vector3d::Zero();
      v[0] = number(val, spec);
      for (int k = 1; k < n; ++k) {
        if (i + 1 >= tokens.size() || tokens[i + 1].find('=') != std::string::npos)
          throw std::invalid_argument(fmt::format("--push '{}': {} needs {} components", spec, key, n));
        v[k] = number(tokens[++i], spec);
      }
      return v;
    };
    if (key == "t") {
      d.t = number(val, spec);
      have_t = true;
    } else if (key == "dv") {
      d.value = vector(2);
      have_dv = true;
    } else if (key == "f") {
      d.value = vector(3);
      have_f = true;
    } else if (key == "dt") {
      d.duration = number(val, spec);
      have_dt = true;
    } else if (key == "body") {
      out.body_name = val;
    } else {
      throw std::invalid_argument(fmt::format("--push '{}': unknown field '{}'", spec, key));
    }
  }
  if (!have_t || have_dv == have_f)
    throw std::invalid_argument(fmt::format("--push '{}': expected t=<s>,dv=<vx>,<vy> or t=<s>,f=<fx>,<fy>,<fz>,dt=<s>", spec));
  if (have_f && (!have_dt || d.duration <= 0))
    throw std::invalid_argument(fmt::format("--push '{}': a force needs dt=<s> > 0", spec));
  if (d.t < 0) throw std::invalid_argument(fmt::format("--push '{}': t must be >= 0", spec));
  d.kind = have_f ? sim::Disturbance::Kind::kForce : sim::Disturbance::Kind::kVelocityChange;
  out.disturbance = d;
  return out;
}

}  // namespace oh::runtime
