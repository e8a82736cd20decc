// Learned-policy runtime: a versioned YAML contract (PolicySpec) between a trained network and a robot, the
// network itself (TorchScript through LibTorch, or a native Eigen MLP/LSTM/GRU path loading the same weights),
// and the per-step observation → action pipeline (Policy) with history stacking and recurrent state.
//
// Conventions: SI units; the base angular velocity is in the base (IMU) frame; projected gravity is the unit
// gravity direction expressed in the base frame ((0, 0, -1) when upright); the command is (vx, vy, wz) in the
// base heading frame [m/s, m/s, rad/s]. Network inputs and outputs are float32, as the networks are trained.
// The spec format is documented in docs/policy_spec.md.
#pragma once

#include "model/model.hpp"

#include <Eigen/Core>
#include <Eigen/Geometry>

#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace oh::control::policy {

/// Error for any problem with a policy spec or network: what() is one line naming the file and the term,
/// joint or field at fault, with the expected and actual values where there are any.
class PolicyError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// The current spec format version (key `policy_spec`).
inline constexpr int kSpecVersion = 1;

/// Observation term sources. Sizes: base_ang_vel 3, projected_gravity 3, command 3, joint_pos_rel and
/// joint_vel = number of policy joints, last_action = action size, gait_phase 2 (sin, cos of 2π t / period).
enum class TermKind { kBaseAngVel, kProjectedGravity, kCommand, kJointPosRel, kJointVel, kLastAction, kGaitPhase };

/// Spec name of a term kind ("base_ang_vel", ...).
std::string term_name(TermKind kind);

/// One observation term: value = clip(scale ⊙ source, clip_lo, clip_hi), stacked over `history` steps.
struct ObsTerm {
  TermKind kind = TermKind::kBaseAngVel;
  std::vector<double> scale{1.0};  ///< one value (all elements) or one per element
  std::optional<std::pair<double, double>> clip;  ///< applied after scaling
  int history = 1;                 ///< number of steps stacked (>= 1)
  int size = 0;                    ///< declared size of one step (0: not declared, derived from the spec)
  double period = 0.0;             ///< gait_phase only [s]
};

/// How stacked history is laid out in the network input.
enum class HistoryLayout {
  kTermMajor,   ///< per term: its `history` steps, then the next term (Isaac Lab)
  kFrameMajor,  ///< whole observation frames one after another (legged_gym); all histories equal
};

/// A joint outside the policy, held by PD at a fixed target.
struct HeldJoint {
  std::string name;
  double q = 0.0, kp = 0.0, kd = 0.0;  ///< target [rad], gains [N m/rad, N m s/rad]
};

/// The validated contract of a policy (docs/policy_spec.md). Vectors over joints are in policy order.
struct PolicySpec {
  int version = kSpecVersion;
  std::string name;
  std::filesystem::path network;           ///< TorchScript file (absolute after load_spec)
  std::filesystem::path source;            ///< the spec file, empty if built in memory
  std::vector<std::string> joints;         ///< policy joint names, policy order
  std::vector<double> default_q;           ///< default angles [rad] (the action offset)
  std::vector<double> kp, kd;              ///< PD gains per policy joint
  std::vector<ObsTerm> observation;        ///< in network input order
  HistoryLayout history_layout = HistoryLayout::kTermMajor;
  bool history_oldest_first = true;
  std::vector<double> action_scale{1.0};   ///< one value or one per joint
  std::optional<std::pair<double, double>> action_clip;  ///< applied to the raw network output
  std::string action_type = "joint_position";
  double policy_hz = 50.0;                 ///< policy rate [Hz]
  double physics_dt = 0.0;                 ///< physics/PD step [s]; 0: the model's own
  std::vector<HeldJoint> held;             ///< joints outside the policy
  /// Gains for robot joints in neither list, held at the robot's nominal position (name and q unused).
  std::optional<HeldJoint> held_default;
  std::vector<double> command_default{0.0, 0.0, 0.0};  ///< command used when none is given

  /// Number of policy joints (= action size).
  int num_actions() const { return static_cast<int>(joints.size()); }
  /// Size of one step of term t. Throws PolicyError for a kind-specific inconsistency.
  int term_size(const ObsTerm& t) const;
  /// Total network input size (sum of term sizes × history).
  int observation_size() const;
};

/// Reads and checks a spec file (structure, types, version, internal sizes). The network path is resolved
/// relative to the spec file. Throws PolicyError naming the file and field.
PolicySpec load_spec(const std::filesystem::path& file);
/// Parses spec text; `base_dir` resolves a relative network path. Throws PolicyError.
PolicySpec parse_spec(const std::string& yaml_text, const std::filesystem::path& base_dir = {},
                      const std::string& where = "<spec>");
/// Writes a spec as YAML (the network path is written relative to `relative_to` when given).
std::string write_spec(const PolicySpec& spec, const std::filesystem::path& relative_to = {});
/// Internal consistency: per-joint list lengths, scale lengths, declared term sizes, history layout, rates.
/// Throws PolicyError naming the field, the expected and the actual size.
void check_spec(const PolicySpec& spec);

/// What a robot offers a policy: its 1-DoF joints with names and position limits, in hardware order.
struct RobotJoints {
  std::vector<std::string> names;
  std::vector<double> lower, upper;  ///< position limits [rad]; lower > upper means unlimited
  std::vector<double> nominal;       ///< nominal position per joint (targets for held_default)
};

/// The model's 1-DoF joints in Model::joints order (the hardware order of runtime::HardwareInterface): names,
/// limits (unlimited joints get lower > upper), and positions in Model::nominal_q().
RobotJoints robot_joints(const model::Model& model);

/// Converts unitree_rl_gym's deploy_mujoco.yaml or deploy_real.yaml into a spec. Policy joints: for
/// deploy_mujoco, the robot's joints in order (upstream writes d.ctrl in actuator order; the counts must
/// match); for deploy_real, robot joints at leg_joint2motor_idx, with arm_waist_joint2motor_idx held at
/// arm_waist_target with arm_waist_kps/kds. Observation as upstream's deploy script builds it: ang_vel ×
/// ang_vel_scale, projected gravity, cmd × cmd_scale, (q − default) × dof_pos_scale, dq × dof_vel_scale, last
/// action, sin/cos(2π t/0.8); action q = default + action_scale · action; rates from simulation_dt and
/// control_decimation (or control_dt). The network is motion.pt beside the YAML. Throws PolicyError.
/// Source: unitree_rl_gym deploy/deploy_mujoco/deploy_mujoco.py and deploy/deploy_real/deploy_real.py.
PolicySpec import_unitree_deploy(const std::filesystem::path& deploy_yaml, const RobotJoints& robot);

/// A policy network: observation (float32, input_size) → action (float32, output_size), with hidden state
/// carried between calls for recurrent networks.
class Network {
 public:
  virtual ~Network() = default;
  virtual int input_size() const = 0;
  virtual int output_size() const = 0;
  virtual bool recurrent() const = 0;
  /// Backend and architecture, e.g. "native lstm(47→64, 1 layer) → mlp 64-32-12 elu".
  virtual std::string describe() const = 0;
  /// Zeroes the recurrent state (the exported module's reset_memory() semantics).
  virtual void reset() = 0;
  /// One step. obs.size() must be input_size() and action.size() output_size() (checked: PolicyError).
  virtual void forward(const Eigen::Ref<const Eigen::VectorXf>& obs, Eigen::Ref<Eigen::VectorXf> action) = 0;
};

enum class Backend {
  kNative,  ///< Eigen MLP/LSTM/GRU, weights read from the TorchScript file; no allocation per step
  kTorch,   ///< LibTorch's TorchScript interpreter (the reference; allocates per step)
};

/// Loads a TorchScript file (torch.jit.save output). Recognised architectures for the native backend: a
/// Sequential MLP (Linear with ELU/ReLU/Tanh/Sigmoid/LeakyReLU/Identity), optionally as a child `actor`, and
/// rsl_rl's exported recurrent policy (`memory`: LSTM or GRU, any layer count; `actor`: MLP; buffers
/// hidden_state [and cell_state] as the initial state). The native network is checked against LibTorch on
/// a few random stateful steps at load. The recurrent state starts from the module's buffers as saved.
/// Throws PolicyError for a missing or unreadable file, or an architecture the native backend does not know.
std::unique_ptr<Network> load_network(const std::filesystem::path& file, Backend backend = Backend::kNative);

/// Raw robot signals a policy step needs (hardware order for joints).
struct PolicyInput {
  double t = 0.0;                                               ///< time since the episode started [s]
  Eigen::Quaterniond base_quat = Eigen::Quaterniond::Identity();  ///< world ← base
  Eigen::Vector3d base_ang_vel = Eigen::Vector3d::Zero();        ///< base frame [rad/s]
  Eigen::Vector3d command = Eigen::Vector3d::Zero();             ///< (vx, vy, wz) [m/s, m/s, rad/s]
  const Eigen::VectorXd* q = nullptr;                            ///< robot joint positions [rad]
  const Eigen::VectorXd* dq = nullptr;                           ///< robot joint velocities [rad/s]
};

/// A spec bound to a robot's joints and a network: builds the observation, runs the network, and gives the
/// PD targets and gains for every robot joint. Not thread-safe; step() does not allocate.
class Policy {
 public:
  /// Checks the spec against the network (term sizes vs input size, action size vs output size) and the
  /// robot (every policy and held joint exists, no joint twice, defaults and held targets inside the joint
  /// limits, every robot joint is driven, held or covered by held_default). Throws PolicyError naming the
  /// term or joint with expected and actual values.
  Policy(PolicySpec spec, std::unique_ptr<Network> network, const RobotJoints& robot);
  /// Starts an episode: zero recurrent state and last action, the history filled with the first observation.
  void reset(const PolicyInput& first);
  /// One policy step at input.t; updates targets(). Input sizes must match the robot (PolicyError otherwise).
  void step(const PolicyInput& input);

  const PolicySpec& spec() const { return spec_; }
  Network& network() { return *net_; }
  /// PD targets [rad] and gains for every robot joint (hardware order).
  const Eigen::VectorXd& q_target() const { return q_target_; }
  const Eigen::VectorXd& kp() const { return kp_; }
  const Eigen::VectorXd& kd() const { return kd_; }
  /// The last network input and (clipped) output, policy order.
  const Eigen::VectorXf& observation() const { return obs_; }
  const Eigen::VectorXf& action() const { return action_; }
  /// Robot joint index of each policy joint.
  const std::vector<int>& policy_to_robot() const { return p2r_; }
  /// Time between policy steps [s].
  double dt() const { return 1.0 / spec_.policy_hz; }

 private:
  void build_frame(const PolicyInput& in);
  void assemble();

  PolicySpec spec_;
  std::unique_ptr<Network> net_;
  std::vector<int> p2r_;
  Eigen::VectorXd q_target_, kp_, kd_, default_q_, action_scale_;
  Eigen::VectorXf frame_, obs_, action_, raw_action_;
  Eigen::VectorXd raw_;                       ///< one frame before scaling, double
  std::vector<int> term_offset_, term_size_;  ///< within frame_
  std::vector<Eigen::MatrixXf> history_;      ///< per term: size × history ring
  int head_ = 0, max_history_ = 1;
};

}  // namespace oh::control::policy
