// Model methods, conversion from a compiled mjModel, and robot path resolution.
#include "model/model.hpp"

#include <mujoco/mujoco.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>

namespace oh::model {
namespace {

Eigen::Vector3d vec3(const mjtNum* p) { return {p[0], p[1], p[2]}; }
Eigen::Quaterniond quat4(const mjtNum* p) { return Eigen::Quaterniond(p[0], p[1], p[2], p[3]).normalized(); }

std::string name_of(const mjModel* m, int adr) { return adr >= 0 ? std::string(m->names + adr) : std::string(); }

Geom::Type geom_type(int t) {
  switch (t) {
    case mjGEOM_PLANE: return Geom::Type::kPlane;
    case mjGEOM_HFIELD: return Geom::Type::kHeightField;
    case mjGEOM_SPHERE: return Geom::Type::kSphere;
    case mjGEOM_CAPSULE: return Geom::Type::kCapsule;
    case mjGEOM_ELLIPSOID: return Geom::Type::kEllipsoid;
    case mjGEOM_CYLINDER: return Geom::Type::kCylinder;
    case mjGEOM_BOX: return Geom::Type::kBox;
    case mjGEOM_MESH: return Geom::Type::kMesh;
    default: return Geom::Type::kOther;
  }
}

template <class T>
int find_by_name(const std::vector<T>& items, const std::string& n) {
  for (size_t i = 0; i < items.size(); ++i)
    if (items[i].name == n) return static_cast<int>(i);
  return -1;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

void free_mj_model(mjModel_* m) {
  if (m) mj_deleteModel(m);
}

double Model::total_mass() const {
  double sum = 0.0;
  for (const auto& b : bodies) sum += b.mass;
  return sum;
}

bool Model::has_floating_base() const {
  return bodies.size() > 1 && !bodies[1].joints.empty() && joints[bodies[1].joints[0]].type == JointType::kFree;
}

int Model::body_id(const std::string& n) const { return find_by_name(bodies, n); }
int Model::joint_id(const std::string& n) const { return find_by_name(joints, n); }
int Model::frame_id(const std::string& n) const { return find_by_name(frames, n); }
int Model::actuator_id(const std::string& n) const { return find_by_name(actuators, n); }

int Model::actuator_for_joint(int j) const {
  for (size_t i = 0; i < actuators.size(); ++i)
    if (actuators[i].joint == j) return static_cast<int>(i);
  return -1;
}

Eigen::VectorXd Model::nominal_q() const {
  for (const char* preferred : {"home", "stand", "standing", "default", "init"})
    for (const auto& k : keyframes)
      if (lower(k.name) == preferred) return k.q;
  if (!keyframes.empty()) return keyframes.front().q;
  return qpos0;
}

Model from_mujoco(const mjModel* m) {
  if (m == nullptr) throw ModelError("from_mujoco: null mjModel");
  Model out;
  out.name = name_of(m, m->name_bodyadr[0]);  // overwritten by the model name below when present
  if (m->names[0] != '\0') out.name = std::string(m->names);
  out.nq = m->nq;
  out.nv = m->nv;
  out.nu = m->nu;
  out.timestep = m->opt.timestep;
  out.gravity = vec3(m->opt.gravity);
  out.qpos0 = Eigen::Map<const Eigen::VectorXd>(m->qpos0, m->nq);

  out.bodies.resize(m->nbody);
  for (int b = 0; b < m->nbody; ++b) {
    Body& body = out.bodies[b];
    body.name = name_of(m, m->name_bodyadr[b]);
    if (b == 0 && body.name.empty()) body.name = "world";
    body.parent = b == 0 ? -1 : m->body_parentid[b];
    body.pos = vec3(m->body_pos + 3 * b);
    body.quat = quat4(m->body_quat + 4 * b);
    body.mass = m->body_mass[b];
    body.com = vec3(m->body_ipos + 3 * b);
    const Eigen::Matrix3d R = quat4(m->body_iquat + 4 * b).toRotationMatrix();
    const Eigen::Vector3d d = vec3(m->body_inertia + 3 * b);
    body.inertia = R * d.asDiagonal() * R.transpose();
    const bool finite = std::isfinite(body.mass) && body.com.allFinite() && body.inertia.allFinite();
    if (!finite || body.mass < 0 || (d.array() < 0).any())
      throw ModelError(fmt::format("body '{}': invalid inertial data (mass {}, diaginertia {} {} {})", body.name,
                                   body.mass, d[0], d[1], d[2]));
  }

  out.joints.resize(m->njnt);
  for (int j = 0; j < m->njnt; ++j) {
    Joint& jt = out.joints[j];
    jt.name = name_of(m, m->name_jntadr[j]);
    jt.body = m->jnt_bodyid[j];
    jt.pos = vec3(m->jnt_pos + 3 * j);
    jt.axis = vec3(m->jnt_axis + 3 * j);
    jt.q_index = m->jnt_qposadr[j];
    jt.v_index = m->jnt_dofadr[j];
    switch (m->jnt_type[j]) {
      case mjJNT_FREE: jt.type = JointType::kFree; jt.nq = 7; jt.nv = 6; break;
      case mjJNT_BALL: jt.type = JointType::kBall; jt.nq = 4; jt.nv = 3; break;
      case mjJNT_SLIDE: jt.type = JointType::kPrismatic; break;
      default: jt.type = JointType::kRevolute; break;
    }
    jt.limited = m->jnt_limited[j] != 0;
    jt.lower = m->jnt_range[2 * j];
    jt.upper = m->jnt_range[2 * j + 1];
    jt.armature = m->dof_armature[jt.v_index];
    jt.damping = m->dof_damping[jt.v_index];
    jt.frictionloss = m->dof_frictionloss[jt.v_index];
    jt.qpos0 = m->qpos0[jt.q_index];
    out.bodies[jt.body].joints.push_back(j);
  }

  for (int b = 0; b < m->nbody; ++b)
    out.frames.push_back({out.bodies[b].name, Frame::Kind::kBody, b, Eigen::Vector3d::Zero(),
                          Eigen::Quaterniond::Identity()});
  for (int s = 0; s < m->nsite; ++s)
    out.frames.push_back({name_of(m, m->name_siteadr[s]), Frame::Kind::kSite, m->site_bodyid[s],
                          vec3(m->site_pos + 3 * s), quat4(m->site_quat + 4 * s)});

  out.meshes.resize(m->nmesh);
  for (int k = 0; k < m->nmesh; ++k) {
    Mesh& mesh = out.meshes[k];
    mesh.name = name_of(m, m->name_meshadr[k]);
    const int va = m->mesh_vertadr[k], vn = m->mesh_vertnum[k];
    mesh.vertices.assign(m->mesh_vert + 3 * va, m->mesh_vert + 3 * (va + vn));
    const int fa = m->mesh_faceadr[k], fn = m->mesh_facenum[k];
    mesh.faces.assign(m->mesh_face + 3 * fa, m->mesh_face + 3 * (fa + fn));
  }

  out.geoms.resize(m->ngeom);
  for (int g = 0; g < m->ngeom; ++g) {
    Geom& geom = out.geoms[g];
    geom.name = name_of(m, m->name_geomadr[g]);
    geom.type = geom_type(m->geom_type[g]);
    geom.body = m->geom_bodyid[g];
    geom.size = vec3(m->geom_size + 3 * g);
    geom.pos = vec3(m->geom_pos + 3 * g);
    geom.quat = quat4(m->geom_quat + 4 * g);
    for (int i = 0; i < 4; ++i) geom.rgba[i] = m->geom_rgba[4 * g + i];
    geom.collides = m->geom_contype[g] != 0 || m->geom_conaffinity[g] != 0;
    geom.mesh = geom.type == Geom::Type::kMesh ? m->geom_dataid[g] : -1;
  }

  for (int a = 0; a < m->nu; ++a) {
    Actuator act;
    act.name = name_of(m, m->name_actuatoradr[a]);
    const int trn = m->actuator_trntype[a];
    if (trn == mjTRN_JOINT || trn == mjTRN_JOINTINPARENT) act.joint = m->actuator_trnid[2 * a];
    act.gear = m->actuator_gear[6 * a];
    const mjtNum* gain = m->actuator_gainprm + mjNGAIN * a;
    const mjtNum* bias = m->actuator_biasprm + mjNBIAS * a;
    const bool fixed_gain = m->actuator_gaintype[a] == mjGAIN_FIXED;
    const bool affine = m->actuator_biastype[a] == mjBIAS_AFFINE;
    const bool no_dyn = m->actuator_dyntype[a] == mjDYN_NONE;
    if (fixed_gain && m->actuator_biastype[a] == mjBIAS_NONE && no_dyn) {
      act.kind = Actuator::Kind::kMotor;
    } else if (fixed_gain && affine && no_dyn && bias[0] == 0 && bias[1] == -gain[0] && gain[0] > 0) {
      act.kind = Actuator::Kind::kPosition;
      act.kp = gain[0];
      act.kv = -bias[2];
    } else if (fixed_gain && affine && no_dyn && bias[0] == 0 && bias[1] == 0 && bias[2] == -gain[0]) {
      act.kind = Actuator::Kind::kVelocity;
      act.kv = gain[0];
    } else {
      act.kind = Actuator::Kind::kGeneral;
      act.kp = affine ? -bias[1] : 0.0;
      act.kv = affine ? -bias[2] : 0.0;
    }
    act.ctrl_limited = m->actuator_ctrllimited[a] != 0;
    act.ctrl_lower = m->actuator_ctrlrange[2 * a];
    act.ctrl_upper = m->actuator_ctrlrange[2 * a + 1];
    act.force_limited = m->actuator_forcelimited[a] != 0;
    act.force_lower = m->actuator_forcerange[2 * a];
    act.force_upper = m->actuator_forcerange[2 * a + 1];
    if (act.joint >= 0) {
      Joint& jt = out.joints[act.joint];
      const double g = std::abs(act.gear);
      double limit = 0.0;
      if (act.force_limited) limit = std::max(std::abs(act.force_lower), std::abs(act.force_upper)) * g;
      else if (act.kind == Actuator::Kind::kMotor && act.ctrl_limited)
        limit = std::max(std::abs(act.ctrl_lower), std::abs(act.ctrl_upper)) * g;
      if (limit > 0 && (jt.effort_limit == 0 || limit < jt.effort_limit)) jt.effort_limit = limit;
    }
    out.actuators.push_back(std::move(act));
  }

  for (int k = 0; k < m->nkey; ++k)
    out.keyframes.push_back({name_of(m, m->name_keyadr[k]),
                             Eigen::Map<const Eigen::VectorXd>(m->key_qpos + k * m->nq, m->nq)});
  return out;
}

std::filesystem::path robots_dir() {
  if (const char* env = std::getenv("OH_ROBOTS_DIR")) return env;
  return OH_ROBOTS_DIR;
}

std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("OH_SHARED_DIR")) return env;
  return OH_SHARED_DIR;
}

std::filesystem::path builtin_robot_path() { return robots_dir() / "reference_humanoid" / "scene.xml"; }

namespace {
std::filesystem::path scene_in_dir(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  if (fs::exists(dir / "scene.xml")) return dir / "scene.xml";
  std::vector<fs::path> candidates;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto ext = lower(e.path().extension().string());
    if (e.is_regular_file() && (ext == ".xml" || ext == ".urdf")) candidates.push_back(e.path());
  }
  if (candidates.size() == 1) return candidates.front();
  // MJCF carries actuators and scene options that URDF lacks: one .xml among several files wins.
  std::vector<fs::path> xml;
  for (const auto& c : candidates)
    if (lower(c.extension().string()) == ".xml") xml.push_back(c);
  if (xml.size() == 1) return xml.front();
  throw ModelError(fmt::format("{}: directory has no scene.xml and {} candidate model files; name the file",
                               dir.string(), candidates.size()));
}
}  // namespace

std::filesystem::path resolve_robot(const std::string& arg) {
  namespace fs = std::filesystem;
  if (arg.empty() || arg == "builtin" || arg == "reference_humanoid") return builtin_robot_path();
  const fs::path p(arg);
  if (fs::is_directory(p)) return scene_in_dir(p);
  if (fs::exists(p)) return p;
  if (p.has_extension() || arg.find('/') != std::string::npos)
    throw ModelError(fmt::format("{}: no such file", arg));
  const std::string want = lower(arg);
  for (const fs::path& root : {robots_dir(), shared_dir() / "robots"}) {
    if (!fs::is_directory(root)) continue;
    std::vector<fs::path> hits;
    for (const auto& e : fs::directory_iterator(root)) {
      if (!e.is_directory()) continue;
      const std::string dir = lower(e.path().filename().string());
      // "g1" matches "unitree_g1"; an exact name or a suffix after '_' wins.
      if (dir == want || dir.ends_with("_" + want) || dir.starts_with(want)) hits.push_back(e.path());
    }
    if (hits.size() == 1) return scene_in_dir(hits.front());
    if (hits.size() > 1) throw ModelError(fmt::format("robot '{}' is ambiguous under {}", arg, root.string()));
  }
  throw ModelError(fmt::format("robot '{}': not a file and not a robot under {} or {}", arg, robots_dir().string(),
                               (shared_dir() / "robots").string()));
}

}  // namespace oh::model
