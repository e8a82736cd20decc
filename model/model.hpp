// OpenHumanoid robot description: the project's own Model, built from MJCF or URDF.
//
// Conventions (REP-103): SI units, x forward, y left, z up. Quaternions are stored (w, x, y, z) as in
// MuJoCo. The configuration q has MuJoCo's qpos layout: for a floating base, q = [p_world (3),
// quat_world (w,x,y,z) (4), joint positions...]. The velocity v has the layout of MuJoCo's qvel, but the
// floating-base block follows Featherstone/Pinocchio: v = [v_base expressed in the BASE frame (3),
// omega_base expressed in the BASE frame (3), joint velocities...]. MuJoCo's free joint stores the linear
// velocity in the WORLD frame instead; see dynamics/dynamics.hpp for the exact mapping.
#pragma once

#include <Eigen/Core>
#include <Eigen/Geometry>

#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct mjModel_;

namespace oh::model {

/// Error thrown for any problem with a robot description. what() is a single line that names the file
/// and, where known, the element and attribute at fault.
class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Joint kinds that the dynamics library supports. A body with no joint is welded to its parent.
enum class JointType { kFree, kBall, kPrismatic, kRevolute };

/// A rigid body of the kinematic tree. Body 0 is the world.
struct Body {
  std::string name;
  int parent = -1;                                   ///< parent body index; -1 for the world body
  Eigen::Vector3d pos = Eigen::Vector3d::Zero();     ///< origin in the parent body frame at q = qpos0 [m]
  Eigen::Quaterniond quat = Eigen::Quaterniond::Identity();  ///< orientation in the parent frame
  double mass = 0.0;                                 ///< [kg]
  Eigen::Vector3d com = Eigen::Vector3d::Zero();     ///< centre of mass in the body frame [m]
  Eigen::Matrix3d inertia = Eigen::Matrix3d::Zero(); ///< rotational inertia about the CoM, body axes [kg m^2]
  std::vector<int> joints;                           ///< indices into Model::joints, in MuJoCo order
};

/// A joint between a body and its parent. Its axis passes through `pos`, both in the child body frame.
struct Joint {
  std::string name;
  JointType type = JointType::kRevolute;
  int body = -1;                                     ///< the body this joint moves
  Eigen::Vector3d pos = Eigen::Vector3d::Zero();     ///< anchor in the body frame [m]
  Eigen::Vector3d axis = Eigen::Vector3d::UnitZ();   ///< unit axis in the body frame
  int q_index = 0;                                   ///< first index in q
  int v_index = 0;                                   ///< first index in v
  int nq = 1;                                        ///< 7 free, 4 ball, 1 otherwise
  int nv = 1;                                        ///< 6 free, 3 ball, 1 otherwise
  bool limited = false;                              ///< position limits active
  double lower = 0.0, upper = 0.0;                   ///< position limits [rad or m]
  double velocity_limit = 0.0;                       ///< [rad/s or m/s]; 0 when the model gives none
  double effort_limit = 0.0;                         ///< [N m or N]; 0 when the model gives none
  double armature = 0.0;                             ///< rotor inertia added to M's diagonal [kg m^2]
  double damping = 0.0;                              ///< viscous damping [N m s/rad]
  double frictionloss = 0.0;                         ///< dry friction [N m]
  double qpos0 = 0.0;                                ///< reference position (1-DoF joints)
};

/// A named frame rigidly attached to a body: every body has one, and so does every MJCF site.
struct Frame {
  enum class Kind { kBody, kSite };
  std::string name;
  Kind kind = Kind::kBody;
  int body = 0;
  Eigen::Vector3d pos = Eigen::Vector3d::Zero();     ///< in the body frame [m]
  Eigen::Quaterniond quat = Eigen::Quaterniond::Identity();
};

/// Geometry for collision and rendering, with MuJoCo's size semantics (half-sizes and radii) [m].
struct Geom {
  enum class Type { kPlane, kHeightField, kSphere, kCapsule, kEllipsoid, kCylinder, kBox, kMesh, kOther };
  std::string name;
  Type type = Type::kOther;
  int body = 0;
  Eigen::Vector3d size = Eigen::Vector3d::Zero();
  Eigen::Vector3d pos = Eigen::Vector3d::Zero();     ///< in the body frame
  Eigen::Quaterniond quat = Eigen::Quaterniond::Identity();
  Eigen::Vector4f rgba = Eigen::Vector4f(0.5f, 0.5f, 0.5f, 1.0f);
  bool collides = false;                             ///< contype or conaffinity non-zero
  int mesh = -1;                                     ///< index into Model::meshes for kMesh
};

/// A triangle mesh in its geom's frame (vertices already centred as MuJoCo compiles them).
struct Mesh {
  std::string name;
  std::vector<float> vertices;                       ///< xyz triples [m]
  std::vector<int> faces;                            ///< vertex-index triples
};

/// A joint-space actuator. ctrl maps to joint effort as
///   effort = gear * (kp * ctrl - kp * q - kv * qdot)  for kPosition/kGeneral with affine bias,
///   effort = gear * ctrl                              for kMotor.
struct Actuator {
  enum class Kind { kMotor, kPosition, kVelocity, kGeneral };
  std::string name;
  int joint = -1;
  Kind kind = Kind::kMotor;
  double gear = 1.0;
  double kp = 0.0;                                   ///< position gain (actuator units)
  double kv = 0.0;                                   ///< velocity gain (actuator units)
  bool ctrl_limited = false;
  double ctrl_lower = 0.0, ctrl_upper = 0.0;
  bool force_limited = false;
  double force_lower = 0.0, force_upper = 0.0;       ///< actuator force limits (before gear)
};

/// A named configuration from the model's keyframes.
struct Keyframe {
  std::string name;
  Eigen::VectorXd q;
};

/// A compiled robot: the kinematic tree, inertias, frames, geometry and actuators.
struct Model {
  std::string name;
  std::filesystem::path source;                      ///< the file it was loaded from
  std::vector<Body> bodies;                          ///< body 0 is the world
  std::vector<Joint> joints;
  std::vector<Frame> frames;
  std::vector<Geom> geoms;
  std::vector<Mesh> meshes;
  std::vector<Actuator> actuators;
  std::vector<Keyframe> keyframes;
  int nq = 0, nv = 0, nu = 0;
  double timestep = 0.002;                           ///< [s]
  Eigen::Vector3d gravity = Eigen::Vector3d(0, 0, -9.81);  ///< [m/s^2], world frame
  Eigen::VectorXd qpos0;                             ///< MuJoCo's reference configuration (nq)
  std::vector<std::string> compat_rewrites;          ///< what the MuJoCo-3 layer changed, one line each

  /// Sum of all body masses [kg].
  double total_mass() const;
  /// True when body 1's first joint is a free joint.
  bool has_floating_base() const;
  /// Index of the body, joint, frame or actuator with this name, or -1.
  int body_id(const std::string& n) const;
  int joint_id(const std::string& n) const;
  int frame_id(const std::string& n) const;
  int actuator_id(const std::string& n) const;
  /// The actuator driving joint j, or -1.
  int actuator_for_joint(int j) const;
  /// The nominal configuration: keyframe "home"/"stand" or the first keyframe if any, else qpos0.
  Eigen::VectorXd nominal_q() const;
};

/// Releases an mjModel; used by the shared pointer returned from the loader.
void free_mj_model(mjModel_* m);

/// A loaded robot: our Model plus the MuJoCo model compiled from the same (rewritten) XML.
struct LoadedRobot {
  Model model;
  std::shared_ptr<mjModel_> mj;                      ///< owns the mjModel (freed with mj_deleteModel)
  std::string mjcf;                                  ///< the MJCF text MuJoCo 2.2.2 compiled
};

/// Options for load().
struct LoadOptions {
  bool add_floor_if_missing = true;                  ///< add a ground plane when the world has none
};

/// Loads an MJCF (.xml) or URDF (.urdf) file. MJCF passes through the MuJoCo-3 compatibility layer
/// (model/compat.hpp) and MuJoCo 2.2.2's compiler; a URDF gets a floating base, and its effort limits
/// become motor actuators. Throws ModelError with a one-line message for a missing file, malformed XML,
/// unsupported syntax, or invalid physical data (NaN or negative inertia).
LoadedRobot load(const std::filesystem::path& file, const LoadOptions& options = {});

/// Builds a Model from an already compiled mjModel (the kinematic tree, inertias, frames, geoms,
/// actuators and keyframes). Throws ModelError for non-finite inertial data.
Model from_mujoco(const mjModel_* m);

/// The directory holding the project's built-in robots (env OH_ROBOTS_DIR overrides).
std::filesystem::path robots_dir();
/// The directory holding third-party inputs, ../shared (env OH_SHARED_DIR overrides).
std::filesystem::path shared_dir();
/// The built-in reference humanoid's scene file.
std::filesystem::path builtin_robot_path();
/// Resolves a robot argument: empty or "builtin" gives the built-in robot; an existing path is used
/// as is (a directory resolves to its scene.xml, or its only .xml/.urdf); a short name such as "g1"
/// or "h1" resolves to a directory under shared_dir()/robots whose name contains it. Throws ModelError.
std::filesystem::path resolve_robot(const std::string& name_or_path);

}  // namespace oh::model
