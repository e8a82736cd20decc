// URDF loading for the MuJoCo-3 compatibility layer: see model/compat.hpp (load_urdf).
//
// MuJoCo 2.2.2 imports URDF itself (src/xml/xml_urdf.cc): links become bodies, joints hinge/slide joints,
// <limit lower upper> joint ranges; it ignores <limit effort velocity> and gives the root link no joint.
// We resolve the mesh paths, let MuJoCo import the file, save the result as MJCF (mj_saveLastXML), add a
// free joint and motors, and compile that MJCF through the MJCF path of the layer (which adds the floor).
#include "model/compat.hpp"
#include "model/src/compat_internal.hpp"

#include <mujoco/mujoco.h>
#include <spdlog/spdlog.h>
#include <tinyxml2.h>
#include <unistd.h>

#include <Eigen/Geometry>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <memory>
#include <optional>

namespace oh::model::compat {

namespace {

namespace fs = std::filesystem;
using tinyxml2::XMLDocument;
using tinyxml2::XMLElement;

bool exists_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

/// Finds a URDF mesh file: as given (relative to the URDF, absolute, file://, or package://pkg/... looked
/// up in the URDF's directory and its ancestors), else by its name in directories where exporters put
/// meshes when the URDF has been moved (the URDF's <mujoco> meshdir, <urdf dir>/meshes, <urdf dir>).
/// Returns the absolute path and whether it was found somewhere other than the given path.
std::optional<std::pair<fs::path, bool>> find_mesh(const std::string& filename, const fs::path& urdf_dir,
                                                   const std::vector<fs::path>& fallback_dirs) {
  std::vector<fs::path> exact;
  std::string name = filename;
  if (name.rfind("file://", 0) == 0) name = name.substr(7);
  if (name.rfind("package://", 0) == 0) {
    const std::string rest = name.substr(10);
    const auto slash = rest.find('/');
    const std::string pkg = rest.substr(0, slash);
    const fs::path rel = slash == std::string::npos ? fs::path() : fs::path(rest.substr(slash + 1));
    for (fs::path a = urdf_dir;; a = a.parent_path()) {
      exact.push_back(a / pkg / rel);
      if (a.filename() == pkg) exact.push_back(a / rel);
      exact.push_back(a / rel);
      if (a == a.parent_path() || a.empty()) break;
    }
    name = rel.string();
  } else {
    const fs::path p(name);
    exact.push_back(p.is_absolute() ? p : urdf_dir / p);
  }
  for (const fs::path& c : exact)
    if (exists_file(c)) return std::make_pair(fs::absolute(c).lexically_normal(), false);
  const fs::path base = fs::path(name).filename();
  if (base.empty()) return std::nullopt;
  for (const fs::path& d : fallback_dirs)
    if (exists_file(d / base)) return std::make_pair(fs::absolute(d / base).lexically_normal(), true);
  return std::nullopt;
}

/// Lowest point of the collision geometry (all geometry if none collides) of bodies other than the world
/// at qpos0, or nullopt if there is none.
std::optional<double> lowest_point(const mjModel* m) {
  mjData* d = mj_makeData(m);
  mj_kinematics(m, d);
  double low[2] = {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
  for (int g = 0; g < m->ngeom; ++g) {
    if (m->geom_bodyid[g] == 0 || m->geom_type[g] == mjGEOM_PLANE) continue;
    const int k = (m->geom_contype[g] || m->geom_conaffinity[g]) ? 0 : 1;
    const Eigen::Map<const Eigen::Vector3d> c(d->geom_xpos + 3 * g);
    const Eigen::Map<const Eigen::Matrix<double, 3, 3, Eigen::RowMajor>> R(d->geom_xmat + 9 * g);
    const double* s = m->geom_size + 3 * g;
    const Eigen::Vector3d az = R.row(2).transpose();  // z components of the geom's axes
    double z = c.z() - m->geom_rbound[g];
    switch (m->geom_type[g]) {
      case mjGEOM_SPHERE: z = c.z() - s[0]; break;
      case mjGEOM_CAPSULE: z = c.z() - std::abs(az.z()) * s[1] - s[0]; break;
      case mjGEOM_CYLINDER:
        z = c.z() - std::abs(az.z()) * s[1] - s[0] * std::sqrt(std::max(0.0, 1 - az.z() * az.z()));
        break;
      case mjGEOM_BOX: z = c.z() - std::abs(az.x()) * s[0] - std::abs(az.y()) * s[1] - std::abs(az.z()) * s[2]; break;
      case mjGEOM_ELLIPSOID:
        z = c.z() - std::sqrt(std::pow(az.x() * s[0], 2) + std::pow(az.y() * s[1], 2) + std::pow(az.z() * s[2], 2));
        break;
      case mjGEOM_MESH: {
        const int mesh = m->geom_dataid[g];
        const float* v = m->mesh_vert + 3 * m->mesh_vertadr[mesh];
        z = std::numeric_limits<double>::infinity();
        for (int i = 0; i < m->mesh_vertnum[mesh]; ++i)
          z = std::min(z, c.z() + az.x() * v[3 * i] + az.y() * v[3 * i + 1] + az.z() * v[3 * i + 2]);
        break;
      }
      default: break;
    }
    low[k] = std::min(low[k], z);
  }
  mj_deleteData(d);
  if (std::isfinite(low[0])) return low[0];
  if (std::isfinite(low[1])) return low[1];
  return std::nullopt;
}

/// mj_saveLastXML writes numbers with 6 significant digits; put back the full-precision values of the
/// imported model for body poses, inertials and joints (matched by name).
void restore_precision(XMLElement* e, const mjModel* m) {
  for (XMLElement* c = e->FirstChildElement(); c; c = c->NextSiblingElement()) {
    const std::string tag = c->Name();
    const char* name = c->Attribute("name");
    if (tag == "body" && name) {
      const int b = mj_name2id(m, mjOBJ_BODY, name);
      if (b > 0) {
        c->SetAttribute("pos", fmt_nums(m->body_pos + 3 * b, 3).c_str());
        c->SetAttribute("quat", fmt_nums(m->body_quat + 4 * b, 4).c_str());
        if (XMLElement* in = c->FirstChildElement("inertial")) {
          in->SetAttribute("pos", fmt_nums(m->body_ipos + 3 * b, 3).c_str());
          in->SetAttribute("quat", fmt_nums(m->body_iquat + 4 * b, 4).c_str());
          in->SetAttribute("mass", fmt_num(m->body_mass[b]).c_str());
          in->SetAttribute("diaginertia", fmt_nums(m->body_inertia + 3 * b, 3).c_str());
          in->DeleteAttribute("fullinertia");
        }
      }
    } else if (tag == "joint" && name) {
      const int j = mj_name2id(m, mjOBJ_JOINT, name);
      if (j >= 0) {
        c->SetAttribute("pos", fmt_nums(m->jnt_pos + 3 * j, 3).c_str());
        c->SetAttribute("axis", fmt_nums(m->jnt_axis + 3 * j, 3).c_str());
        if (c->Attribute("range")) c->SetAttribute("range", fmt_nums(m->jnt_range + 2 * j, 2).c_str());
      }
    }
    restore_precision(c, m);
  }
}

}  // namespace

Result load_urdf(const fs::path& file, const Options& options) {
  const std::string text = read_text_file(file);
  const std::string fname = file.filename().string();
  const fs::path urdf_dir = fs::absolute(file).lexically_normal().parent_path();
  XMLDocument doc;
  parse_xml(doc, text, file.string());
  XMLElement* robot = doc.RootElement();
  if (std::string(robot->Name()) != "robot")
    throw ModelError(fmt::format("{}:{}: root element is <{}>, expected <robot> (URDF)", file.string(),
                                 robot->GetLineNum(), robot->Name()));
  std::vector<std::string> rewrites;
  auto note = [&](std::string line) {
    spdlog::info("compat: {}", line);
    rewrites.push_back(std::move(line));
  };

  // URDF <limit effort velocity>: MuJoCo ignores them; we keep them for the Model and the motors.
  std::map<std::string, UrdfJointLimits> limits;
  for (XMLElement* j = robot->FirstChildElement("joint"); j; j = j->NextSiblingElement("joint")) {
    const char* name = j->Attribute("name");
    const char* type = j->Attribute("type");
    if (!name || (type && std::string(type) == "fixed")) continue;
    UrdfJointLimits lim;
    if (XMLElement* l = j->FirstChildElement("limit")) {
      lim.effort = std::abs(l->DoubleAttribute("effort", 0.0));
      lim.velocity = std::abs(l->DoubleAttribute("velocity", 0.0));
      if (!std::isfinite(lim.effort) || !std::isfinite(lim.velocity))
        throw ModelError(fmt::format("{}:{}: <joint name={}> <limit>: non-finite effort or velocity", file.string(),
                                     l->GetLineNum(), name));
    }
    limits[name] = lim;
  }

  // The <mujoco><compiler> extension: honoured, completed with our settings where it is silent.
  XMLElement* ext = robot->FirstChildElement("mujoco");
  if (!ext) ext = robot->InsertFirstChild(doc.NewElement("mujoco"))->ToElement();
  XMLElement* compiler = ext->FirstChildElement("compiler");
  if (!compiler) compiler = ext->InsertNewChildElement("compiler");
  std::vector<fs::path> mesh_dirs;
  if (const char* md = compiler->Attribute("meshdir")) mesh_dirs.push_back((urdf_dir / md).lexically_normal());
  mesh_dirs.push_back(urdf_dir / "meshes");
  mesh_dirs.push_back(urdf_dir);
  mesh_dirs.push_back(urdf_dir.parent_path() / "meshes");

  // Mesh paths: made absolute (MuJoCo's URDF import would otherwise strip their directories).
  int moved = 0;
  std::string moved_example, moved_dir;
  std::vector<XMLElement*> stack{robot};
  while (!stack.empty()) {
    XMLElement* e = stack.back();
    stack.pop_back();
    for (XMLElement* c = e->FirstChildElement(); c; c = c->NextSiblingElement()) stack.push_back(c);
    if (std::string(e->Name()) != "mesh" || !e->Attribute("filename")) continue;
    const std::string given = e->Attribute("filename");
    auto found = find_mesh(given, urdf_dir, mesh_dirs);
    if (!found)
      throw ModelError(fmt::format("{}:{}: <mesh filename={}>: mesh file not found (looked relative to {} and in {})",
                                   file.string(), e->GetLineNum(), given, urdf_dir.string(),
                                   mesh_dirs.front().string()));
    if (found->second) {
      ++moved;
      if (moved_example.empty()) moved_example = given, moved_dir = found->first.parent_path().string();
    }
    e->SetAttribute("filename", found->first.string().c_str());
  }
  if (moved)
    note(fmt::format("{}: {} mesh file(s) not at their given path (e.g. {}); found by name in {}", fname, moved,
                     moved_example, moved_dir));
  if (const char* md = compiler->Attribute("meshdir")) {
    note(fmt::format("{}: <mujoco><compiler> meshdir={} dropped (mesh paths made absolute)", fname, md));
    compiler->DeleteAttribute("meshdir");
  }
  compiler->SetAttribute("strippath", "false");
  for (auto [key, value] : {std::pair{"balanceinertia", "true"}, {"discardvisual", "false"}, {"fusestatic", "false"}})
    if (!compiler->Attribute(key)) compiler->SetAttribute(key, value);

  // Import with MuJoCo 2.2.2 and save as MJCF.
  const std::string urdf_text = print_xml(doc);
  std::string mjcf, error;
  std::unique_ptr<mjModel, void (*)(mjModel*)> imported(nullptr, [](mjModel* p) { mj_deleteModel(p); });
  {
    std::lock_guard<std::mutex> lock(mujoco_compiler_mutex());
    imported.reset(compile_raw(urdf_text, file, error));
    if (!imported) throw ModelError(fmt::format("{}: MuJoCo 2.2.2 URDF import: {}", file.string(), one_line(error)));
    static std::atomic<int> counter{0};
    const fs::path tmp = fs::temp_directory_path() / fmt::format("oh-compat-{}-{}.xml", ::getpid(), counter++);
    char err[1024] = {0};
    const int ok = mj_saveLastXML(tmp.string().c_str(), imported.get(), err, sizeof(err));
    if (ok) {
      try {
        mjcf = read_text_file(tmp);
      } catch (const ModelError&) {
        mjcf.clear();
      }
    }
    std::error_code ec;
    fs::remove(tmp, ec);
    if (!ok || mjcf.empty())
      throw ModelError(fmt::format("{}: could not convert the imported URDF to MJCF: {}", file.string(),
                                   err[0] ? one_line(err) : "mj_saveLastXML failed"));
  }
  const mjModel* m = imported.get();
  const std::optional<double> lowest = lowest_point(m);
  std::vector<std::string> model_joints;  // hinge/slide joints in model order
  for (int j = 0; j < m->njnt; ++j)
    if (m->jnt_type[j] == mjJNT_HINGE || m->jnt_type[j] == mjJNT_SLIDE)
      if (const char* n = mj_id2name(m, mjOBJ_JOINT, j)) model_joints.push_back(n);

  // Floating base, placement, motors.
  XMLDocument out;
  parse_xml(out, mjcf, file.string() + " (as MJCF)");
  XMLElement* root = out.RootElement();
  XMLElement* world = root->FirstChildElement("worldbody");
  XMLElement* base = world ? world->FirstChildElement("body") : nullptr;
  if (world) restore_precision(world, m);
  // <size> written by mj_saveLastXML holds 2.2.2's defaults, not a choice of the URDF: let the MJCF
  // layer size the buffers unless the URDF's <mujoco> extension had a <size>.
  if (!ext->FirstChildElement("size"))
    for (XMLElement* sz = root->FirstChildElement("size"); sz; sz = sz->NextSiblingElement("size")) {
      sz->DeleteAttribute("nconmax");
      sz->DeleteAttribute("njmax");
    }
  bool has_world_link = false;  // MuJoCo's importer makes a link named "world" the world body: fixed base
  for (XMLElement* l = robot->FirstChildElement("link"); l; l = l->NextSiblingElement("link"))
    has_world_link |= l->Attribute("name") && std::string(l->Attribute("name")) == "world";
  if (has_world_link) {
    note(fmt::format("{}: fixed base (the URDF attaches the robot to a 'world' link); no free joint added", fname));
  } else if (base && !base->FirstChildElement("joint") && !base->FirstChildElement("freejoint")) {
    const char* bn = base->Attribute("name");
    XMLElement* fj = out.NewElement("freejoint");
    fj->SetAttribute("name", "floating_base_joint");
    base->InsertFirstChild(fj);
    Eigen::Vector3d pos(0, 0, 0);
    if (const char* p = base->Attribute("pos")) {
      const auto v = parse_numbers(p);
      if (v.size() == 3) pos = Eigen::Vector3d(v[0], v[1], v[2]);
    }
    std::string placed;
    if (lowest) {
      pos.z() -= *lowest;
      placed = fmt::format(", raised by {:.4g} m so that its lowest collision geometry touches z=0", -*lowest);
    }
    base->SetAttribute("pos", fmt_nums(pos.data(), 3).c_str());
    note(fmt::format("{}: <link name={}> given a free joint (floating base){}", fname, bn ? bn : "?", placed));
  } else if (!base) {
    spdlog::warn("compat: {}: no root body found; no floating base added", fname);
  }
  XMLElement* actuator = root->FirstChildElement("actuator");
  if (!actuator) actuator = root->InsertNewChildElement("actuator");
  int motors = 0;
  for (const std::string& j : model_joints) {
    auto it = limits.find(j);
    if (it == limits.end() || it->second.effort <= 0) continue;
    XMLElement* mo = actuator->InsertNewChildElement("motor");
    mo->SetAttribute("name", j.c_str());
    mo->SetAttribute("joint", j.c_str());
    const double r[2] = {-it->second.effort, it->second.effort};
    mo->SetAttribute("ctrlrange", fmt_nums(r, 2).c_str());
    mo->SetAttribute("ctrllimited", "true");
    ++motors;
  }
  if (motors)
    note(fmt::format("{}: {} <motor> actuators added (ctrlrange = +-effort from <limit effort>)", fname, motors));

  Result r = load_mjcf_string(print_xml(out), urdf_dir / (file.stem().string() + ".urdf.xml"), options);
  rewrites.insert(rewrites.end(), r.rewrites.begin(), r.rewrites.end());
  r.rewrites = std::move(rewrites);
  r.urdf_limits = std::move(limits);
  return r;
}

}  // namespace oh::model::compat
