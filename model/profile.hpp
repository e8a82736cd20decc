// Robot profile: which bodies and joints of a Model play which role (floating base, pelvis, legs and feet,
// waist and torso, arms and hands, neck and head), and the nominal standing configuration.
//
// detect_profile() finds all of it from structure and geometry alone: the kinematic tree, forward
// kinematics at the nominal configuration, and the collision geometry. It never relies on joint or body
// names, so a robot it has never seen works, and so does one with its names scrambled. A YAML file can
// override any part by names (load_profile); profile_for() chains both the way the applications use them.
//
// Frames and units follow model/model.hpp: SI units, x forward, y left, z up; "world" is the frame of
// Model body 0; "nominal" is the configuration Profile::q_nominal; body/frame/joint numbers are indices
// into Model::bodies, Model::frames and Model::joints.
#pragma once

#include "model/model.hpp"

#include <Eigen/Core>
#include <Eigen/Geometry>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace oh::model {

/// A serial chain of joints: a leg (pelvis to foot) or an arm (torso to hand).
struct Limb {
  std::vector<int> joints;  ///< Model::joints indices on the tree path root_body -> end_body, root to tip
  int root_body = -1;       ///< the body the chain hangs from (pelvis for a leg, torso for an arm); its own
                            ///< joints are not part of the limb
  int end_body = -1;        ///< the distal body: the foot, or the hand
  int end_frame = -1;       ///< Model::frames index: a site on end_body when there is one (for a foot the
                            ///< one nearest the sole centre), otherwise end_body's body frame
};

/// A foot and its sole. All vectors are in the foot body's frame [m].
struct Foot {
  int body = -1;            ///< the foot body (the deepest body holding the foot's lowest collision geometry)
  int frame = -1;           ///< Model::frames index, as Limb::end_frame
  Eigen::Vector3d sole_center = Eigen::Vector3d::Zero();  ///< centre of the sole rectangle, at the sole
  /// Orientation of the sole frame in the foot body frame: its z is the world up direction at nominal,
  /// its x the foot's x axis projected onto the ground plane. Identity when the foot frame is level.
  Eigen::Quaterniond sole_quat = Eigen::Quaterniond::Identity();
  double length = 0.0;      ///< sole extent along the sole x axis (heel to toe) [m]
  double width = 0.0;       ///< sole extent along the sole y axis [m]
  /// The four sole-rectangle corners at sole height: front-left, front-right, back-right, back-left.
  std::vector<Eigen::Vector3d> contact_points;
};

/// Roles of a humanoid's bodies and joints. Joint lists hold Model::joints indices; -1 means "none".
struct Profile {
  int base_body = -1;       ///< the robot's root body, a child of the world: the floating base when it
                            ///< carries the free joint. Of several, an articulated one wins over a free
                            ///< object, then a floating one, then the heaviest
  int pelvis_body = -1;     ///< where the legs branch: the lowest common ancestor of the two feet
  int torso_body = -1;      ///< where the arms (and head) branch; equals pelvis_body when there is no waist
  int head_body = -1;       ///< the end of the chain above the torso that reaches highest; -1 if none

  Limb left_leg, right_leg; ///< pelvis -> foot; left is the foot with the larger y in the base frame
  Foot left_foot, right_foot;
  std::optional<Limb> left_arm, right_arm;  ///< torso -> hand; absent on robots without arms
  int left_hand_frame = -1, right_hand_frame = -1;  ///< Model::frames index of the arm end frame, or -1

  std::vector<int> waist_joints;       ///< tree path pelvis -> torso, in order
  std::vector<int> head_joints;        ///< tree path torso -> head, in order
  std::vector<int> left_hand_joints;   ///< every joint below the hand body (fingers), tree order
  std::vector<int> right_hand_joints;
  std::vector<int> leg_joints;         ///< left_leg.joints then right_leg.joints
  std::vector<int> arm_joints;         ///< left_arm joints then right_arm joints (empty without arms)

  Eigen::VectorXd q_nominal;           ///< nominal configuration (Model::nq, MuJoCo qpos layout)
  std::string nominal_source;          ///< where q_nominal came from, e.g. "keyframe 'home'" or "qpos0"
  double leg_length = 0.0;  ///< hip joint centre to sole, vertical, at nominal, mean of both legs [m]
  double com_height = 0.0;  ///< whole-robot centre of mass above the soles at nominal [m]

  /// Walking parameter overrides from the YAML key `walking:` (name: number). The names are those of
  /// control::GaitParams (com_height, t_single, ...) and of the walking controller (w_com, mpc_w_step, ...);
  /// the walking controller rejects unknown names. Empty: everything derived from the model.
  std::map<std::string, double> walking;

  std::vector<std::string> overrides_applied;  ///< one line per overridden item: "key = value (file)"
};

/// Standalone forward kinematics with MuJoCo's mj_kinematics semantics: the world pose of every body at
/// configuration q (size Model::nq; hinge/slide angles are taken relative to Joint::qpos0, a free joint
/// sets the world pose directly). Returns Model::bodies.size() poses, element 0 the identity.
/// Throws ModelError when q has the wrong size. Used by profile detection; model/ does not depend on
/// dynamics/, which has the fast version.
std::vector<Eigen::Isometry3d> body_poses(const Model& model, const Eigen::VectorXd& q);

/// Whole-robot centre of mass in world at configuration q (size Model::nq) [m]. Throws ModelError for a
/// massless model or a wrong-sized q.
Eigen::Vector3d center_of_mass(const Model& model, const Eigen::VectorXd& q);

/// A crouched copy of configuration q (size Model::nq): the floating base lowered by `fraction` of
/// profile.leg_length along gravity with each leg's end body kept at its pose (damped least-squares IK over the
/// leg's joints, within their limits), then the whole robot moved so that the lower sole touches the ground
/// plane z = 0. Bends straight (singular) knees, e.g. for walking. Returns q unchanged without a free-joint base or
/// for fraction <= 0. Throws ModelError for a wrong-sized q.
Eigen::VectorXd crouched(const Model& model, const Profile& profile, const Eigen::VectorXd& q, double fraction);

/// Detects the profile of a humanoid from structure and geometry (never from names), at
/// Model::nominal_q():
///  - base: the robot's root body (see Profile::base_body); feet: the two tree branches whose collision geometry reaches
///    within 2 cm of the robot's lowest point, the foot body being the deepest body with geometry within
///    5 mm of its branch's lowest point; left/right from y in the base frame; legs: the path pelvis -> foot;
///  - sole: the collision-geometry points of the foot subtree within 5 mm of its lowest point (box corners,
///    sphere/capsule bottoms, cylinder rims, mesh vertices), their bounding rectangle in the sole frame;
///  - torso: the first body above the pelvis where two or more jointed chains branch; arms: the two
///    lateral chains from it with >= 3 joints; hand: where an arm branches into fingers, or its last
///    jointed body; head: the remaining chain from the torso near the mid-plane that reaches highest,
///    above the shoulders (a jointless one only on a robot with arms).
/// Throws ModelError("<model>: no legs found: <reason>") when two feet cannot be found, and ModelError for
/// a nominal configuration of the wrong size.
Profile detect_profile(const Model& model);

/// Applies the overrides in a YAML file to `auto_detected` and returns the result. Every key is
/// optional; names refer to Model bodies, joints and frames (a frame is a site or a body):
///   base_body, pelvis_body, torso_body: <body>        head_body: <body> | none
///   left_foot / right_foot: {body: <body>, frame: <frame>, sole_center: [x, y, z], length: <m>,
///                            width: <m>, contact_points: [[x, y, z], ...]}
///   left_leg / right_leg / left_arm / right_arm:
///                           {joints: [<joint>, ...], root_body: <body>, end_body: <body>, end_frame: <frame>}
///                           (an arm may also be `none`)
///   left_hand_frame / right_hand_frame: <frame>
///   waist_joints / head_joints / left_hand_joints / right_hand_joints: [<joint>, ...]
///   nominal_keyframe: <keyframe name>
///   nominal_q: {<joint>: <value>, ...}   (a free or ball joint takes a list of 7 or 4 numbers)
///   walking: {<parameter>: <number>, ...}   (see Profile::walking)
/// A new foot body without sole data gets its sole recomputed from geometry, and a new foot or hand body
/// without a joint list gets its limb's joints from the tree path. leg_joints, arm_joints, leg_length and
/// com_height are always recomputed. Throws ModelError naming the file and key for an unreadable file,
/// an unknown key, an unknown body/joint/frame/keyframe name, or a value of the wrong shape.
Profile load_profile(const Model& model, const std::filesystem::path& yaml, Profile auto_detected);

/// The profile the applications use: detect_profile(model), then, when present, <dir>/profile.yaml and
/// <dir>/<stem>.profile.yaml next to Model::source (in that order, the more specific last), then the
/// explicit file `yaml` if given. When detection fails but an override file names the feet, the profile
/// is built from the overrides instead. Throws ModelError as detect_profile and load_profile do, and for
/// an explicit file that does not exist.
Profile profile_for(const Model& model, const std::optional<std::filesystem::path>& yaml = std::nullopt);

/// A human-readable multi-line summary of a profile (bodies and joints by name, sole sizes, heights).
std::string describe_profile(const Model& model, const Profile& profile);

}  // namespace oh::model
