// Robot profile detection from structure and geometry, YAML overrides, and the standalone forward
// kinematics that detection runs on. See model/profile.hpp for the rules.
#include "model/profile.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <numbers>
#include <set>
#include <tuple>

namespace oh::model {
namespace {

namespace fs = std::filesystem;
using Eigen::Isometry3d;
using Eigen::Matrix3d;
using Eigen::Quaterniond;
using Eigen::Vector3d;

constexpr double kFootBranchTolerance = 0.02;  // geometry this close to the lowest point marks a foot branch [m]
constexpr double kSoleTolerance = 0.005;       // points this close to a foot's lowest point form the sole [m]
constexpr double kLateralMin = 0.03;           // an arm's mean lateral offset from the torso [m]
constexpr int kMinArmJoints = 3;

std::string label(const Model& m) { return m.source.empty() ? m.name : m.source.string(); }

std::string body_name(const Model& m, int b) {
  if (b < 0) return "none";
  return m.bodies[b].name.empty() ? fmt::format("body#{}", b) : m.bodies[b].name;
}

std::string joint_names(const Model& m, const std::vector<int>& joints) {
  std::string out;
  for (int j : joints) {
    if (!out.empty()) out += ", ";
    out += m.joints[j].name.empty() ? fmt::format("joint#{}", j) : m.joints[j].name;
  }
  return out.empty() ? "-" : out;
}

// ---------------------------------------------------------------------------------------------------------
// Tree helpers and the geometry of one configuration.

struct Kinematics {
  const Model& m;
  std::vector<Isometry3d> X;               // world pose of every body
  Vector3d up;                             // world up (against gravity)
  std::vector<std::vector<int>> children;
  std::vector<int> depth;
  std::vector<bool> has_joint_below;       // the body's subtree (itself included) holds a joint
  std::vector<std::vector<Vector3d>> low;  // per body: candidate lowest points of its own geoms, world
  std::vector<double> body_low;            // per body: lowest height of its own geoms (+inf if none)

  // `geometry` false skips the support points (low, body_low) when only poses and the tree are needed.
  Kinematics(const Model& model, const Eigen::VectorXd& q, bool geometry = true) : m(model), X(body_poses(model, q)) {
    up = m.gravity.norm() > 1e-9 ? Vector3d(-m.gravity.normalized()) : Vector3d::UnitZ();
    const int n = static_cast<int>(m.bodies.size());
    children.assign(n, {});
    depth.assign(n, 0);
    for (int b = 1; b < n; ++b) {
      children[m.bodies[b].parent].push_back(b);
      depth[b] = depth[m.bodies[b].parent] + 1;
    }
    has_joint_below.assign(n, false);
    for (int b = n - 1; b >= 1; --b) {  // MuJoCo orders parents before children
      if (!m.bodies[b].joints.empty()) has_joint_below[b] = true;
      if (has_joint_below[b]) has_joint_below[m.bodies[b].parent] = true;
    }
    low.assign(n, {});
    body_low.assign(n, std::numeric_limits<double>::infinity());
    if (!geometry) return;
    bool any_collision = false;
    for (const Geom& g : m.geoms) any_collision = any_collision || (g.collides && g.body > 0);
    for (const Geom& g : m.geoms) {
      if (g.body <= 0 || (any_collision && !g.collides)) continue;
      support_points(g, low[g.body]);
    }
    for (int b = 0; b < n; ++b)
      for (const Vector3d& p : low[b]) body_low[b] = std::min(body_low[b], height(p));
  }

  double height(const Vector3d& p) const { return up.dot(p); }
  Vector3d in_frame(int frame_body, const Vector3d& world) const { return X[frame_body].inverse() * world; }

  // Points of a geom that can be its lowest in world: box corners, sphere and capsule bottoms, cylinder
  // rims, the ellipsoid's lowest point, mesh vertices.
  void support_points(const Geom& g, std::vector<Vector3d>& out) const {
    const Isometry3d Xg = X[g.body] * Eigen::Translation3d(g.pos) * g.quat;
    const Matrix3d R = Xg.linear();
    const Vector3d c = Xg.translation();
    const Vector3d& s = g.size;
    switch (g.type) {
      case Geom::Type::kSphere: out.push_back(c - s[0] * up); break;
      case Geom::Type::kCapsule:
        for (double sgn : {-1.0, 1.0}) out.push_back(c + sgn * s[1] * R.col(2) - s[0] * up);
        break;
      case Geom::Type::kCylinder: {
        const Vector3d axis = R.col(2);
        const Vector3d perp = up - up.dot(axis) * axis;
        for (double sgn : {-1.0, 1.0}) {
          const Vector3d end = c + sgn * s[1] * axis;
          if (perp.norm() > 1e-9) out.push_back(end - s[0] * perp.normalized());
          if (perp.norm() < 0.5)  // axis within 30 degrees of vertical: the end disc may lie flat
            for (int k = 0; k < 8; ++k) {
              const double a = k * std::numbers::pi / 4;
              out.push_back(end + s[0] * (std::cos(a) * R.col(0) + std::sin(a) * R.col(1)));
            }
        }
        break;
      }
      case Geom::Type::kEllipsoid: {
        const Vector3d u = R.transpose() * up;
        const Vector3d a2 = s.cwiseProduct(s);
        const double n = std::sqrt(u.dot(a2.cwiseProduct(u)));
        if (n > 1e-12) out.push_back(c - R * a2.cwiseProduct(u) / n);
        break;
      }
      case Geom::Type::kBox:
        for (int k = 0; k < 8; ++k)
          out.push_back(Xg * Vector3d((k & 1 ? 1 : -1) * s[0], (k & 2 ? 1 : -1) * s[1], (k & 4 ? 1 : -1) * s[2]));
        break;
      case Geom::Type::kMesh:
        if (g.mesh >= 0 && g.mesh < static_cast<int>(m.meshes.size())) {
          const auto& v = m.meshes[g.mesh].vertices;
          for (size_t i = 0; i + 2 < v.size(); i += 3) out.push_back(Xg * Vector3d(v[i], v[i + 1], v[i + 2]));
        }
        break;
      default: break;  // planes, height fields: not part of a robot's body
    }
  }

  bool is_ancestor(int a, int b) const {  // a == b counts
    for (; b >= 0; b = m.bodies[b].parent)
      if (b == a) return true;
    return false;
  }
  int lca(int a, int b) const {
    while (depth[a] > depth[b]) a = m.bodies[a].parent;
    while (depth[b] > depth[a]) b = m.bodies[b].parent;
    while (a != b) a = m.bodies[a].parent, b = m.bodies[b].parent;
    return a;
  }
  // The child of `ancestor` on the path down to `b` (b must be a strict descendant).
  int child_towards(int ancestor, int b) const {
    while (m.bodies[b].parent != ancestor) b = m.bodies[b].parent;
    return b;
  }
  std::vector<int> subtree(int root) const {
    std::vector<int> out{root};
    for (size_t i = 0; i < out.size(); ++i)
      for (int c : children[out[i]]) out.push_back(c);
    return out;
  }
  // Joints on the tree path from body a to body b, in order from a to b; the common ancestor's own joints
  // are not on the path.
  std::vector<int> path_joints(int a, int b) const {
    const int top = lca(a, b);
    std::vector<int> out;
    for (int x = a; x != top; x = m.bodies[x].parent)
      for (auto it = m.bodies[x].joints.rbegin(); it != m.bodies[x].joints.rend(); ++it) out.push_back(*it);
    std::vector<int> down;
    for (int x = b; x != top; x = m.bodies[x].parent) down.push_back(x);
    for (auto it = down.rbegin(); it != down.rend(); ++it)
      for (int j : m.bodies[*it].joints) out.push_back(j);
    return out;
  }
  std::vector<int> movable_children(int b, const std::set<int>& excluded = {}) const {
    std::vector<int> out;
    for (int c : children[b])
      if (has_joint_below[c] && !excluded.count(c)) out.push_back(c);
    return out;
  }
  // Follows a chain down while it does not branch: stops at a body with no jointed child (the last body)
  // or with two or more (a hand that branches into fingers).
  int chain_end(int b) const {
    for (;;) {
      const auto kids = movable_children(b);
      if (kids.size() != 1) return b;
      b = kids[0];
    }
  }
  double subtree_mass(int root) const {
    double sum = 0;
    for (int b : subtree(root)) sum += m.bodies[b].mass;
    return sum;
  }
  Vector3d in_base(int base, int b) const { return X[base].inverse() * X[b].translation(); }
};

int body_frame(const Model& m, int body) {
  for (size_t f = 0; f < m.frames.size(); ++f)
    if (m.frames[f].kind == Frame::Kind::kBody && m.frames[f].body == body) return static_cast<int>(f);
  return -1;
}

// A site on `body` or on a jointless body welded below it, the one nearest `near` (body frame) when given;
// otherwise the body's own frame.
int end_frame_for(const Kinematics& k, int body, const std::optional<Vector3d>& near = std::nullopt) {
  const Model& m = k.m;
  std::vector<int> welded{body};
  for (size_t i = 0; i < welded.size(); ++i)
    for (int c : k.children[welded[i]])
      if (m.bodies[c].joints.empty()) welded.push_back(c);
  int best = -1;
  double best_d = std::numeric_limits<double>::infinity();
  for (size_t f = 0; f < m.frames.size(); ++f) {
    const Frame& fr = m.frames[f];
    if (fr.kind != Frame::Kind::kSite || std::find(welded.begin(), welded.end(), fr.body) == welded.end()) continue;
    const Vector3d p = k.X[body].inverse() * (k.X[fr.body] * fr.pos);
    const double d = near ? (p - *near).norm() : (fr.body == body ? 0.0 : 1.0);
    if (d < best_d) best = static_cast<int>(f), best_d = d;
  }
  return best >= 0 ? best : body_frame(m, body);
}

// The sole of a foot from the collision geometry of its subtree (see profile.hpp).
Foot compute_foot(const Kinematics& k, int body) {
  const Model& m = k.m;
  std::vector<Vector3d> pts;
  for (int b : k.subtree(body)) pts.insert(pts.end(), k.low[b].begin(), k.low[b].end());
  if (pts.empty())
    throw ModelError(fmt::format("{}: foot body '{}' has no geometry to stand on", label(m), body_name(m, body)));
  double lowest = std::numeric_limits<double>::infinity();
  for (const Vector3d& p : pts) lowest = std::min(lowest, k.height(p));

  // Sole frame in the foot frame: z = world up, x = foot x projected onto the ground plane.
  const Matrix3d Rf = k.X[body].linear();
  const Vector3d z = Rf.transpose() * k.up;
  Vector3d x = Vector3d::UnitX() - z.x() * z;
  if (x.norm() < 0.3) x = Vector3d::UnitY().cross(z);  // the foot's x points up or down: use its y
  x.normalize();
  const Vector3d y = z.cross(x);

  double u0 = std::numeric_limits<double>::infinity(), u1 = -u0, v0 = u0, v1 = -u0, w0 = u0;
  for (const Vector3d& p : pts) {
    if (k.height(p) > lowest + kSoleTolerance) continue;
    const Vector3d f = k.in_frame(body, p);
    u0 = std::min(u0, x.dot(f)), u1 = std::max(u1, x.dot(f));
    v0 = std::min(v0, y.dot(f)), v1 = std::max(v1, y.dot(f));
    w0 = std::min(w0, z.dot(f));
  }
  Foot foot;
  foot.body = body;
  Matrix3d S;
  S << x, y, z;
  foot.sole_quat = Quaterniond(S).normalized();
  foot.length = u1 - u0;
  foot.width = v1 - v0;
  foot.sole_center = S * Vector3d((u0 + u1) / 2, (v0 + v1) / 2, w0);
  for (auto [u, v] : std::array<std::pair<double, double>, 4>{{{u1, v1}, {u1, v0}, {u0, v0}, {u0, v1}}})
    foot.contact_points.push_back(S * Vector3d(u, v, w0));
  foot.frame = end_frame_for(k, body, foot.sole_center);
  return foot;
}

// Rebuilds the contact rectangle from sole_center, sole_quat, length and width.
void rebuild_contacts(Foot& f) {
  const Matrix3d S = f.sole_quat.toRotationMatrix();
  f.contact_points.clear();
  for (auto [a, b] : std::array<std::pair<double, double>, 4>{{{1, 1}, {1, -1}, {-1, -1}, {-1, 1}}})
    f.contact_points.push_back(f.sole_center + S * Vector3d(a * f.length / 2, b * f.width / 2, 0));
}

Limb make_limb(const Kinematics& k, int root, int end, int frame) {
  return Limb{k.path_joints(root, end), root, end, frame};
}

std::vector<int> joints_below(const Kinematics& k, int hand) {
  std::vector<int> out;
  for (int b : k.subtree(hand))
    if (b != hand)
      for (int j : k.m.bodies[b].joints) out.push_back(j);
  std::sort(out.begin(), out.end());
  return out;
}

std::string nominal_source_of(const Model& m, const Eigen::VectorXd& q) {
  for (const Keyframe& kf : m.keyframes)
    if (kf.q.size() == q.size() && kf.q == q) return fmt::format("keyframe '{}'", kf.name);
  return "qpos0 (no keyframe)";
}

// Stage 1: nominal configuration and base.
Profile detect_base(const Model& m) {
  if (m.bodies.size() < 2) throw ModelError(fmt::format("{}: no legs found: the model has no bodies", label(m)));
  Profile p;
  p.q_nominal = m.nominal_q();
  if (p.q_nominal.size() != m.nq)
    throw ModelError(fmt::format("{}: nominal configuration has {} values, nq is {}", label(m), p.q_nominal.size(), m.nq));
  p.nominal_source = nominal_source_of(m, p.q_nominal);
  const Kinematics k(m, p.q_nominal, false);
  // The robot: of the world's children (a scene may also hold free objects), prefer an articulated one,
  // then a floating one, then the heaviest.
  std::tuple<bool, bool, double> best{false, false, -1.0};
  for (int c : k.children[0]) {
    bool articulated = false;
    for (int b : k.subtree(c))
      for (int j : m.bodies[b].joints) articulated = articulated || m.joints[j].type != JointType::kFree;
    const bool floating = !m.bodies[c].joints.empty() && m.joints[m.bodies[c].joints[0]].type == JointType::kFree;
    const std::tuple<bool, bool, double> score{articulated, floating, k.subtree_mass(c)};
    if (score > best) best = score, p.base_body = c;
  }
  return p;
}

// Stage 2: the two feet.
std::pair<int, int> detect_feet(const Kinematics& k, int base) {
  const Model& m = k.m;
  auto fail = [&](const std::string& why) { return ModelError(fmt::format("{}: no legs found: {}", label(m), why)); };
  const std::vector<int> robot = k.subtree(base);
  double lowest = std::numeric_limits<double>::infinity();
  for (int b : robot) lowest = std::min(lowest, k.body_low[b]);
  if (!std::isfinite(lowest)) throw fail("the robot has no geometry");
  std::vector<int> near;
  for (int b : robot)
    if (k.body_low[b] <= lowest + kFootBranchTolerance) near.push_back(b);
  if (std::find(near.begin(), near.end(), base) != near.end())
    throw fail(fmt::format("the base body '{}' itself holds the lowest geometry", body_name(m, base)));
  int hub = near.front();
  for (int b : near) hub = k.lca(hub, b);
  // Group the low bodies by the branch of `hub` they hang from.
  std::map<int, std::vector<int>> groups;
  for (int b : near) {
    if (b == hub) throw fail(fmt::format("only one chain reaches the ground (at '{}')", body_name(m, b)));
    groups[k.child_towards(hub, b)].push_back(b);
  }
  if (groups.size() < 2) throw fail("only one chain reaches the ground");
  std::vector<std::pair<double, int>> order;  // (lowest height, branch)
  for (const auto& [branch, bodies] : groups) {
    double h = std::numeric_limits<double>::infinity();
    for (int b : bodies) h = std::min(h, k.body_low[b]);
    order.emplace_back(h, branch);
  }
  std::sort(order.begin(), order.end());
  std::array<int, 2> feet{};
  for (int i = 0; i < 2; ++i) {
    const auto& [h, branch] = order[i];
    int foot = -1;
    for (int b : groups[branch])
      if (k.body_low[b] <= h + kSoleTolerance && (foot < 0 || k.depth[b] > k.depth[foot])) foot = b;
    feet[i] = foot;
  }
  const double y0 = k.in_base(base, feet[0]).y(), y1 = k.in_base(base, feet[1]).y();
  if (std::abs(y0 - y1) < 0.01)
    throw fail(fmt::format("the two lowest chains ('{}', '{}') are not side by side", body_name(m, feet[0]),
                           body_name(m, feet[1])));
  return y0 > y1 ? std::pair{feet[0], feet[1]} : std::pair{feet[1], feet[0]};
}

// Stage 3: legs and soles from the feet.
void fill_legs(const Kinematics& k, Profile& p, int left, int right) {
  const Model& m = k.m;
  p.pelvis_body = k.lca(left, right);
  p.left_foot = compute_foot(k, left);
  p.right_foot = compute_foot(k, right);
  p.left_leg = make_limb(k, p.pelvis_body, left, p.left_foot.frame);
  p.right_leg = make_limb(k, p.pelvis_body, right, p.right_foot.frame);
  for (const Limb* leg : {&p.left_leg, &p.right_leg})
    if (leg->joints.empty())
      throw ModelError(fmt::format("{}: no legs found: no joints between '{}' and foot '{}'", label(m),
                                   body_name(m, p.pelvis_body), body_name(m, leg->end_body)));
}

// Stage 4: torso, waist, arms, hands and head above the pelvis.
void fill_upper_body(const Kinematics& k, Profile& p) {
  const Model& m = k.m;
  std::set<int> excluded;
  for (int foot : {p.left_foot.body, p.right_foot.body})
    if (foot != p.pelvis_body && k.is_ancestor(p.pelvis_body, foot)) excluded.insert(k.child_towards(p.pelvis_body, foot));
  int start = p.pelvis_body;
  if (p.base_body != p.pelvis_body && k.is_ancestor(p.base_body, p.pelvis_body)) {
    // The legs hang below the base: the upper body is the rest of the base's subtree.
    excluded.insert(k.child_towards(p.base_body, p.pelvis_body));
    start = p.base_body;
  }
  // Torso: follow the single jointed chain up from the pelvis until it branches.
  int torso = start;
  for (int x = start;;) {
    const auto kids = k.movable_children(x, excluded);
    if (kids.size() >= 2) { torso = x; break; }
    if (kids.empty()) break;  // no branch: no arms; torso stays at the pelvis
    x = kids[0];
  }
  p.torso_body = torso;
  p.waist_joints = k.path_joints(p.pelvis_body, torso);

  const Vector3d torso_b = k.in_base(p.base_body, torso);
  struct Chain { int root, end; std::vector<int> joints; double lateral, top; };
  std::vector<Chain> chains;
  for (int c : k.children[torso]) {
    if (excluded.count(c)) continue;  // the legs, or the way down to them
    Chain ch{c, k.chain_end(c), {}, 0.0, -std::numeric_limits<double>::infinity()};
    ch.joints = k.path_joints(torso, ch.end);
    int n = 0;
    for (int b = ch.end; b != torso; b = m.bodies[b].parent, ++n) ch.lateral += k.in_base(p.base_body, b).y() - torso_b.y();
    ch.lateral /= std::max(n, 1);
    for (int b : k.subtree(c)) ch.top = std::max(ch.top, k.height(k.X[b].translation()));
    for (const Geom& g : m.geoms)
      if (g.body > 0 && k.is_ancestor(c, g.body)) ch.top = std::max(ch.top, k.height(k.X[g.body] * g.pos));
    chains.push_back(std::move(ch));
  }
  // Arms: the lateral chains with enough joints, one per side (most joints first, then most lateral).
  auto pick_arm = [&](double side) -> const Chain* {
    const Chain* best = nullptr;
    for (const Chain& ch : chains) {
      if (static_cast<int>(ch.joints.size()) < kMinArmJoints || side * ch.lateral < kLateralMin) continue;
      if (!best || ch.joints.size() > best->joints.size() ||
          (ch.joints.size() == best->joints.size() && side * ch.lateral > side * best->lateral))
        best = &ch;
    }
    return best;
  };
  const Chain* left = pick_arm(1.0);
  const Chain* right = pick_arm(-1.0);
  p.left_arm.reset(), p.right_arm.reset();
  p.left_hand_frame = p.right_hand_frame = -1;
  p.left_hand_joints.clear(), p.right_hand_joints.clear();
  if (left) {
    p.left_hand_frame = end_frame_for(k, left->end);
    p.left_arm = Limb{left->joints, torso, left->end, p.left_hand_frame};
    p.left_hand_joints = joints_below(k, left->end);
  }
  if (right) {
    p.right_hand_frame = end_frame_for(k, right->end);
    p.right_arm = Limb{right->joints, torso, right->end, p.right_hand_frame};
    p.right_hand_joints = joints_below(k, right->end);
  }
  // Head: of the other chains near the mid-plane, the one reaching highest, above the shoulders (or, with
  // no arms, above the torso). Without arms it must have a joint: a welded upper body is not a head.
  double shoulders = k.height(k.X[torso].translation());
  for (const Chain* arm : {left, right})
    if (arm) shoulders = std::max(shoulders, k.height(k.X[arm->root].translation()));
  const Chain* head = nullptr;
  for (const Chain& ch : chains) {
    if (&ch == left || &ch == right || std::abs(ch.lateral) >= 0.1) continue;
    if (ch.top <= shoulders || (ch.joints.empty() && !left && !right)) continue;
    if (!head || ch.top > head->top) head = &ch;
  }
  p.head_body = head ? head->end : -1;
  p.head_joints = head ? head->joints : std::vector<int>{};
}

// Stage 5: quantities derived from the rest.
void fill_derived(const Model& m, Profile& p) {
  const Kinematics k(m, p.q_nominal, false);
  p.leg_joints = p.left_leg.joints;
  p.leg_joints.insert(p.leg_joints.end(), p.right_leg.joints.begin(), p.right_leg.joints.end());
  p.arm_joints.clear();
  for (const auto* arm : {&p.left_arm, &p.right_arm})
    if (*arm) p.arm_joints.insert(p.arm_joints.end(), (*arm)->joints.begin(), (*arm)->joints.end());
  if (p.left_foot.body < 0 || p.right_foot.body < 0) return;
  const int base = p.base_body >= 0 ? p.base_body : p.pelvis_body;
  const Vector3d lateral = base >= 0 ? Vector3d(k.X[base].linear().col(1)) : Vector3d::UnitY();
  double sole = 0, legs = 0;
  for (const auto& [leg, foot] : {std::pair{&p.left_leg, &p.left_foot}, std::pair{&p.right_leg, &p.right_foot}}) {
    const double sole_h = k.height(k.X[foot->body] * foot->sole_center);
    sole += sole_h / 2;
    // The hip centre: the anchor of the first leg joint turning about the lateral axis (hip pitch).
    double hip_h = std::numeric_limits<double>::quiet_NaN();
    for (int j : leg->joints) {
      const Joint& jt = m.joints[j];
      const Isometry3d& Xb = k.X[jt.body];
      if (std::isnan(hip_h)) hip_h = k.height(Xb * jt.pos);  // fallback: the first joint
      if (jt.nv == 1 && std::abs((Xb.linear() * jt.axis).dot(lateral)) > 0.7) {
        hip_h = k.height(Xb * jt.pos);
        break;
      }
    }
    legs += std::isnan(hip_h) ? 0.0 : (hip_h - sole_h) / 2;
  }
  p.leg_length = legs;
  p.com_height = k.height(center_of_mass(m, p.q_nominal)) - sole;
}

// The crouch of crouched(): starts from q, keeps each leg's end body at its pose in `reference`.
Eigen::VectorXd crouch_from(const Model& m, const Profile& p, Eigen::VectorXd q, const Eigen::VectorXd& reference,
                            double fraction) {
  const Joint& free = m.joints[m.bodies[p.base_body].joints.front()];
  const std::vector<Isometry3d> X0 = body_poses(m, reference);
  const Vector3d up = m.gravity.norm() > 1e-9 ? Vector3d(-m.gravity.normalized()) : Vector3d::UnitZ();
  q.segment<3>(free.q_index) -= fraction * p.leg_length * up;
  for (const Limb* leg : {&p.left_leg, &p.right_leg}) {
    const int n = static_cast<int>(leg->joints.size());
    const Isometry3d& target = X0[leg->end_body];
    auto error = [&](const Eigen::VectorXd& x) {
      const Isometry3d X = body_poses(m, x)[leg->end_body];
      const Eigen::AngleAxisd aa(target.linear() * X.linear().transpose());
      Eigen::Matrix<double, 6, 1> e;
      e << target.translation() - X.translation(), aa.angle() * aa.axis();
      return e;
    };
    Eigen::MatrixXd J(6, n);
    for (int it = 0; it < 100; ++it) {
      const Eigen::Matrix<double, 6, 1> e = error(q);
      if (e.norm() < 1e-9) break;
      constexpr double h = 1e-7;
      for (int c = 0; c < n; ++c) {
        Eigen::VectorXd qh = q;
        qh[m.joints[leg->joints[c]].q_index] += h;
        J.col(c) = (e - error(qh)) / h;  // d(pose)/dq
      }
      const Eigen::MatrixXd JJt = J * J.transpose() + 1e-6 * Eigen::MatrixXd::Identity(6, 6);
      const Eigen::VectorXd dq = J.transpose() * JJt.ldlt().solve(e);
      for (int c = 0; c < n; ++c) {
        const Joint& jt = m.joints[leg->joints[c]];
        double& x = q[jt.q_index];
        x += dq[c];
        if (jt.limited) x = std::clamp(x, jt.lower, jt.upper);
      }
    }
  }
  // Soles on the ground.
  const std::vector<Isometry3d> X = body_poses(m, q);
  double sole = std::numeric_limits<double>::infinity();
  for (const Foot* f : {&p.left_foot, &p.right_foot}) sole = std::min(sole, up.dot(X[f->body] * f->sole_center));
  q.segment<3>(free.q_index) -= sole * up;
  return q;
}

// Stage 4b: a keyframe-less model whose legs rest against a joint stop at qpos0 (straight knees on their limit: a
// singular leg that can push only one way) gets a slight crouch instead: the base lowered by kCrouch of the leg
// length with the feet kept where they are (damped least-squares IK on each leg), then the whole robot lowered so
// that the soles touch the ground plane z = 0.
constexpr double kCrouch = 0.04;

void crouch_if_on_stops(const Model& m, Profile& p) {
  if (!m.keyframes.empty() || p.base_body < 0 || m.bodies[p.base_body].joints.empty()) return;
  const Joint& free = m.joints[m.bodies[p.base_body].joints.front()];
  if (free.type != JointType::kFree) return;
  Eigen::VectorXd q = p.q_nominal;
  constexpr double kStop = 1e-3, kInside = 0.05;  // [rad | m]
  bool on_stop = false;
  std::vector<int> legs = p.left_leg.joints;
  legs.insert(legs.end(), p.right_leg.joints.begin(), p.right_leg.joints.end());
  for (int j : legs) {
    const Joint& jt = m.joints[j];
    if (jt.nv != 1 || !jt.limited) continue;
    double& x = q[jt.q_index];
    if (x - jt.lower < kStop) x = jt.lower + kInside, on_stop = true;
    if (jt.upper - x < kStop) x = jt.upper - kInside, on_stop = true;
  }
  if (!on_stop) return;
  fill_derived(m, p);
  p.q_nominal = crouch_from(m, p, q, p.q_nominal, kCrouch);
  p.nominal_source += fmt::format(", crouched {:.0f}% of the leg length", 100 * kCrouch);
}

// ---------------------------------------------------------------------------------------------------------
// YAML overrides.

class Overrides {
 public:
  Overrides(const Model& m, const fs::path& file, Profile& p) : m_(m), file_(file), p_(p) {}

  void apply(const YAML::Node& root) {
    check_keys(root, "", {"base_body", "pelvis_body", "torso_body", "head_body", "left_foot", "right_foot",
                          "left_leg", "right_leg", "left_arm", "right_arm", "left_hand_frame", "right_hand_frame",
                          "waist_joints", "head_joints", "left_hand_joints", "right_hand_joints",
                          "nominal_keyframe", "nominal_q", "walking"});
    if (const auto n = root["walking"]) {
      if (!n.IsMap()) throw error("walking", "expected a mapping parameter: number");
      for (const auto& kv : n) {
        const std::string key = kv.first.as<std::string>();
        const double v = number(kv.second, "walking." + key);
        if (!std::isfinite(v)) throw error("walking." + key, "expected a finite number");
        p_.walking[key] = v;
        note("walking." + key, fmt::format("{}", v));
      }
    }
    // Nominal configuration first: everything geometric is evaluated there.
    if (const auto n = root["nominal_keyframe"]) {
      const std::string name = scalar(n, "nominal_keyframe");
      auto it = std::find_if(m_.keyframes.begin(), m_.keyframes.end(), [&](const Keyframe& kf) { return kf.name == name; });
      if (it == m_.keyframes.end()) throw error("nominal_keyframe", fmt::format("no keyframe named '{}'", name));
      p_.q_nominal = it->q;
      p_.nominal_source = fmt::format("keyframe '{}' ({})", name, file_.string());
      note("nominal_keyframe", name);
    }
    if (const auto n = root["nominal_q"]) apply_nominal(n);
    const Kinematics k(m_, p_.q_nominal);

    if (const auto n = root["base_body"]) p_.base_body = body(n, "base_body");
    // Feet bodies, then the pelvis and the legs that depend on them.
    bool feet_changed = false;
    for (auto [key, foot] : {std::pair{"left_foot", &p_.left_foot}, std::pair{"right_foot", &p_.right_foot}}) {
      const auto n = root[key];
      if (!n) continue;
      check_keys(n, key, {"body", "frame", "sole_center", "length", "width", "contact_points"});
      if (const auto b = n["body"]) {
        *foot = compute_foot(k, body(b, std::string(key) + ".body"));
        feet_changed = true;
      }
    }
    if (const auto n = root["pelvis_body"]) p_.pelvis_body = body(n, "pelvis_body");
    else if (feet_changed && p_.left_foot.body >= 0 && p_.right_foot.body >= 0)
      p_.pelvis_body = k.lca(p_.left_foot.body, p_.right_foot.body);
    if ((feet_changed || root["pelvis_body"]) && p_.pelvis_body >= 0) {
      if (p_.left_foot.body >= 0) p_.left_leg = make_limb(k, p_.pelvis_body, p_.left_foot.body, p_.left_foot.frame);
      if (p_.right_foot.body >= 0) p_.right_leg = make_limb(k, p_.pelvis_body, p_.right_foot.body, p_.right_foot.frame);
    }
    // A profile that detection could not finish gets its upper body detected once the feet are known.
    if (p_.torso_body < 0 && p_.pelvis_body >= 0 && p_.left_foot.body >= 0 && p_.right_foot.body >= 0)
      fill_upper_body(k, p_);

    if (const auto n = root["torso_body"]) {
      p_.torso_body = body(n, "torso_body");
      p_.waist_joints = k.path_joints(p_.pelvis_body, p_.torso_body);
      for (auto* arm : {&p_.left_arm, &p_.right_arm})
        if (*arm) **arm = make_limb(k, p_.torso_body, (*arm)->end_body, (*arm)->end_frame);
      if (p_.head_body >= 0) p_.head_joints = k.path_joints(p_.torso_body, p_.head_body);
    }
    if (const auto n = root["head_body"]) {
      const bool none = n.IsNull() || (n.IsScalar() && n.as<std::string>() == "none");
      p_.head_body = none ? -1 : body(n, "head_body");
      p_.head_joints = none ? std::vector<int>{} : k.path_joints(p_.torso_body, p_.head_body);
      if (none) note("head_body", "none");
    }

    apply_limb(k, root, "left_leg", p_.left_leg);
    apply_limb(k, root, "right_leg", p_.right_leg);
    apply_arm(k, root, "left_arm", p_.left_arm, p_.left_hand_frame, p_.left_hand_joints);
    apply_arm(k, root, "right_arm", p_.right_arm, p_.right_hand_frame, p_.right_hand_joints);

    for (auto [key, foot, leg] : {std::tuple{"left_foot", &p_.left_foot, &p_.left_leg},
                                  std::tuple{"right_foot", &p_.right_foot, &p_.right_leg}}) {
      const auto n = root[key];
      if (!n) continue;
      const std::string k0 = key;
      if (const auto f = n["frame"]) leg->end_frame = foot->frame = frame(f, k0 + ".frame");
      bool rect = false;
      if (const auto v = n["sole_center"]) foot->sole_center = vec3(v, k0 + ".sole_center"), rect = true;
      if (const auto v = n["length"]) foot->length = positive(v, k0 + ".length"), rect = true;
      if (const auto v = n["width"]) foot->width = positive(v, k0 + ".width"), rect = true;
      if (rect) rebuild_contacts(*foot);
      if (const auto v = n["contact_points"]) {
        if (!v.IsSequence() || v.size() == 0) throw error(k0 + ".contact_points", "expected a list of [x, y, z]");
        foot->contact_points.clear();
        for (size_t i = 0; i < v.size(); ++i) foot->contact_points.push_back(vec3(v[i], k0 + ".contact_points"));
      }
    }
    for (auto [key, hand, arm] : {std::tuple{"left_hand_frame", &p_.left_hand_frame, &p_.left_arm},
                                  std::tuple{"right_hand_frame", &p_.right_hand_frame, &p_.right_arm}})
      if (const auto n = root[key]) {
        *hand = frame(n, key);
        if (*arm) (*arm)->end_frame = *hand;
      }
    for (auto [key, group] : {std::pair{"waist_joints", &p_.waist_joints}, std::pair{"head_joints", &p_.head_joints},
                              std::pair{"left_hand_joints", &p_.left_hand_joints},
                              std::pair{"right_hand_joints", &p_.right_hand_joints}})
      if (const auto n = root[key]) *group = joints(n, key);
  }

 private:
  ModelError error(const std::string& key, const std::string& what) const {
    return ModelError(fmt::format("{}: key '{}': {}", file_.string(), key, what));
  }
  void note(const std::string& key, const std::string& value) {
    p_.overrides_applied.push_back(fmt::format("{} = {} ({})", key, value, file_.string()));
  }
  void check_keys(const YAML::Node& n, const std::string& where, std::initializer_list<const char*> allowed) const {
    if (!n.IsMap()) throw error(where.empty() ? "<document>" : where, "expected a mapping");
    for (const auto& kv : n) {
      const std::string key = kv.first.as<std::string>();
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
        std::string list;
        for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        throw error(where.empty() ? key : where + "." + key, fmt::format("unknown key (allowed: {})", list));
      }
    }
  }
  std::string scalar(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) throw error(key, "expected a name");
    return n.as<std::string>();
  }
  double number(const YAML::Node& n, const std::string& key) const {
    try {
      if (n.IsScalar()) return n.as<double>();
    } catch (const YAML::Exception&) {
    }
    throw error(key, "expected a number");
  }
  double positive(const YAML::Node& n, const std::string& key) {
    const double v = number(n, key);
    if (!(v >= 0)) throw error(key, "expected a non-negative number");
    note(key, fmt::format("{}", v));
    return v;
  }
  Vector3d vec3(const YAML::Node& n, const std::string& key) {
    if (!n.IsSequence() || n.size() != 3) throw error(key, "expected [x, y, z]");
    const Vector3d v(number(n[0], key), number(n[1], key), number(n[2], key));
    note(key, fmt::format("[{}, {}, {}]", v.x(), v.y(), v.z()));
    return v;
  }
  int body(const YAML::Node& n, const std::string& key) {
    const std::string name = scalar(n, key);
    const int b = m_.body_id(name);
    if (b < 0) throw error(key, fmt::format("no body named '{}'", name));
    note(key, name);
    return b;
  }
  int frame(const YAML::Node& n, const std::string& key) {
    const std::string name = scalar(n, key);
    // Prefer a site of that name over a body of the same name.
    int f = -1;
    for (size_t i = 0; i < m_.frames.size(); ++i)
      if (m_.frames[i].name == name && (f < 0 || m_.frames[i].kind == Frame::Kind::kSite)) f = static_cast<int>(i);
    if (f < 0) throw error(key, fmt::format("no site or body named '{}'", name));
    note(key, name);
    return f;
  }
  std::vector<int> joints(const YAML::Node& n, const std::string& key) {
    if (!n.IsSequence()) throw error(key, "expected a list of joint names");
    std::vector<int> out;
    for (const auto& item : n) {
      const std::string name = scalar(item, key);
      const int j = m_.joint_id(name);
      if (j < 0) throw error(key, fmt::format("no joint named '{}'", name));
      out.push_back(j);
    }
    note(key, fmt::format("[{}]", joint_names(m_, out)));
    return out;
  }
  void apply_nominal(const YAML::Node& n) {
    if (!n.IsMap()) throw error("nominal_q", "expected a mapping joint name: value");
    for (const auto& kv : n) {
      const std::string name = kv.first.as<std::string>();
      const std::string key = "nominal_q." + name;
      const int j = m_.joint_id(name);
      if (j < 0) throw error(key, fmt::format("no joint named '{}'", name));
      const Joint& jt = m_.joints[j];
      if (kv.second.IsSequence()) {
        if (static_cast<int>(kv.second.size()) != jt.nq) throw error(key, fmt::format("expected {} numbers", jt.nq));
        for (int i = 0; i < jt.nq; ++i) p_.q_nominal[jt.q_index + i] = number(kv.second[i], key);
      } else {
        if (jt.nq != 1) throw error(key, fmt::format("expected a list of {} numbers", jt.nq));
        p_.q_nominal[jt.q_index] = number(kv.second, key);
      }
    }
    p_.nominal_source += fmt::format(", {} joint value(s) from {}", n.size(), file_.string());
    note("nominal_q", fmt::format("{} joint value(s)", n.size()));
  }
  void apply_limb(const Kinematics& k, const YAML::Node& root, const std::string& key, Limb& limb) {
    const auto n = root[key];
    if (!n) return;
    check_keys(n, key, {"joints", "root_body", "end_body", "end_frame"});
    if (const auto v = n["root_body"]) limb.root_body = body(v, key + ".root_body");
    if (const auto v = n["end_body"]) {
      limb.end_body = body(v, key + ".end_body");
      limb.end_frame = end_frame_for(k, limb.end_body);
    }
    if (n["root_body"] || n["end_body"]) {
      if (limb.root_body < 0 || limb.end_body < 0) throw error(key, "needs both root_body and end_body");
      limb.joints = k.path_joints(limb.root_body, limb.end_body);
    }
    if (const auto v = n["joints"]) limb.joints = joints(v, key + ".joints");
    if (const auto v = n["end_frame"]) limb.end_frame = frame(v, key + ".end_frame");
  }
  void apply_arm(const Kinematics& k, const YAML::Node& root, const std::string& key, std::optional<Limb>& arm,
                 int& hand_frame, std::vector<int>& hand_joints) {
    const auto n = root[key];
    if (!n) return;
    if (n.IsNull() || (n.IsScalar() && n.as<std::string>() == "none")) {
      arm.reset();
      hand_frame = -1;
      hand_joints.clear();
      note(key, "none");
      return;
    }
    if (!arm) arm = Limb{{}, p_.torso_body, -1, -1};
    const int old_end = arm->end_body;
    apply_limb(k, root, key, *arm);
    hand_frame = arm->end_frame;
    if (arm->end_body != old_end && arm->end_body >= 0) hand_joints = joints_below(k, arm->end_body);
  }

  const Model& m_;
  fs::path file_;
  Profile& p_;
};

}  // namespace

Eigen::VectorXd crouched(const Model& m, const Profile& p, const Eigen::VectorXd& q, double fraction) {
  if (q.size() != m.nq) throw ModelError(fmt::format("crouched: q has {} entries, the model {}", q.size(), m.nq));
  if (fraction <= 0 || p.base_body < 0 || m.bodies[p.base_body].joints.empty() || p.left_foot.body < 0 ||
      p.right_foot.body < 0)
    return q;
  if (m.joints[m.bodies[p.base_body].joints.front()].type != JointType::kFree) return q;
  // The IK starts from the leg joints moved a tenth of the way to the middle of their range: a straight knee sits
  // at a singularity where the IK cannot tell which way to bend, and the middle of a knee's range is bent the
  // right way. The IK then restores the feet.
  Eigen::VectorXd start = q;
  for (const Limb* leg : {&p.left_leg, &p.right_leg})
    for (int j : leg->joints) {
      const Joint& jt = m.joints[j];
      if (jt.nv == 1 && jt.limited) start[jt.q_index] += 0.1 * (0.5 * (jt.lower + jt.upper) - start[jt.q_index]);
    }
  return crouch_from(m, p, start, q, fraction);
}

std::vector<Eigen::Isometry3d> body_poses(const Model& m, const Eigen::VectorXd& q) {
  if (q.size() != m.nq)
    throw ModelError(fmt::format("{}: configuration has {} values, nq is {}", label(m), q.size(), m.nq));
  const size_t n = m.bodies.size();
  std::vector<Vector3d> pos(n, Vector3d::Zero());
  std::vector<Quaterniond> rot(n, Quaterniond::Identity());
  for (size_t b = 1; b < n; ++b) {
    const Body& body = m.bodies[b];
    const int parent = std::max(body.parent, 0);
    Vector3d x = pos[parent] + rot[parent] * body.pos;
    Quaterniond r = rot[parent] * body.quat;
    for (int j : body.joints) {
      const Joint& jt = m.joints[j];
      const int i = jt.q_index;
      const Vector3d anchor = r * jt.pos + x;
      switch (jt.type) {
        case JointType::kFree:
          x = q.segment<3>(i);
          r = Quaterniond(q[i + 3], q[i + 4], q[i + 5], q[i + 6]).normalized();
          break;
        case JointType::kPrismatic: x += r * jt.axis * (q[i] - jt.qpos0); break;
        case JointType::kBall:
          r = r * Quaterniond(q[i], q[i + 1], q[i + 2], q[i + 3]).normalized();
          x = anchor - r * jt.pos;
          break;
        case JointType::kRevolute:
          r = r * Quaterniond(Eigen::AngleAxisd(q[i] - jt.qpos0, jt.axis.normalized()));
          x = anchor - r * jt.pos;
          break;
      }
    }
    pos[b] = x;
    rot[b] = r.normalized();
  }
  std::vector<Isometry3d> out(n, Isometry3d::Identity());
  for (size_t b = 1; b < n; ++b) out[b] = Eigen::Translation3d(pos[b]) * rot[b];
  return out;
}

Eigen::Vector3d center_of_mass(const Model& m, const Eigen::VectorXd& q) {
  const auto X = body_poses(m, q);
  Vector3d sum = Vector3d::Zero();
  double mass = 0;
  for (size_t b = 1; b < m.bodies.size(); ++b) {
    sum += m.bodies[b].mass * (X[b] * m.bodies[b].com);
    mass += m.bodies[b].mass;
  }
  if (mass <= 0) throw ModelError(fmt::format("{}: the model has no mass", label(m)));
  return sum / mass;
}

Profile detect_profile(const Model& m) {
  Profile p = detect_base(m);
  const Kinematics k(m, p.q_nominal);
  const auto [left, right] = detect_feet(k, p.base_body);
  fill_legs(k, p, left, right);
  fill_upper_body(k, p);
  crouch_if_on_stops(m, p);
  fill_derived(m, p);
  return p;
}

Profile load_profile(const Model& m, const std::filesystem::path& yaml, Profile p) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(yaml.string());
  } catch (const YAML::Exception& e) {
    throw ModelError(fmt::format("{}: {}", yaml.string(), e.what()));
  }
  if (p.q_nominal.size() != m.nq) p.q_nominal = m.nominal_q();
  if (root && !root.IsNull()) {
    try {
      Overrides(m, yaml, p).apply(root);
    } catch (const YAML::Exception& e) {
      throw ModelError(fmt::format("{}: {}", yaml.string(), e.what()));
    }
  }
  fill_derived(m, p);
  return p;
}

Profile profile_for(const Model& m, const std::optional<std::filesystem::path>& yaml) {
  std::vector<fs::path> files;
  if (!m.source.empty()) {
    const fs::path dir = m.source.parent_path();
    for (const fs::path& f : {dir / "profile.yaml", dir / (m.source.stem().string() + ".profile.yaml")})
      if (fs::is_regular_file(f)) files.push_back(f);
  }
  if (yaml) {
    if (!fs::is_regular_file(*yaml)) throw ModelError(fmt::format("{}: no such profile file", yaml->string()));
    files.push_back(*yaml);
  }
  Profile p;
  std::optional<ModelError> failure;
  try {
    p = detect_profile(m);
  } catch (const ModelError& e) {
    if (files.empty()) throw;
    failure = e;
    p = detect_base(m);  // the overrides may name the feet
  }
  for (const fs::path& f : files) p = load_profile(m, f, std::move(p));
  if (failure && (p.left_foot.body < 0 || p.right_foot.body < 0 || p.left_leg.joints.empty())) throw *failure;
  return p;
}

std::string describe_profile(const Model& m, const Profile& p) {
  std::string s;
  auto line = [&](const std::string& text) { s += text + "\n"; };
  auto frame_name = [&](int f) { return f < 0 ? std::string("none") : m.frames[f].name; };
  line(fmt::format("base {}, pelvis {}, torso {}, head {}", body_name(m, p.base_body), body_name(m, p.pelvis_body),
                   body_name(m, p.torso_body), body_name(m, p.head_body)));
  for (const auto& [side, leg, foot] : {std::tuple{"left", &p.left_leg, &p.left_foot}, std::tuple{"right", &p.right_leg, &p.right_foot}}) {
    line(fmt::format("{} leg ({}): {}", side, leg->joints.size(), joint_names(m, leg->joints)));
    line(fmt::format("{} foot {} (frame {}): sole {:.3f} x {:.3f} m, centre [{:.3f}, {:.3f}, {:.3f}]", side,
                     body_name(m, foot->body), frame_name(foot->frame), foot->length, foot->width, foot->sole_center.x(),
                     foot->sole_center.y(), foot->sole_center.z()));
  }
  line(fmt::format("waist ({}): {}", p.waist_joints.size(), joint_names(m, p.waist_joints)));
  for (const auto& [side, arm, hand, frame] : {std::tuple{"left", &p.left_arm, &p.left_hand_joints, p.left_hand_frame},
                                               std::tuple{"right", &p.right_arm, &p.right_hand_joints, p.right_hand_frame}}) {
    if (!*arm) {
      line(fmt::format("{} arm: none", side));
      continue;
    }
    line(fmt::format("{} arm ({}): {}; hand {} (frame {})", side, (*arm)->joints.size(), joint_names(m, (*arm)->joints),
                     body_name(m, (*arm)->end_body), frame_name(frame)));
    if (!hand->empty()) line(fmt::format("{} hand ({}): {}", side, hand->size(), joint_names(m, *hand)));
  }
  line(fmt::format("head ({}): {}", p.head_joints.size(), joint_names(m, p.head_joints)));
  line(fmt::format("nominal: {}; leg length {:.3f} m; CoM height {:.3f} m", p.nominal_source, p.leg_length, p.com_height));
  for (const std::string& o : p.overrides_applied) line("override: " + o);
  return s;
}

}  // namespace oh::model
