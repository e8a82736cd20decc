// oh::model::load: MJCF and URDF files through the MuJoCo-3 compatibility layer (model/compat.hpp).
#include "model/compat.hpp"
#include "model/model.hpp"
#include "model/src/compat_internal.hpp"

#include <tinyxml2.h>

#include <algorithm>
#include <cctype>
#include <fmt/format.h>

namespace oh::model {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

/// True when the file is a URDF: the .urdf extension, or an XML file whose root element is <robot>.
bool is_urdf(const std::filesystem::path& file) {
  if (lower(file.extension().string()) == ".urdf") return true;
  tinyxml2::XMLDocument doc;
  const std::string text = compat::read_text_file(file);
  if (doc.Parse(text.data(), text.size()) != tinyxml2::XML_SUCCESS || !doc.RootElement()) return false;
  return std::string(doc.RootElement()->Name()) == "robot";
}

}  // namespace

LoadedRobot load(const std::filesystem::path& file, const LoadOptions& options) {
  namespace fs = std::filesystem;
  if (file.empty()) throw ModelError("load: empty model file name");
  try {
    std::error_code ec;
    if (!fs::exists(file, ec)) throw ModelError(fmt::format("{}: no such file", file.string()));
    compat::Options copts;
    copts.add_floor_if_missing = options.add_floor_if_missing;
    compat::Result r = is_urdf(file) ? compat::load_urdf(file, copts) : compat::load_mjcf(file, copts);

    LoadedRobot out;
    try {
      out.model = from_mujoco(r.mj.get());
    } catch (const ModelError& e) {
      throw ModelError(fmt::format("{}: {}", file.string(), e.what()));
    }
    out.model.source = file;
    out.model.compat_rewrites = r.rewrites;
    for (Joint& j : out.model.joints) {
      auto it = r.urdf_limits.find(j.name);
      if (it == r.urdf_limits.end()) continue;
      if (it->second.velocity > 0) j.velocity_limit = it->second.velocity;
      if (it->second.effort > 0) j.effort_limit = it->second.effort;
    }
    out.mj = std::move(r.mj);
    out.mjcf = std::move(r.xml);
    return out;
  } catch (const ModelError&) {
    throw;
  } catch (const std::exception& e) {
    // filesystem errors, allocation failures, ...: still one line naming the file
    throw ModelError(fmt::format("{}: {}", file.string(), e.what()));
  }
}

}  // namespace oh::model
