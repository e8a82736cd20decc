// The policy runtime: spec ↔ network ↔ robot checks, observation with history, action → PD targets.
#include "control/policy/policy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numbers>

namespace oh::control::policy {
namespace {

std::string where(const PolicySpec& s) { return s.source.empty() ? std::string("<spec>") : s.source.string(); }

}  // namespace

RobotJoints robot_joints(const model::Model& model) {
  RobotJoints r;
  const Eigen::VectorXd nominal = model.nominal_q();
  for (const auto& j : model.joints) {
    if (j.nv != 1) continue;
    r.names.push_back(j.name);
    r.lower.push_back(j.limited ? j.lower : 1.0);
    r.upper.push_back(j.limited ? j.upper : -1.0);
    r.nominal.push_back(nominal[j.q_index]);
  }
  return r;
}

Policy::Policy(PolicySpec spec, std::unique_ptr<Network> network, const RobotJoints& robot)
    : spec_(std::move(spec)), net_(std::move(network)) {
  check_spec(spec_);
  const std::string w = where(spec_);
  if (!net_) throw PolicyError(fmt::format("{}: no network", w));
  const int n = spec_.num_actions();
  const size_t nr = robot.names.size();
  if (robot.lower.size() != nr || robot.upper.size() != nr || robot.nominal.size() != nr)
    throw PolicyError(fmt::format("{}: robot joint data has inconsistent sizes", w));

  // Network dimensions.
  if (spec_.observation_size() != net_->input_size()) {
    std::string terms;
    for (const auto& t : spec_.observation)
      terms += fmt::format("{}{} {}{}", terms.empty() ? "" : ", ", term_name(t.kind), spec_.term_size(t),
                           t.history > 1 ? fmt::format("×{}", t.history) : "");
    throw PolicyError(fmt::format("{}: observation size mismatch: the network '{}' expects {} inputs, the spec's terms "
                                  "give {} ({})", w, spec_.network.filename().string(), net_->input_size(),
                                  spec_.observation_size(), terms));
  }
  if (net_->output_size() != n)
    throw PolicyError(fmt::format("{}: action size mismatch: the network '{}' outputs {} actions, the spec has {} policy "
                                  "joints", w, spec_.network.filename().string(), net_->output_size(), n));

  // Joints, by name.
  std::map<std::string, int> robot_index;
  for (size_t i = 0; i < nr; ++i) robot_index[robot.names[i]] = static_cast<int>(i);
  std::string all;
  for (const auto& nm : robot.names) all += (all.empty() ? "" : ", ") + nm;
  std::vector<int> owner(nr, -1);  // -1 free, 0 policy, 1 held
  p2r_.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const std::string& name = spec_.joints[static_cast<size_t>(i)];
    const auto it = robot_index.find(name);
    if (it == robot_index.end())
      throw PolicyError(fmt::format("{}: policy joint '{}' (policy index {}) is missing from the robot (robot joints: {})",
                                    w, name, i, all));
    const int r = it->second;
    if (owner[static_cast<size_t>(r)] >= 0) {
      const auto first = std::find(spec_.joints.begin(), spec_.joints.end(), name) - spec_.joints.begin();
      throw PolicyError(fmt::format("{}: policy joint '{}' is listed twice (policy indices {} and {})", w, name, first, i));
    }
    owner[static_cast<size_t>(r)] = 0;
    p2r_[static_cast<size_t>(i)] = r;
    const double q = spec_.default_q[static_cast<size_t>(i)];
    const double lo = robot.lower[static_cast<size_t>(r)], hi = robot.upper[static_cast<size_t>(r)];
    if (lo <= hi && (q < lo - 1e-9 || q > hi + 1e-9))
      throw PolicyError(fmt::format("{}: policy joint '{}' (policy index {}): default angle {:.4g} rad is outside the "
                                    "robot's range [{:.4g}, {:.4g}]; is the joint order swapped?", w, name, i, q, lo, hi));
  }
  q_target_ = Eigen::Map<const Eigen::VectorXd>(robot.nominal.data(), static_cast<Eigen::Index>(nr));
  kp_ = kd_ = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(nr));
  for (const auto& h : spec_.held) {
    const auto it = robot_index.find(h.name);
    if (it == robot_index.end())
      throw PolicyError(fmt::format("{}: held joint '{}' is missing from the robot (robot joints: {})", w, h.name, all));
    const auto r = static_cast<size_t>(it->second);
    if (owner[r] >= 0) throw PolicyError(fmt::format("{}: held joint '{}' is also a policy joint or held twice", w, h.name));
    owner[r] = 1;
    if (robot.lower[r] <= robot.upper[r] && (h.q < robot.lower[r] - 1e-9 || h.q > robot.upper[r] + 1e-9))
      throw PolicyError(fmt::format("{}: held joint '{}': target {:.4g} rad is outside the robot's range [{:.4g}, {:.4g}]",
                                    w, h.name, h.q, robot.lower[r], robot.upper[r]));
    q_target_[static_cast<Eigen::Index>(r)] = h.q;
    kp_[static_cast<Eigen::Index>(r)] = h.kp;
    kd_[static_cast<Eigen::Index>(r)] = h.kd;
  }
  for (size_t r = 0; r < nr; ++r) {
    if (owner[r] >= 0) continue;
    if (!spec_.held_default)
      throw PolicyError(fmt::format("{}: robot joint '{}' is neither a policy joint nor held (list it under hold.joints, "
                                    "or give hold.default gains)", w, robot.names[r]));
    kp_[static_cast<Eigen::Index>(r)] = spec_.held_default->kp;
    kd_[static_cast<Eigen::Index>(r)] = spec_.held_default->kd;
  }
  default_q_ = Eigen::Map<const Eigen::VectorXd>(spec_.default_q.data(), n);
  if (spec_.action_scale.size() == 1) action_scale_ = Eigen::VectorXd::Constant(n, spec_.action_scale[0]);
  else action_scale_ = Eigen::Map<const Eigen::VectorXd>(spec_.action_scale.data(), n);
  for (int i = 0; i < n; ++i) {
    const auto r = static_cast<Eigen::Index>(p2r_[static_cast<size_t>(i)]);
    q_target_[r] = default_q_[i];
    kp_[r] = spec_.kp[static_cast<size_t>(i)];
    kd_[r] = spec_.kd[static_cast<size_t>(i)];
  }

  // Buffers: one frame (each term once), the stacked observation, the history rings.
  int off = 0;
  for (const auto& t : spec_.observation) {
    term_offset_.push_back(off);
    term_size_.push_back(spec_.term_size(t));
    off += term_size_.back();
    max_history_ = std::max(max_history_, t.history);
  }
  frame_ = Eigen::VectorXf::Zero(off);
  raw_ = Eigen::VectorXd::Zero(off);
  obs_ = Eigen::VectorXf::Zero(spec_.observation_size());
  action_ = raw_action_ = Eigen::VectorXf::Zero(n);
  for (size_t k = 0; k < spec_.observation.size(); ++k) history_.push_back(Eigen::MatrixXf::Zero(term_size_[k], max_history_));
}

void Policy::build_frame(const PolicyInput& in) {
  const int n = spec_.num_actions();
  const Eigen::Index nr = kp_.size();
  if (!in.q || !in.dq || in.q->size() != nr || in.dq->size() != nr)
    throw PolicyError(fmt::format("{}: policy input: expected {} joint positions and velocities, got {} and {}",
                                  where(spec_), nr, in.q ? in.q->size() : 0, in.dq ? in.dq->size() : 0));
  const Eigen::Vector3d g = in.base_quat.normalized().toRotationMatrix().transpose() * Eigen::Vector3d(0, 0, -1);
  for (size_t k = 0; k < spec_.observation.size(); ++k) {
    const ObsTerm& t = spec_.observation[k];
    auto v = raw_.segment(term_offset_[k], term_size_[k]);  // computed in double, as upstream before its float cast
    switch (t.kind) {
      case TermKind::kBaseAngVel: v = in.base_ang_vel; break;
      case TermKind::kProjectedGravity: v = g; break;
      case TermKind::kCommand: v = in.command; break;
      case TermKind::kJointPosRel:
        for (int i = 0; i < n; ++i) v[i] = (*in.q)[p2r_[static_cast<size_t>(i)]] - default_q_[i];
        break;
      case TermKind::kJointVel:
        for (int i = 0; i < n; ++i) v[i] = (*in.dq)[p2r_[static_cast<size_t>(i)]];
        break;
      case TermKind::kLastAction: v = action_.cast<double>(); break;
      case TermKind::kGaitPhase: {
        const double phase = std::fmod(in.t, t.period) / t.period;
        v[0] = std::sin(2 * std::numbers::pi * phase);
        v[1] = std::cos(2 * std::numbers::pi * phase);
        break;
      }
    }
    auto f = frame_.segment(term_offset_[k], term_size_[k]);
    for (Eigen::Index i = 0; i < v.size(); ++i) {
      double x = v[i] * (t.scale.size() == 1 ? t.scale[0] : t.scale[static_cast<size_t>(i)]);
      if (t.clip) x = std::clamp(x, t.clip->first, t.clip->second);
      f[i] = std::isfinite(x) ? static_cast<float>(x) : 0.0f;  // a non-finite signal reads as zero
    }
  }
}

void Policy::assemble() {
  int o = 0;
  const int H = max_history_;
  auto col = [&](int h, int k) {  // k = 0 oldest .. h-1 newest
    const int age = spec_.history_oldest_first ? h - 1 - k : k;
    return ((head_ - age) % H + H) % H;
  };
  if (spec_.history_layout == HistoryLayout::kTermMajor) {
    for (size_t t = 0; t < history_.size(); ++t) {
      const int h = spec_.observation[t].history;
      for (int k = 0; k < h; ++k) {
        obs_.segment(o, term_size_[t]) = history_[t].col(col(h, k));
        o += term_size_[t];
      }
    }
  } else {
    const int h = spec_.observation.front().history;
    for (int k = 0; k < h; ++k)
      for (size_t t = 0; t < history_.size(); ++t) {
        obs_.segment(o, term_size_[t]) = history_[t].col(col(h, k));
        o += term_size_[t];
      }
  }
}

void Policy::reset(const PolicyInput& first) {
  net_->reset();
  action_.setZero();
  raw_action_.setZero();
  build_frame(first);
  for (size_t t = 0; t < history_.size(); ++t)
    for (int c = 0; c < max_history_; ++c) history_[t].col(c) = frame_.segment(term_offset_[t], term_size_[t]);
  head_ = 0;
  assemble();
  for (int i = 0; i < spec_.num_actions(); ++i) q_target_[p2r_[static_cast<size_t>(i)]] = default_q_[i];
}

void Policy::step(const PolicyInput& in) {
  build_frame(in);
  head_ = (head_ + 1) % max_history_;
  for (size_t t = 0; t < history_.size(); ++t) history_[t].col(head_) = frame_.segment(term_offset_[t], term_size_[t]);
  assemble();
  net_->forward(obs_, raw_action_);
  for (int i = 0; i < spec_.num_actions(); ++i) {
    float a = std::isfinite(raw_action_[i]) ? raw_action_[i] : 0.0f;  // a non-finite output holds the default
    if (spec_.action_clip)
      a = std::clamp(a, static_cast<float>(spec_.action_clip->first), static_cast<float>(spec_.action_clip->second));
    action_[i] = a;
    q_target_[p2r_[static_cast<size_t>(i)]] = default_q_[i] + action_scale_[i] * static_cast<double>(a);
  }
}

}  // namespace oh::control::policy
