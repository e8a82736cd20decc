#include "runtime/runner.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace oh::runtime {
namespace {

std::vector<double> numbers(const std::string& text, char sep, const std::string& where) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, sep)) {
    size_t used = 0;
    double x = 0;
    try {
      x = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    while (used < item.size() && std::isspace(static_cast<unsigned char>(item[used]))) ++used;
    if (used != item.size() || !std::isfinite(x))
      throw std::invalid_argument(fmt::format("{}: '{}' is not a finite number", where, item));
    out.push_back(x);
  }
  return out;
}

}  // namespace

Eigen::Vector3d parse_command(const std::string& text) {
  const auto v = numbers(text, ',', fmt::format("--cmd '{}'", text));
  if (v.size() != 3) throw std::invalid_argument(fmt::format("--cmd '{}': expected vx,vy,wz", text));
  return {v[0], v[1], v[2]};
}

CommandSchedule load_command_schedule(const std::string& file) {
  CommandSchedule out;
  const bool yaml = file.ends_with(".yaml") || file.ends_with(".yml");
  std::ifstream f(file);
  if (!f) throw std::invalid_argument(fmt::format("{}: cannot open the command schedule", file));
  if (yaml) {
    YAML::Node root;
    try {
      root = YAML::LoadFile(file);
    } catch (const YAML::Exception& e) {
      throw std::invalid_argument(fmt::format("{}:{}: {}", file, e.mark.line + 1, e.msg));
    }
    if (!root.IsSequence()) throw std::invalid_argument(fmt::format("{}: expected a list of {{t, cmd}} entries", file));
    for (size_t i = 0; i < root.size(); ++i) {
      const YAML::Node& e = root[i];
      try {
        const double t = e["t"].as<double>();
        const auto c = e["cmd"].as<std::vector<double>>();
        if (c.size() != 3 || !std::isfinite(t) || !std::isfinite(c[0]) || !std::isfinite(c[1]) || !std::isfinite(c[2]))
          throw std::invalid_argument("cmd needs 3 finite numbers");
        out.push_back({t, Eigen::Vector3d(c[0], c[1], c[2])});
      } catch (const std::exception& ex) {
        throw std::invalid_argument(fmt::format("{}: entry {}: {}", file, i + 1, ex.what()));
      }
    }
  } else {
    std::string line;
    int n = 0;
    while (std::getline(f, line)) {
      ++n;
      const auto first = line.find_first_not_of(" \t\r");
      if (first == std::string::npos || line[first] == '#') continue;
      if (std::isalpha(static_cast<unsigned char>(line[first]))) continue;  // header
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto v = numbers(line, ',', fmt::format("{}:{}", file, n));
      if (v.size() != 4) throw std::invalid_argument(fmt::format("{}:{}: expected t,vx,vy,wz", file, n));
      out.push_back({v[0], Eigen::Vector3d(v[1], v[2], v[3])});
    }
  }
  if (out.empty()) throw std::invalid_argument(fmt::format("{}: the schedule is empty", file));
  for (size_t i = 1; i < out.size(); ++i)
    if (!(out[i].first > out[i - 1].first))
      throw std::invalid_argument(fmt::format("{}: entry {}: times must increase", file, i + 1));
  return out;
}

}  // namespace oh::runtime
