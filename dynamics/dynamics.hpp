// OpenHumanoid rigid-body dynamics: kinematics, Jacobians, inverse and forward dynamics, the joint-space
// inertia matrix and its inverse, centre of mass and centroidal momentum, for kinematic trees of free,
// revolute and prismatic joints. The algorithms follow Featherstone, "Rigid Body Dynamics Algorithms"
// (Springer 2008; "RBDA" below) and carry Pinocchio's names; results match MuJoCo to round-off.
//
// Usage:
//   oh::dynamics::Model model(robot.model);     // once, from an oh::model::Model
//   oh::dynamics::Data data(model);              // once; all work memory is allocated here
//   const Eigen::VectorXd& tau = oh::dynamics::rnea(model, data, q, v, a);
//
// Nothing allocates after Data's construction: every algorithm writes into Data and returns a
// reference into it (valid until the next call that writes the same member); integrate() and the
// MuJoCo conversions write into caller-sized outputs and do not allocate either. Pass vectors as
// Eigen::VectorXd (or contiguous blocks of one): an arbitrary expression bound to an Eigen::Ref<const>
// argument is evaluated into a temporary, which allocates.
//
// Conventions
//   * Units SI; the world is z-up with gravity Model::gravity (from the MJCF <option gravity>).
//   * Spatial vectors are [linear; angular] (see dynamics/spatial.hpp). Jacobian rows are the same.
//   * q is MuJoCo's qpos: a free joint stores [position of the base origin in the world (3);
//     orientation quaternion (w, x, y, z) (4)]; a revolute or prismatic joint one angle [rad] or
//     displacement [m]. As in MuJoCo, a 1-DoF joint's motion is q - qpos0 (MJCF `ref`), and the free
//     joint's quaternion is normalised before use.
//   * v has MuJoCo's qvel layout, but a free joint's 6 entries are Pinocchio's:
//       v_base = [linear velocity of the base origin in the BASE frame; angular velocity in the BASE
//       frame]
//     whereas MuJoCo's qvel stores [linear velocity in the WORLD frame; angular velocity in the BASE
//     frame]. With R the base orientation and (v_lin, w) our velocity,
//       qvel_lin = R v_lin,   qacc_lin = R (a_lin + w x v_lin),   qfrc_lin = R tau_lin,
//     angular entries are equal. Our a_lin is the time derivative of v_lin (body components), so
//     (v, a) is Featherstone's body-frame spatial velocity and acceleration of the base. The helpers
//     velocity_to_mujoco() ... mass_matrix_from_mujoco() convert; integrate() follows our convention.
//   * Generalised forces tau are conjugate to v: tau_base = the wrench on the base, in the base frame,
//     about the base origin.
//   * Joint armature is part of the inertia: M includes diag(armature) (as in MuJoCo and Pinocchio 3),
//     and rnea / aba / crba / compute_minverse account for it. On a free joint MuJoCo's armature acts on
//     the WORLD-frame linear acceleration R (a_lin + w x v_lin); we reproduce that, so the linear
//     entries of rnea / nonlinear_effects gain armature (w x v_lin) (M is unchanged: MJCF gives the
//     free joint's 6 DoFs one armature value). Joint damping, friction loss, springs
//     and actuators are NOT included: they are passive or applied forces that the caller adds to tau
//     (e.g. tau_passive = -damping .* v for 1-DoF joints).
//
// Threads: a Model is immutable after construction and may be shared; use one Data per thread.
//
// Errors: the Model constructor throws std::invalid_argument for unsupported joints (ball joints, a free
// joint below another body). Algorithms check argument sizes only with assertions (debug builds) and
// never throw; the frame helpers throw std::out_of_range for an invalid frame index.
#pragma once

#include "dynamics/spatial.hpp"

#include <Eigen/Core>

#include <cstdint>
#include <string>
#include <vector>

namespace oh::model {
struct Model;
}

namespace oh::dynamics {

/// The joint of a tree node.
enum class JointType : std::uint8_t {
  kFixed,      ///< only the universe node (index 0)
  kFree,       ///< 6 DoF, S = identity in the node frame
  kRevolute,   ///< 1 DoF, S = [0; axis] in the node frame
  kPrismatic,  ///< 1 DoF, S = [axis; 0] in the node frame
};

/// Reference frame in which frame velocities, accelerations and Jacobians are expressed.
enum class ReferenceFrame {
  kLocal,              ///< the moving frame's own axes and origin
  kWorld,              ///< world axes, about the world origin (spatial velocity)
  kLocalWorldAligned,  ///< world axes, about the moving frame's origin (classical linear velocity)
};

/// One node of the kinematic tree: one joint and the rigid body it moves (with every body welded to
/// it). The node frame is attached to the moving body, has the MuJoCo body's axes and its origin on the
/// joint anchor (MJCF joint `pos`). Node 0 is the universe (the world and everything welded to it).
struct Node {
  JointType type = JointType::kFixed;
  std::int8_t axis_index = -1;  ///< 0/1/2 when the axis is +-x/y/z in the node frame, else -1
  double axis_sign = 1.0;       ///< sign of the aligned axis
  int parent = -1;              ///< parent node; -1 only for the universe
  int idx_q = 0, idx_v = 0;     ///< first index in q and v
  int nq = 0, nv = 0;
  double q0 = 0.0;              ///< reference position (MuJoCo qpos0) of a 1-DoF joint
  bool limited = false;         ///< 1-DoF joint with position limits [lower, upper]
  double lower = 0.0, upper = 0.0;
  Vec3 axis = Vec3::UnitZ();    ///< unit joint axis in the node frame (1-DoF joints)
  SE3 placement = SE3::Identity();  ///< node frame in the parent node frame at q = qpos0
  bool placement_rotation_is_identity = true;
  Inertia inertia = Inertia::Zero();  ///< in the node frame (all welded bodies merged)
  int joint = -1;               ///< index into oh::model::Model::joints; -1 for the universe
  int body = 0;                 ///< the oh::model body this node moves
  int subtree_end = 0;          ///< last node of this node's subtree (nodes are in depth-first order)
};

/// A frame rigidly attached to a node: every oh::model::Frame (bodies and sites), same indices.
struct FrameInfo {
  std::string name;
  bool is_site = false;
  int body = 0;                 ///< oh::model body index
  int node = 0;                 ///< the node it moves with
  SE3 placement = SE3::Identity();  ///< in the node frame
};

/// The dynamics model: a tree of nodes built from an oh::model::Model. Immutable after construction.
class Model {
 public:
  Model() = default;
  /// Builds the tree: one node per joint (MuJoCo order, so v indices equal MuJoCo's dof indices); a
  /// body with several joints becomes a chain of nodes (massless but the last); a body without joints
  /// is welded into its parent's node (inertia merged, frames re-expressed). Throws
  /// std::invalid_argument naming the joint for a ball joint, a free joint whose body is not a child of
  /// the world, or a free joint combined with other joints in one body.
  explicit Model(const oh::model::Model& source);

  int nq = 0;                   ///< configuration size
  int nv = 0;                   ///< velocity size
  Vec3 gravity = Vec3(0, 0, -9.81);  ///< [m/s^2], world frame
  std::vector<Node> nodes;      ///< nodes[0] is the universe
  std::vector<std::string> node_names;  ///< the joint name of each node ("universe" for 0)
  std::vector<FrameInfo> frames;  ///< one per oh::model::Model::frames entry, same index
  std::vector<int> body_frame;  ///< frame index of each oh::model body
  std::vector<int> dof_parent;  ///< the parent DoF of each DoF in the tree (-1 at a root): M's sparsity
  std::vector<int> dof_node;    ///< the node owning each DoF
  /// Compact row layout of M's sparsity (as MuJoCo's qLD): row k holds the DoF itself then its
  /// ancestors, nearest first: entry m < dof_row_len[k] is column dof_row_col[dof_row_adr[k] + m].
  std::vector<int> dof_row_adr, dof_row_len, dof_row_col;
  Eigen::VectorXd armature;     ///< per DoF [kg m^2 or kg], added to M's diagonal
  Eigen::VectorXd damping;      ///< per DoF (informative; the algorithms ignore it)
  Eigen::VectorXd qpos0;        ///< MuJoCo's reference configuration
  double total_mass = 0.0;      ///< [kg], including bodies welded to the world

  int num_nodes() const { return static_cast<int>(nodes.size()); }
  /// Frame index by name (a body or site name), or -1.
  int frame_id(const std::string& name) const;
  /// Node index by joint name, or -1.
  int node_id(const std::string& joint_name) const;
  /// True when node 1 is a free joint.
  bool has_floating_base() const { return nodes.size() > 1 && nodes[1].type == JointType::kFree; }
};

/// Work memory and results of the algorithms, sized once for a Model. Members are named as in
/// Pinocchio: node-indexed vectors have Model::num_nodes() entries, index 0 being the universe (fixed
/// at the identity, at rest; rnea and aba set its acceleration to -gravity). Local quantities are in the
/// node frame; o-prefixed ones are in the world frame about the world origin. A Data is only valid with
/// the Model it was made for.
struct Data {
  explicit Data(const Model& model);

  std::vector<SE3> liMi;        ///< node placement in its parent node frame
  std::vector<SE3> oMi;         ///< node placement in the world
  std::vector<SE3> oMf;         ///< frame placements in the world (update_frame_placements)
  std::vector<Motion> v;        ///< node spatial velocity, node frame
  std::vector<Motion> a;        ///< node spatial acceleration (without gravity), node frame
  std::vector<Motion> ov;       ///< node spatial velocity, world frame
  std::vector<Motion> oa;       ///< node spatial acceleration (without gravity), world frame
  std::vector<Force> f;         ///< rnea: net force transmitted by each node's joint, node frame
  Matrix6Xd J;                  ///< 6 x nv joint Jacobian columns, world frame (compute_joint_jacobians)
  Matrix6Xd dJ;                 ///< its time derivative (compute_joint_jacobians_time_variation)
  Eigen::VectorXd tau;          ///< rnea result (nv)
  Eigen::VectorXd g;            ///< compute_generalized_gravity result (nv)
  Eigen::VectorXd nle;          ///< nonlinear_effects result (nv)
  Eigen::VectorXd ddq;          ///< aba result (nv)
  Eigen::MatrixXd M;            ///< crba result (nv x nv, symmetric)
  Eigen::MatrixXd Minv;         ///< compute_minverse result (nv x nv, symmetric)
  /// The factor M = L^T diag(D) L (compute_minverse) in Model's compact row layout: entry m of row k,
  /// LD[dof_row_adr[k] + m], is D(k) for m = 0 and L(k, dof_row_col[...]) otherwise (L is unit lower
  /// triangular with non-zeros only at ancestor columns).
  Eigen::VectorXd LD;
  std::vector<InertiaAtOrigin> oYcrb;  ///< composite (subtree) inertias, world frame
  std::vector<Vec3> com_subtree;  ///< subtree centres of mass, world [m] (center_of_mass)
  std::vector<double> mass_subtree;  ///< subtree masses [kg]
  double mass = 0.0;            ///< total mass [kg]
  Vec3 com = Vec3::Zero();      ///< centre of mass, world [m]
  Vec3 vcom = Vec3::Zero();     ///< its velocity [m/s]
  Matrix3Xd Jcom;               ///< 3 x nv centre-of-mass Jacobian (jacobian_center_of_mass)
  Matrix6Xd Ag;                 ///< 6 x nv centroidal momentum matrix (ccrba)
  Force hg = Force::Zero();     ///< centroidal momentum [kg m/s; kg m^2/s] (ccrba)
  Force dhg = Force::Zero();    ///< its time derivative (compute_centroidal_momentum_time_variation)
  Mat6 Ig = Mat6::Zero();       ///< centroidal composite rigid-body inertia (ccrba)

  // Internal work memory of aba (world frame).
  std::vector<Mat6> Ia;         ///< articulated-body inertias
  std::vector<Force> pA;        ///< articulated bias forces
  std::vector<Motion> oS;       ///< world motion subspace of 1-DoF nodes
  std::vector<Motion> oc;       ///< velocity-product accelerations
  std::vector<Vec6> U;          ///< Ia S
  std::vector<double> Dinv, u;  ///< 1 / (S^T Ia S + armature), tau - S^T pA
};

// --- Kinematics -------------------------------------------------------------------------------------

/// Placements of every node: data.liMi, data.oMi. q: nq. Featherstone RBDA sec. 4.4 (joint transforms,
/// Table 4.1) composed along the tree.
void forward_kinematics(const Model& model, Data& data, const Eigen::Ref<const Eigen::VectorXd>& q);
/// Also the spatial velocities data.v (node frame). v: nv.
void forward_kinematics(const Model& model, Data& data, const Eigen::Ref<const Eigen::VectorXd>& q,
                        const Eigen::Ref<const Eigen::VectorXd>& v);
/// Also the spatial accelerations data.a (node frame, gravity not included). a: nv. RBDA eq. 5.7-5.8.
void forward_kinematics(const Model& model, Data& data, const Eigen::Ref<const Eigen::VectorXd>& q,
                        const Eigen::Ref<const Eigen::VectorXd>& v, const Eigen::Ref<const Eigen::VectorXd>& a);

/// data.oMf for every frame from the current data.oMi (call forward_kinematics first).
void update_frame_placements(const Model& model, Data& data);
/// World placement of one frame from the current data.oMi; stored in data.oMf[frame] and returned.
/// Throws std::out_of_range for an invalid frame index.
const SE3& frame_placement(const Model& model, Data& data, int frame);

/// Spatial velocity of a frame (needs forward_kinematics with v). kLocal: frame axes about the frame
/// origin; kLocalWorldAligned: world axes about the frame origin (linear = the origin's velocity);
/// kWorld: world axes about the world origin. Throws std::out_of_range for an invalid frame index.
Motion frame_velocity(const Model& model, const Data& data, int frame, ReferenceFrame rf);
/// Spatial acceleration of a frame (needs forward_kinematics with v and a), in the same frames as
/// frame_velocity. For kLocal / kLocalWorldAligned this is the derivative of the body-fixed point's
/// spatial velocity, not the classical acceleration of the origin (see below).
Motion frame_acceleration(const Model& model, const Data& data, int frame, ReferenceFrame rf);
/// Classical acceleration of the frame origin: spatial acceleration plus w x v (RBDA eq. 2.47). For
/// kLocal / kLocalWorldAligned the linear part is the second derivative of the frame origin's position,
/// in frame or world axes. For kWorld, as Pinocchio: the kWorld spatial acceleration with w x v added.
Motion frame_classical_acceleration(const Model& model, const Data& data, int frame, ReferenceFrame rf);

/// Joint Jacobians: forward_kinematics(q), then data.J (6 x nv), whose column k is the spatial motion
/// of DoF k's node per unit velocity, in the world frame about the world origin (Pinocchio's J).
/// RBDA eq. 4.3/7.4 (S expressed in world coordinates). Returns data.J.
const Matrix6Xd& compute_joint_jacobians(const Model& model, Data& data, const Eigen::Ref<const Eigen::VectorXd>& q);
/// data.J from the current data.oMi (forward_kinematics already called).
const Matrix6Xd& compute_joint_jacobians(const Model& model, Data& data);
/// Jacobian of a frame, J (6 x nv, resized by the caller), such that J v is the frame's spatial
/// velocity in rf (see frame_velocity). Columns of DoFs that do not move the frame are zero. Needs
/// compute_joint_jacobians (data.J and data.oMi). Throws std::out_of_range for an invalid frame index.
void frame_jacobian(const Model& model, const Data& data, int frame, ReferenceFrame rf, Eigen::Ref<Matrix6Xd> J);
/// forward_kinematics(q) and the one frame's Jacobian, without the full data.J.
void compute_frame_jacobian(const Model& model, Data& data, const Eigen::Ref<const Eigen::VectorXd>& q, int frame,
                            ReferenceFrame rf, Eigen::Ref<Matrix6Xd> J);
/// forward_kinematics(q, v), data.ov, data.J and data.dJ = dJ/dt (column k: ov_node x J_k, RBDA
/// eq. 2.45 applied to S in world coordinates). Returns data.dJ.
const Matrix6Xd& compute_joint_jacobians_time_variation(const Model& model, Data& data,
                                                        const Eigen::Ref<const Eigen::VectorXd>& q,
                                                        const Eigen::Ref<const Eigen::VectorXd>& v);
/// dJ/dt of frame_jacobian(frame, rf) along the current motion (needs
/// compute_joint_jacobians_time_variation). J a + dJ v is the frame's frame_acceleration in kLocal and
/// kWorld, and its frame_classical_acceleration in kLocalWorldAligned (where J v = [origin velocity; w]).
/// Throws std::out_of_range for an invalid frame index.
void frame_jacobian_time_variation(const Model& model, const Data& data, int frame, ReferenceFrame rf,
                                   Eigen::Ref<Matrix6Xd> dJ);

// --- Dynamics ---------------------------------------------------------------------------------------

/// Inverse dynamics, tau = M(q) a + C(q, v) v + g(q) (armature included, damping not), by the
/// recursive Newton-Euler algorithm in node frames (RBDA Table 5.1, gravity as a base acceleration).
/// Also sets data.liMi, data.v, data.a (gravity included in data.a here) and data.f. Returns data.tau.
const Eigen::VectorXd& rnea(const Model& model, Data& data, const Eigen::Ref<const Eigen::VectorXd>& q,
                            const Eigen::Ref<const Eigen::VectorXd>& v, const Eigen::Ref<const Eigen::VectorXd>& a);
/// g(q) = rnea(q, 0, 0). Returns data.g.
const Eigen::VectorXd& compute_generalized_gravity(const Model& model, Data& data,
                                                   const Eigen::Ref<const Eigen::VectorXd>& q);
/// C(q, v) v + g(q) = rnea(q, v, 0). Returns data.nle.
const Eigen::VectorXd& nonlinear_effects(const Model& model, Data& data, const Eigen::Ref<const Eigen::VectorXd>& q,
                                         const Eigen::Ref<const Eigen::VectorXd>& v);
/// Joint-space inertia matrix M(q) (nv x nv, both triangles, armature on the diagonal), by the
/// composite-rigid-body algorithm with composite inertias and motion subspaces in the world frame
/// (RBDA Table 6.2; only ancestor pairs are visited). Also sets data.oMi, data.J and data.oYcrb.
/// Entries outside the tree's sparsity pattern are zero from Data's construction and never written.
/// Returns data.M.
const Eigen::MatrixXd& crba(const Model& model, Data& data, const Eigen::Ref<const Eigen::VectorXd>& q);
/// M(q)^-1 (nv x nv, symmetric): crba, then the sparse factorisation M = L^T D L without fill-in
/// (Featherstone 2005, "Efficient factorization of the joint-space inertia matrix for branched kinematic
/// trees", IJRR 24(6); RBDA sec. 6.5), then M^-1 row by row from L M^-1 = D^-1 L^-T. Returns data.Minv.
const Eigen::MatrixXd& compute_minverse(const Model& model, Data& data, const Eigen::Ref<const Eigen::VectorXd>& q);
/// Forward dynamics a = M^-1 (tau - C v - g) by the articulated-body algorithm in the world frame
/// (RBDA Table 7.1; world-frame variant as in Pinocchio 3). tau: nv generalised forces in our
/// convention (damping not included). Also sets data.oMi, data.ov, data.oa (gravity included). Returns
/// data.ddq.
const Eigen::VectorXd& aba(const Model& model, Data& data, const Eigen::Ref<const Eigen::VectorXd>& q,
                           const Eigen::Ref<const Eigen::VectorXd>& v, const Eigen::Ref<const Eigen::VectorXd>& tau);

// --- Centre of mass and centroidal dynamics ----------------------------------------------------------

/// Centre of mass of the whole model (bodies welded to the world included, as MuJoCo's
/// subtree_com[0]), world frame [m]; also data.mass, data.com_subtree, data.mass_subtree and data.oMi.
/// Returns data.com.
const Vec3& center_of_mass(const Model& model, Data& data, const Eigen::Ref<const Eigen::VectorXd>& q);
/// Also its velocity data.vcom [m/s] (and data.v).
const Vec3& center_of_mass(const Model& model, Data& data, const Eigen::Ref<const Eigen::VectorXd>& q,
                           const Eigen::Ref<const Eigen::VectorXd>& v);
/// Centre-of-mass Jacobian (3 x nv): vcom = Jcom v. Also data.com, data.J. Returns data.Jcom.
const Matrix3Xd& jacobian_center_of_mass(const Model& model, Data& data, const Eigen::Ref<const Eigen::VectorXd>& q);
/// Centroidal momentum matrix Ag (6 x nv) and momentum hg = Ag v about the centre of mass in world axes
/// [linear; angular], and the centroidal inertia Ig (Orin, Goswami & Lee 2013, "Centroidal dynamics of
/// a humanoid robot", Auton. Robots 35, eq. 29-31, via composite inertias as in their sec. 4). Also
/// data.com, data.J, data.oYcrb. Returns data.Ag.
const Matrix6Xd& ccrba(const Model& model, Data& data, const Eigen::Ref<const Eigen::VectorXd>& q,
                       const Eigen::Ref<const Eigen::VectorXd>& v);
/// d/dt of the centroidal momentum, dhg = Ag a + dAg v, about the centre of mass in world axes
/// (gravity not included; a = 0 gives the bias dAg v): the sum of the bodies' rates of change of
/// momentum (RNEA forward pass, RBDA eq. 5.9) shifted to the centre of mass (Orin et al. 2013 eq. 33).
/// Also data.hg, data.com, data.vcom. Returns data.dhg.
const Force& compute_centroidal_momentum_time_variation(const Model& model, Data& data,
                                                        const Eigen::Ref<const Eigen::VectorXd>& q,
                                                        const Eigen::Ref<const Eigen::VectorXd>& v,
                                                        const Eigen::Ref<const Eigen::VectorXd>& a);

// --- Configuration space -----------------------------------------------------------------------------

/// q_out = q (+) v dt: 1-DoF joints add v dt; a free joint moves along the constant body twist v_base
/// for dt (SE(3) exponential: R' = R exp(w dt), p' = p + R V(w dt) v_lin dt) and its quaternion is
/// renormalised. q_out may alias q. Sizes: nq, nv, nq.
void integrate(const Model& model, const Eigen::Ref<const Eigen::VectorXd>& q, const Eigen::Ref<const Eigen::VectorXd>& v,
               double dt, Eigen::Ref<Eigen::VectorXd> q_out);
/// Normalises every free joint's quaternion in place (a zero quaternion becomes identity).
void normalize(const Model& model, Eigen::Ref<Eigen::VectorXd> q);
/// A configuration with uniformly random 1-DoF joints in [lower, upper] (limited) or [-pi, pi], random
/// base orientation and base position in [-1, 1]^3, using the given seed (for tests and benchmarks).
Eigen::VectorXd random_configuration(const Model& model, unsigned seed);

// --- Conversion to and from MuJoCo's free-joint convention ---------------------------------------------
// v_mj = T(q) v with T = identity except R (base orientation) on each free joint's linear block. All
// functions take q to read R; in and out may alias. Angular and 1-DoF entries pass through.

/// qvel = T v: qvel_lin = R v_lin.
void velocity_to_mujoco(const Model& model, const Eigen::Ref<const Eigen::VectorXd>& q,
                        const Eigen::Ref<const Eigen::VectorXd>& v, Eigen::Ref<Eigen::VectorXd> qvel);
/// v = T^-1 qvel: v_lin = R^T qvel_lin.
void velocity_from_mujoco(const Model& model, const Eigen::Ref<const Eigen::VectorXd>& q,
                          const Eigen::Ref<const Eigen::VectorXd>& qvel, Eigen::Ref<Eigen::VectorXd> v);
/// qacc = T a + dT/dt v: qacc_lin = R (a_lin + w x v_lin), with (v_lin, w) from v (our convention).
void acceleration_to_mujoco(const Model& model, const Eigen::Ref<const Eigen::VectorXd>& q,
                            const Eigen::Ref<const Eigen::VectorXd>& v, const Eigen::Ref<const Eigen::VectorXd>& a,
                            Eigen::Ref<Eigen::VectorXd> qacc);
/// a from MuJoCo's qacc: a_lin = R^T qacc_lin - w x v_lin, with v in OUR convention.
void acceleration_from_mujoco(const Model& model, const Eigen::Ref<const Eigen::VectorXd>& q,
                              const Eigen::Ref<const Eigen::VectorXd>& v, const Eigen::Ref<const Eigen::VectorXd>& qacc,
                              Eigen::Ref<Eigen::VectorXd> a);
/// qfrc = T^-T tau: qfrc_lin = R tau_lin (a base-frame force becomes a world-frame one).
void force_to_mujoco(const Model& model, const Eigen::Ref<const Eigen::VectorXd>& q,
                     const Eigen::Ref<const Eigen::VectorXd>& tau, Eigen::Ref<Eigen::VectorXd> qfrc);
/// tau = T^T qfrc: tau_lin = R^T qfrc_lin.
void force_from_mujoco(const Model& model, const Eigen::Ref<const Eigen::VectorXd>& q,
                       const Eigen::Ref<const Eigen::VectorXd>& qfrc, Eigen::Ref<Eigen::VectorXd> tau);
/// M = T^T M_mj T (nv x nv; M may alias M_mj).
void mass_matrix_from_mujoco(const Model& model, const Eigen::Ref<const Eigen::VectorXd>& q,
                             const Eigen::Ref<const Eigen::MatrixXd>& M_mj, Eigen::Ref<Eigen::MatrixXd> M);
/// J = J_mj T for any Jacobian with nv columns taken against MuJoCo's qvel (e.g. mj_jacBody's).
void jacobian_from_mujoco(const Model& model, const Eigen::Ref<const Eigen::VectorXd>& q,
                          const Eigen::Ref<const Eigen::MatrixXd>& J_mj, Eigen::Ref<Eigen::MatrixXd> J);

}  // namespace oh::dynamics
