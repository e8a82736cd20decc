#include "control/wbc/wbc.hpp"

#include "control/qp/qp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

namespace oh::control {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
/// A support polygon covering at least this share of its bounding box takes that rectangle's yaw-torque cone.
constexpr double kRectangleFill = 0.85;
constexpr int kMaxSupportVertices = 8;
using Mat6X = dynamics::Matrix6Xd;
using Vec6 = Eigen::Matrix<double, 6, 1>;

/// Rotation error log(R_ref R^T) as a world-axis rotation vector [rad].
Eigen::Vector3d orientation_error(const Eigen::Matrix3d& R_ref, const Eigen::Matrix3d& R) {
  const Eigen::AngleAxisd aa(R_ref * R.transpose());
  double angle = aa.angle();
  Eigen::Vector3d axis = aa.axis();
  if (angle > M_PI) angle -= 2 * M_PI;
  return axis * angle;
}

/// The support polygon of a foot in its sole frame (x, y about the sole centre), counter-clockwise, from the
/// collision geometry of the foot body and the jointless bodies welded below it at the nominal configuration:
/// the convex hull of the geometry points within `tol` of the sole plane (sphere and capsule bottoms, box
/// corners, cylinder rims, mesh vertices). At most `max_vertices`: smaller ones are dropped (the least area
/// first), so the polygon stays inside the true support. Falls back to the profile's rectangle.
std::vector<Eigen::Vector2d> foot_support_polygon(const model::Model& m, const model::Profile& prof, const model::Foot& foot,
                                             int max_vertices, double tol = 0.005) {
  const std::vector<Eigen::Isometry3d> X = model::body_poses(m, prof.q_nominal);
  Eigen::Isometry3d sole = X[foot.body] * Eigen::Translation3d(foot.sole_center) * foot.sole_quat;
  const Eigen::Isometry3d to_sole = sole.inverse();
  std::vector<bool> on_foot(m.bodies.size(), false);
  on_foot[foot.body] = true;
  for (size_t b = foot.body + 1; b < m.bodies.size(); ++b)  // parents precede children
    on_foot[b] = m.bodies[b].parent >= 0 && on_foot[m.bodies[b].parent] && m.bodies[b].joints.empty();
  bool any_collision = false;
  for (const model::Geom& g : m.geoms) any_collision = any_collision || (g.collides && on_foot[g.body]);
  std::vector<Eigen::Vector3d> pts;  // sole frame
  for (const model::Geom& g : m.geoms) {
    if (!on_foot[g.body] || (any_collision && !g.collides)) continue;
    const Eigen::Isometry3d G = to_sole * X[g.body] * Eigen::Translation3d(g.pos) * g.quat;
    const Eigen::Vector3d c = G.translation(), axis = G.linear().col(2), s = g.size, down = -Eigen::Vector3d::UnitZ();
    using T = model::Geom::Type;
    if (g.type == T::kSphere) pts.push_back(c + s[0] * down);
    if (g.type == T::kCapsule || g.type == T::kCylinder) {
      Eigen::Vector3d radial = down - down.dot(axis) * axis;  // towards the ground, across the axis
      const bool upright = radial.norm() < 0.5;
      radial = radial.norm() > 1e-9 ? Eigen::Vector3d(radial.normalized()) : Eigen::Vector3d::Zero();
      for (double e : {-1.0, 1.0}) {
        const Eigen::Vector3d end = c + e * s[1] * axis;
        pts.push_back(g.type == T::kCapsule ? Eigen::Vector3d(end + s[0] * down) : Eigen::Vector3d(end + s[0] * radial));
        if (g.type == T::kCylinder && upright)
          for (int k = 0; k < 8; ++k) {
            const double a = k * M_PI / 4;
            pts.push_back(end + s[0] * (std::cos(a) * G.linear().col(0) + std::sin(a) * G.linear().col(1)));
          }
      }
    }
    if (g.type == T::kBox)
      for (int k = 0; k < 8; ++k)
        pts.push_back(G * Eigen::Vector3d((k & 1 ? 1 : -1) * s[0], (k & 2 ? 1 : -1) * s[1], (k & 4 ? 1 : -1) * s[2]));
    if (g.type == T::kMesh && g.mesh >= 0) {
      const auto& v = m.meshes[g.mesh].vertices;
      for (size_t i = 0; i + 2 < v.size(); i += 3) pts.push_back(G * Eigen::Vector3d(v[i], v[i + 1], v[i + 2]));
    }
  }
  double lowest = kInf;
  for (const auto& p : pts) lowest = std::min(lowest, p.z());
  std::vector<Eigen::Vector2d> flat;
  for (const auto& p : pts)
    if (p.z() <= lowest + tol) flat.push_back(p.head<2>());
  std::vector<Eigen::Vector2d> hull = convex_hull(std::move(flat));
  auto cross = [](const Eigen::Vector2d& o, const Eigen::Vector2d& a, const Eigen::Vector2d& b) {
    return (a - o).x() * (b - o).y() - (a - o).y() * (b - o).x();
  };
  auto area = [](const std::vector<Eigen::Vector2d>& P) {
    double a = 0;
    for (size_t i = 0; i < P.size(); ++i) {
      const auto& p = P[i];
      const auto& q = P[(i + 1) % P.size()];
      a += p.x() * q.y() - p.y() * q.x();
    }
    return 0.5 * a;
  };
  if (hull.size() < 3 || area(hull) < 1e-6) {
    hull.clear();
    const double hl = 0.5 * foot.length, hw = 0.5 * foot.width;
    for (auto [a, b] : std::array<std::pair<double, double>, 4>{{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}}})
      hull.emplace_back(a * hl, b * hw);
  }
  while (static_cast<int>(hull.size()) > max_vertices) {
    size_t best = 0;
    double best_loss = kInf;
    for (size_t i = 0; i < hull.size(); ++i) {
      const double loss = cross(hull[(i + hull.size() - 1) % hull.size()], hull[i], hull[(i + 1) % hull.size()]);
      if (loss < best_loss) best = i, best_loss = loss;
    }
    hull.erase(hull.begin() + static_cast<long>(best));
  }
  return hull;
}

/// Bounding box (lo, hi) of a polygon scaled by `scale` about c: the vertices c + scale (v - c). An empty polygon
/// gives lo > hi.
std::pair<Eigen::Vector2d, Eigen::Vector2d> scaled_bounding_box(const std::vector<Eigen::Vector2d>& poly,
                                                                const Eigen::Vector2d& c, double scale) {
  Eigen::Vector2d lo = Eigen::Vector2d::Constant(kInf), hi = Eigen::Vector2d::Constant(-kInf);
  for (const Eigen::Vector2d& v : poly) {
    const Eigen::Vector2d w = c + scale * (v - c);
    lo = lo.cwiseMin(w);
    hi = hi.cwiseMax(w);
  }
  return {lo, hi};
}

}  // namespace

std::vector<Eigen::Vector2d> convex_hull(std::vector<Eigen::Vector2d> flat) {
  if (flat.size() < 3) return flat;
  std::sort(flat.begin(), flat.end(), [](const auto& a, const auto& b) { return a.x() < b.x() || (a.x() == b.x() && a.y() < b.y()); });
  auto cross = [](const Eigen::Vector2d& o, const Eigen::Vector2d& a, const Eigen::Vector2d& b) {
    return (a - o).x() * (b - o).y() - (a - o).y() * (b - o).x();
  };
  std::vector<Eigen::Vector2d> hull(2 * flat.size() + 1);
  size_t k = 0;
  for (size_t i = 0; i < flat.size(); ++i) {
    while (k >= 2 && cross(hull[k - 2], hull[k - 1], flat[i]) <= 1e-12) --k;
    hull[k++] = flat[i];
  }
  for (size_t i = flat.size() - 1, t = k + 1; i > 0; --i) {
    while (k >= t && cross(hull[k - 2], hull[k - 1], flat[i - 1]) <= 1e-12) --k;
    hull[k++] = flat[i - 1];
  }
  hull.resize(k > 0 ? k - 1 : 0);
  return hull;
}

Eigen::Matrix<double, 8, 6> rectangle_yaw_torque_rows(double half_x, double half_y, double mu,
                                                      const Eigen::Vector2d& center) {
  using Row = Eigen::Matrix<double, 1, 6>;
  const double X = std::max(half_x, 0.0), Y = std::max(half_y, 0.0), cx = center.x(), cy = center.y();
  // Components of w = [f_x f_y f_z tau_x tau_y tau_z] as rows; tau' = tau - c x f about the centre (c_z = 0).
  const Row fx = (Row() << 1, 0, 0, 0, 0, 0).finished(), fy = (Row() << 0, 1, 0, 0, 0, 0).finished();
  const Row fz = (Row() << 0, 0, 1, 0, 0, 0).finished();
  const Row tx = (Row() << 0, 0, -cy, 1, 0, 0).finished(), ty = (Row() << 0, 0, cx, 0, 1, 0).finished();
  const Row tz = (Row() << cy, -cx, 0, 0, 0, 1).finished();
  Eigen::Matrix<double, 8, 6> A;
  int r = 0;
  for (const double sx : {-1.0, 1.0}) {
    for (const double sy : {-1.0, 1.0}) {
      // tau'_z + |Y f_x + mu tau'_x| + |X f_y + mu tau'_y| <= mu (X + Y) f_z, one row per sign pattern;
      A.row(r++) = tz + sx * (Y * fx + mu * tx) + sy * (X * fy + mu * ty) - mu * (X + Y) * fz;
      // -tau'_z + |Y f_x - mu tau'_x| + |X f_y - mu tau'_y| <= mu (X + Y) f_z.
      A.row(r++) = -tz + sx * (Y * fx - mu * tx) + sy * (X * fy - mu * ty) - mu * (X + Y) * fz;
    }
  }
  return A;
}

WbcParams WbcParams::defaults(const model::Model& model, const model::Profile& profile) {
  WbcParams p;
  const double g = model.gravity.norm() > 0 ? model.gravity.norm() : 9.81;
  const double h = profile.com_height > 0.1 ? profile.com_height : 0.8;
  const double omega = std::sqrt(g / h);  // LIPM natural frequency [rad/s]
  // CoM servo about 2.5x faster than the pendulum, critically damped.
  const double wn = 2.5 * omega;
  p.kp_com = wn * wn;
  p.kd_com = 2.0 * wn;
  p.passive_sole_roll = !has_ankle_roll(model, profile, 0) || !has_ankle_roll(model, profile, 1);
  p.rectangle_yaw_cone = profile.waist_joints.empty();
  return p;
}

bool WbcParams::has_ankle_roll(const model::Model& model, const model::Profile& profile, int side) {
  const model::Limb& leg = side == 0 ? profile.left_leg : profile.right_leg;
  const model::Foot& foot = side == 0 ? profile.left_foot : profile.right_foot;
  if (leg.joints.empty() || foot.body < 0 || profile.q_nominal.size() != model.nq) return true;
  const std::vector<Eigen::Isometry3d> X = model::body_poses(model, profile.q_nominal);
  const Eigen::Isometry3d sole = X[foot.body] * Eigen::Translation3d(foot.sole_center) * foot.sole_quat;
  auto anchor = [&](const model::Joint& jt) { return (X[jt.body] * jt.pos).eval(); };
  const double leg_length = (anchor(model.joints[leg.joints.front()]) - sole.translation()).norm();
  for (const int j : leg.joints) {
    const model::Joint& jt = model.joints[j];
    if (jt.nv != 1 || jt.type != model::JointType::kRevolute) continue;
    if ((anchor(jt) - sole.translation()).norm() > 0.3 * leg_length) continue;
    if (std::abs((X[jt.body].linear() * jt.axis).normalized().dot(sole.linear().col(0))) > 0.5) return true;
  }
  return false;
}

struct WholeBodyController::Impl {
  model::Model model;
  model::Profile profile;
  dynamics::Model dm;
  dynamics::Data data;
  double dt;
  int nv, n_unact, n_act, n_joint;
  std::vector<int> unact_dofs;           ///< base dofs and 1-DoF joints without actuator
  std::vector<int> act_dofs;             ///< v indices of actuated 1-DoF joints
  std::vector<int> joint_ids;            ///< 1-DoF joints (output order)
  std::vector<int> joint_actuated;       ///< per output joint: 1 if it has an actuator
  Eigen::VectorXd tau_max;               ///< per dof, +inf when unknown
  std::array<int, 2> sole_frame{}, hand_frame{-1, -1};
  int torso_frame = 0, pelvis_frame = 0;
  std::array<std::vector<Eigen::Vector2d>, 2> support;  ///< support polygons, sole frame, counter-clockwise
  std::array<Eigen::Vector2d, 2> support_centroid;
  /// The yaw torque's bound per foot: the cone of the polygon's bounding box (centre, half-extents; sole frame)
  /// when yaw_rectangle, else |tau_z| <= mu torsion_radius f_z.
  std::array<bool, 2> yaw_rectangle{};
  std::array<Eigen::Vector2d, 2> yaw_box_center{}, yaw_box_half{};
  std::array<double, 2> torsion_radius{};
  double mass = 0;

  Mat6X J_sole[2], J_tmp, J_torso, J_pelvis;
  Vec6 drift_sole_local[2], drift_sole_lwa[2];
  Eigen::Vector3d drift_hand[2];
  Eigen::Matrix<double, 3, Eigen::Dynamic> J_hand[2];
  Eigen::Matrix3Xd Jcom, Jang;
  Eigen::Vector3d drift_com;
  Eigen::VectorXd zero_a;
  /// swing_momentum_map's least-squares scratch (sized once: the map runs in the control loop).
  Eigen::MatrixXd swing_A, swing_B, swing_V;
  Eigen::ColPivHouseholderQR<Eigen::MatrixXd> swing_qr;
  Eigen::VectorXd q_des, v_des;          ///< integrated joint references (n_joint)
  bool have_reference = false;
  qp::QpProblem prob;
  qp::QpSolver solver;
  WbcOutput out;

  Impl(const model::Model& source, const model::Profile& prof, double dt_)
      : model(with_soles(source, prof)), profile(prof), dm(model), data(dm), dt(dt_) {}

  static model::Model with_soles(const model::Model& source, const model::Profile& prof) {
    model::Model m = source;
    const model::Foot* feet[2] = {&prof.left_foot, &prof.right_foot};
    const char* names[2] = {"__wbc_left_sole", "__wbc_right_sole"};
    for (int i = 0; i < 2; ++i)
      m.frames.push_back({names[i], model::Frame::Kind::kSite, feet[i]->body, feet[i]->sole_center, feet[i]->sole_quat});
    return m;
  }
};

WholeBodyController::WholeBodyController(const model::Model& model, const model::Profile& profile, double dt,
                                         std::optional<WbcParams> params)
    : impl_(std::make_unique<Impl>(model, profile, dt)),
      params_(params ? *params : WbcParams::defaults(model, profile)) {
  Impl& s = *impl_;
  if (!model.has_floating_base()) throw std::invalid_argument("WholeBodyController: the model has no floating base");
  s.nv = s.dm.nv;
  const int n_frames = static_cast<int>(s.model.frames.size());
  s.sole_frame = {n_frames - 2, n_frames - 1};
  s.hand_frame = {profile.left_hand_frame, profile.right_hand_frame};
  s.torso_frame = s.dm.body_frame[profile.torso_body];
  s.pelvis_frame = s.dm.body_frame[profile.base_body];
  s.mass = model.total_mass();
  s.tau_max = Eigen::VectorXd::Constant(s.nv, kInf);
  for (int d = 0; d < 6; ++d) s.unact_dofs.push_back(d);
  for (size_t j = 0; j < model.joints.size(); ++j) {
    const auto& jt = model.joints[j];
    if (jt.nv != 1) continue;
    s.joint_ids.push_back(static_cast<int>(j));
    const bool act = model.actuator_for_joint(static_cast<int>(j)) >= 0;
    s.joint_actuated.push_back(act ? 1 : 0);
    (act ? s.act_dofs : s.unact_dofs).push_back(jt.v_index);
    if (jt.effort_limit > 0) s.tau_max[jt.v_index] = jt.effort_limit;
  }
  s.n_unact = static_cast<int>(s.unact_dofs.size());
  s.n_act = static_cast<int>(s.act_dofs.size());
  s.n_joint = static_cast<int>(s.joint_ids.size());

  const model::Foot* feet[2] = {&profile.left_foot, &profile.right_foot};
  int n_cone = 0;
  for (int i = 0; i < 2; ++i) {
    s.support[i] = foot_support_polygon(s.model, profile, *feet[i], kMaxSupportVertices);
    const auto& poly = s.support[i];
    // Area centroid of the polygon; the torsion radius is its distance to the nearest edge.
    double a2 = 0;
    Eigen::Vector2d ctr = Eigen::Vector2d::Zero();
    for (size_t k = 0; k < poly.size(); ++k) {
      const Eigen::Vector2d& p = poly[k];
      const Eigen::Vector2d& q = poly[(k + 1) % poly.size()];
      const double cr = p.x() * q.y() - p.y() * q.x();
      a2 += cr;
      ctr += cr * (p + q);
    }
    s.support_centroid[i] = ctr / (3.0 * a2);
    // With WbcParams::rectangle_yaw_cone, a sole whose polygon nearly fills its bounding box (at least
    // kRectangleFill of its area: four corner spheres, a box) takes the exact cone of that rectangle (Caron et al.
    // 2015), whose corners' friction resists a turn (G1's sole: mu (X + Y) = mu 0.115 m of normal force against
    // mu 0.025 m for the disc about its centroid). Any other polygon (a line-and-toe-bar triangle) keeps
    // |tau_z| <= mu r f_z with r the centroid's distance to the nearest edge: a rectangle inside it would also
    // confine the centre of pressure to that rectangle. The rows are sized for the rectangle (the flag may change
    // after construction); unused ones stay free.
    const auto [lo, hi] = scaled_bounding_box(poly, s.support_centroid[i], 1.0);
    const double box_area = (hi - lo).prod();
    s.yaw_rectangle[i] = !poly.empty() && box_area > 0 && 0.5 * a2 >= kRectangleFill * box_area;
    s.yaw_box_center[i] = 0.5 * (lo + hi);
    s.yaw_box_half[i] = 0.5 * (hi - lo);
    double r = kInf;
    for (size_t k = 0; k < poly.size(); ++k) {
      const Eigen::Vector2d d = poly[(k + 1) % poly.size()] - poly[k];
      r = std::min(r, std::abs(d.x() * (s.support_centroid[i] - poly[k]).y() - d.y() * (s.support_centroid[i] - poly[k]).x()) / d.norm());
    }
    s.torsion_radius[i] = r;
    n_cone += (s.yaw_rectangle[i] ? 12 : 6) + static_cast<int>(poly.size());
  }
  const int n = s.nv + 12, n_eq = s.n_unact + 12, n_ineq = s.n_act + n_cone;
  s.prob.resize(n, n_eq, n_ineq);
  s.solver.resize(n, n_eq, n_ineq);
  s.solver.settings().regularization = 0.0;
  for (int i = 0; i < 2; ++i) {
    s.J_sole[i].setZero(6, s.nv);
    s.J_hand[i].setZero(3, s.nv);
  }
  s.J_tmp.setZero(6, s.nv);
  s.J_torso.setZero(6, s.nv);
  s.J_pelvis.setZero(6, s.nv);
  s.Jcom.setZero(3, s.nv);
  s.Jang.setZero(3, s.nv);
  s.zero_a = Eigen::VectorXd::Zero(s.nv);
  s.swing_A.setZero(6 + 6 + 3 + 3 + 3 + s.nv, s.nv);
  s.swing_B.setZero(s.swing_A.rows(), 3);
  s.swing_V.setZero(s.nv, 3);
  s.swing_qr = Eigen::ColPivHouseholderQR<Eigen::MatrixXd>(s.swing_A.rows(), s.nv);
  s.q_des = Eigen::VectorXd::Zero(s.n_joint);
  s.v_des = Eigen::VectorXd::Zero(s.n_joint);
  WbcOutput& o = s.out;
  o.a = Eigen::VectorXd::Zero(s.nv);
  for (Eigen::VectorXd* x : {&o.tau, &o.q_ref, &o.dq_ref, &o.kp, &o.kd}) *x = Eigen::VectorXd::Zero(s.n_joint);
  o.wrench = {Vec6::Zero(), Vec6::Zero()};
}

WholeBodyController::~WholeBodyController() = default;

const dynamics::Model& WholeBodyController::dynamics_model() const { return impl_->dm; }
double WholeBodyController::mass() const { return impl_->mass; }

Eigen::Isometry3d WholeBodyController::sole_pose(const Eigen::VectorXd& q, int side) {
  Impl& s = *impl_;
  dynamics::forward_kinematics(s.dm, s.data, q);
  const dynamics::SE3& X = dynamics::frame_placement(s.dm, s.data, s.sole_frame[side]);
  Eigen::Isometry3d T = Eigen::Isometry3d::Identity();
  T.linear() = X.R;
  T.translation() = X.p;
  return T;
}

Eigen::Vector3d WholeBodyController::hand_position(const Eigen::VectorXd& q, int side) {
  Impl& s = *impl_;
  if (s.hand_frame[side] < 0) return Eigen::Vector3d::Constant(std::nan(""));
  dynamics::forward_kinematics(s.dm, s.data, q);
  return dynamics::frame_placement(s.dm, s.data, s.hand_frame[side]).p;
}

Eigen::Vector3d WholeBodyController::support_center(const Eigen::VectorXd& q, int side) {
  const Eigen::Vector2d& c = impl_->support_centroid[side];
  return sole_pose(q, side) * Eigen::Vector3d(c.x(), c.y(), 0.0);
}

std::vector<Eigen::Vector3d> WholeBodyController::support_polygon(const Eigen::VectorXd& q, int side) {
  const Eigen::Isometry3d X = sole_pose(q, side);
  std::vector<Eigen::Vector3d> out;
  for (const Eigen::Vector2d& v : impl_->support[side]) out.push_back(X * Eigen::Vector3d(v.x(), v.y(), 0.0));
  return out;
}

std::vector<Eigen::Vector2d> WholeBodyController::support_hull(const Eigen::VectorXd& q) {
  std::vector<Eigen::Vector2d> pts;
  for (int i = 0; i < 2; ++i)
    for (const Eigen::Vector3d& v : support_polygon(q, i)) pts.push_back(v.head<2>());
  return convex_hull(std::move(pts));
}

Eigen::Vector3d WholeBodyController::com(const Eigen::VectorXd& q) {
  return dynamics::center_of_mass(impl_->dm, impl_->data, q);
}

Eigen::Quaterniond WholeBodyController::torso_orientation(const Eigen::VectorXd& q) {
  Impl& s = *impl_;
  dynamics::forward_kinematics(s.dm, s.data, q);
  return Eigen::Quaterniond(dynamics::frame_placement(s.dm, s.data, s.torso_frame).R);
}

Eigen::Matrix3d WholeBodyController::swing_momentum_map(const Eigen::VectorXd& q, int swing_side) {
  Impl& s = *impl_;
  const WbcParams& P = params_;
  const int nv = s.nv, stance = 1 - swing_side;
  using dynamics::ReferenceFrame;
  dynamics::forward_kinematics(s.dm, s.data, q);
  dynamics::update_frame_placements(s.dm, s.data);
  dynamics::compute_joint_jacobians(s.dm, s.data);
  // Weighted rows sqrt(w) J v = sqrt(w) r: stance sole fixed, swing sole moving at the unit velocity (columns of
  // the right-hand side) without turning, CoM and torso/base orientation held, posture.
  Eigen::MatrixXd& A = s.swing_A;
  Eigen::MatrixXd& B = s.swing_B;
  A.setZero();
  B.setZero();
  Eigen::Index r = 0;
  auto rows = [&](const auto& J, double w) {
    A.middleRows(r, J.rows()) = std::sqrt(w) * J;
    r += J.rows();
  };
  const double w_hard = 1e4 * std::max(P.w_com, 1.0);
  dynamics::frame_jacobian(s.dm, s.data, s.sole_frame[stance], ReferenceFrame::kLocal, s.J_tmp);
  rows(s.J_tmp, w_hard);
  dynamics::frame_jacobian(s.dm, s.data, s.sole_frame[swing_side], ReferenceFrame::kLocalWorldAligned, s.J_tmp);
  B.middleRows<3>(r) = std::sqrt(w_hard) * Eigen::Matrix3d::Identity();
  rows(s.J_tmp, w_hard);
  rows(dynamics::jacobian_center_of_mass(s.dm, s.data, q), std::max(P.w_com, 1e-6));
  dynamics::frame_jacobian(s.dm, s.data, s.torso_frame, ReferenceFrame::kLocalWorldAligned, s.J_torso);
  rows(s.J_torso.bottomRows<3>(), std::max(P.w_torso, 1e-6));
  dynamics::frame_jacobian(s.dm, s.data, s.pelvis_frame, ReferenceFrame::kLocalWorldAligned, s.J_pelvis);
  rows(s.J_pelvis.bottomRows<3>(), std::max(P.w_pelvis, 1e-6));
  for (int d = 6; d < nv; ++d) A(r + d, d) = std::sqrt(std::max(P.w_posture, 1e-6));
  for (int d = 0; d < 6; ++d) A(r + d, d) = std::sqrt(P.w_acc);
  s.swing_qr.compute(A);  // QR: the weights span 13 decades
  s.swing_V.noalias() = s.swing_qr.solve(B);  // nv x 3
  const auto& Ag = dynamics::ccrba(s.dm, s.data, q, s.zero_a);
  return Ag.bottomRows<3>() * s.swing_V;
}

const WbcOutput& WholeBodyController::update(const Eigen::VectorXd& q, const Eigen::VectorXd& v,
                                             const WbcTargets& tg) {
  Impl& s = *impl_;
  const WbcParams& P = params_;
  WbcOutput& o = s.out;
  const int nv = s.nv;
  using dynamics::ReferenceFrame;

  // --- Kinematics, Jacobians and drift terms (a = 0). ---
  dynamics::forward_kinematics(s.dm, s.data, q, v, s.zero_a);
  dynamics::compute_joint_jacobians(s.dm, s.data);
  dynamics::SE3 X_sole[2];
  Vec6 v_sole_lwa[2];
  for (int i = 0; i < 2; ++i) {
    X_sole[i] = dynamics::frame_placement(s.dm, s.data, s.sole_frame[i]);
    dynamics::frame_jacobian(s.dm, s.data, s.sole_frame[i], ReferenceFrame::kLocal, s.J_sole[i]);
    s.drift_sole_local[i] = dynamics::frame_acceleration(s.dm, s.data, s.sole_frame[i], ReferenceFrame::kLocal).vector();
    s.drift_sole_lwa[i] =
        dynamics::frame_classical_acceleration(s.dm, s.data, s.sole_frame[i], ReferenceFrame::kLocalWorldAligned).vector();
    v_sole_lwa[i] = dynamics::frame_velocity(s.dm, s.data, s.sole_frame[i], ReferenceFrame::kLocalWorldAligned).vector();
    if (s.hand_frame[i] >= 0 && tg.hand[i]) {
      dynamics::frame_placement(s.dm, s.data, s.hand_frame[i]);
      dynamics::frame_jacobian(s.dm, s.data, s.hand_frame[i], ReferenceFrame::kLocalWorldAligned, s.J_tmp);
      s.J_hand[i] = s.J_tmp.topRows<3>();
      s.drift_hand[i] =
          dynamics::frame_classical_acceleration(s.dm, s.data, s.hand_frame[i], ReferenceFrame::kLocalWorldAligned).linear;
    }
  }
  s.Jcom = dynamics::jacobian_center_of_mass(s.dm, s.data, q);
  const Eigen::Vector3d com = s.data.com;
  const Eigen::Vector3d vcom = s.Jcom * v;
  const dynamics::Force dhg_bias = dynamics::compute_centroidal_momentum_time_variation(s.dm, s.data, q, v, s.zero_a);
  s.drift_com = dhg_bias.linear / s.data.mass;
  Eigen::Vector3d L = Eigen::Vector3d::Zero();
  if (P.w_ang_mom > 0) {
    const auto& Ag = dynamics::ccrba(s.dm, s.data, q, v);
    s.Jang = Ag.bottomRows<3>();
    L = s.data.hg.angular;
  }
  const Eigen::MatrixXd& M = dynamics::crba(s.dm, s.data, q);
  const Eigen::VectorXd& h = dynamics::nonlinear_effects(s.dm, s.data, q, v);

  // --- Cost. ---
  qp::QpProblem& pr = s.prob;
  pr.H.setZero();
  pr.g.setZero();
  auto Haa = pr.H.topLeftCorner(nv, nv);
  auto ga = pr.g.head(nv);
  auto add_task = [&](const auto& J, const auto& r, double w) {
    Haa.noalias() += w * J.transpose() * J;
    ga.noalias() -= w * J.transpose() * r;
  };
  {
    const Eigen::Vector3d a_des = tg.com_acc + P.kp_com * (tg.com - com) + P.kd_com * (tg.com_vel - vcom);
    add_task(s.Jcom, a_des - s.drift_com, P.w_com);
  }
  if (P.w_ang_mom > 0) {
    // Centroidal angular momentum damped toward zero: dL/dt = -kd_ang_mom L (the LIPM's assumption).
    const Eigen::Vector3d dL_des = -P.kd_ang_mom * L;
    add_task(s.Jang, dL_des - dhg_bias.angular, P.w_ang_mom);
  }
  // Orientation of a frame (world <- frame) as a PD on its angular acceleration, gains kp_torso/kd_torso. The
  // rows are taken in the target's heading frame (x forward: roll, y: pitch, z: yaw), roll scaled by roll_scale.
  auto add_orientation_task = [&](int frame, Mat6X& J, const Eigen::Matrix3d& R_target, double w, double roll_scale) {
    const dynamics::SE3 X = dynamics::frame_placement(s.dm, s.data, frame);
    dynamics::frame_jacobian(s.dm, s.data, frame, ReferenceFrame::kLocalWorldAligned, J);
    const Eigen::Vector3d drift =
        dynamics::frame_acceleration(s.dm, s.data, frame, ReferenceFrame::kLocalWorldAligned).angular;
    const Eigen::Vector3d omega = dynamics::frame_velocity(s.dm, s.data, frame, ReferenceFrame::kLocalWorldAligned).angular;
    const Eigen::Vector3d a_des = P.kp_torso * orientation_error(R_target, X.R) - P.kd_torso * omega;
    if (roll_scale == 1.0) {
      add_task(J.bottomRows<3>(), a_des - drift, w);
      return;
    }
    const double yaw = std::atan2(R_target(1, 0), R_target(0, 0));
    Eigen::Matrix3d S = Eigen::AngleAxisd(-yaw, Eigen::Vector3d::UnitZ()).toRotationMatrix();
    S.row(0) *= std::sqrt(std::max(roll_scale, 0.0));
    add_task(S * J.bottomRows<3>(), S * (a_des - drift), w);
  };
  add_orientation_task(s.torso_frame, s.J_torso, tg.torso.toRotationMatrix(), P.w_torso, 1.0);
  // Base (pelvis) orientation: keeps the legs' root level while the waist lets the torso move.
  if (P.w_pelvis > 0 && tg.pelvis)
    add_orientation_task(s.pelvis_frame, s.J_pelvis, tg.pelvis->toRotationMatrix(), P.w_pelvis, P.pelvis_roll_scale);
  for (int i = 0; i < 2; ++i) {
    if (!tg.contact[i]) {
      Vec6 e;
      e.head<3>() = tg.foot[i].translation() - X_sole[i].p;
      e.tail<3>() = orientation_error(tg.foot[i].linear(), X_sole[i].R);
      const Vec6 a_des = P.kp_swing * e + P.kd_swing * (tg.foot_vel[i] - v_sole_lwa[i]);
      dynamics::frame_jacobian(s.dm, s.data, s.sole_frame[i], ReferenceFrame::kLocalWorldAligned, s.J_tmp);
      if (P.passive_sole_roll) {
        // The swing sole's roll (about its own x axis) is left to the leg: the angular rows lose that component.
        Eigen::Matrix<double, 6, 6> S = Eigen::Matrix<double, 6, 6>::Identity();
        const Eigen::Vector3d x = X_sole[i].R.col(0);
        S.bottomRightCorner<3, 3>() -= x * x.transpose();
        add_task(S * s.J_tmp, S * (a_des - s.drift_sole_lwa[i]), P.w_swing);
      } else {
        add_task(s.J_tmp, a_des - s.drift_sole_lwa[i], P.w_swing);
      }
    }
    if (s.hand_frame[i] >= 0 && tg.hand[i]) {
      const Eigen::Vector3d p = s.data.oMf[s.hand_frame[i]].p;
      const Eigen::Vector3d vh = s.J_hand[i] * v;
      const Eigen::Vector3d a_des = P.kp_hand * (*tg.hand[i] - p) - P.kd_hand * vh;
      add_task(s.J_hand[i], a_des - s.drift_hand[i], P.w_hand);
    }
  }
  for (int k = 0; k < s.n_joint; ++k) {
    const auto& jt = s.model.joints[s.joint_ids[k]];
    const int d = jt.v_index;
    const double qd = tg.q_posture.size() == q.size() ? tg.q_posture[jt.q_index] : s.profile.q_nominal[jt.q_index];
    const double a_des = P.kp_posture * (qd - q[jt.q_index]) - P.kd_posture * v[d];
    const double w_post = P.w_posture * (tg.posture_scale.size() == nv ? tg.posture_scale[d] : 1.0);
    pr.H(d, d) += w_post;
    pr.g[d] -= w_post * a_des;
  }
  for (int d = 0; d < nv; ++d) pr.H(d, d) += P.w_acc;
  const int n_contact = int(tg.contact[0]) + int(tg.contact[1]);
  const double g_norm = s.dm.gravity.norm();
  // Reference wrenches. Without a ZMP target: the weight split evenly, each centre of pressure at its
  // polygon's centroid. With one (a walking pattern's ZMP): the force m (c''_des + g) shared between the feet in
  // contact in proportion to where the ZMP lies on the segment between them, the stance foot's centre of
  // pressure at the ZMP in single support (at the centroid moved across the segment by the ZMP's offset in
  // double support), clamped to the scaled support polygon's bounding box.
  std::array<double, 2> share{0.0, 0.0};
  if (tg.zmp && n_contact == 2) {
    auto centroid_world = [&](int i) {
      return (X_sole[i].p + X_sole[i].R * Eigen::Vector3d(s.support_centroid[i].x(), s.support_centroid[i].y(), 0.0))
          .head<2>()
          .eval();
    };
    const Eigen::Vector2d a = centroid_world(0), b = centroid_world(1);
    const double len2 = (b - a).squaredNorm();
    const double t = len2 > 1e-9 ? std::clamp((*tg.zmp - a).dot(b - a) / len2, 0.0, 1.0) : 0.5;
    share = {1.0 - t, t};
  } else {
    for (int i = 0; i < 2; ++i) share[i] = tg.contact[i] && n_contact > 0 ? 1.0 / n_contact : 0.0;
  }
  const Eigen::Vector3d f_total =
      s.mass * (Eigen::Vector3d(tg.com_acc.x(), tg.com_acc.y(), 0.0) - s.dm.gravity);
  for (int i = 0; i < 2; ++i) {
    const int c = nv + 6 * i;
    Vec6 w_ref = Vec6::Zero();
    if (tg.contact[i] && n_contact > 0) {
      if (tg.zmp) {
        const Eigen::Vector3d f = X_sole[i].R.transpose() * (share[i] * f_total);
        Eigen::Vector2d p = s.support_centroid[i];
        const Eigen::Vector3d zmp_world(tg.zmp->x(), tg.zmp->y(), X_sole[i].p.z());
        const Eigen::Vector3d z_local = X_sole[i].R.transpose() * (zmp_world - X_sole[i].p);
        if (n_contact == 1) {
          p = z_local.head<2>();
        } else {
          const Eigen::Vector3d other = X_sole[i].R.transpose() * (X_sole[1 - i].p - X_sole[i].p);
          Eigen::Vector2d u = other.head<2>();
          u = u.norm() > 1e-9 ? Eigen::Vector2d(u / u.norm()) : Eigen::Vector2d::UnitX();
          const Eigen::Vector2d n(-u.y(), u.x());
          p += n * n.dot(z_local.head<2>() - s.support_centroid[i]);
        }
        const auto [lo, hi] = scaled_bounding_box(s.support[i], s.support_centroid[i], P.cop_scale);
        if (lo.x() <= hi.x()) p = p.cwiseMax(lo).cwiseMin(hi);
        w_ref.head<3>() = f;
        w_ref[3] = p.y() * f.z();
        w_ref[4] = -p.x() * f.z();
        w_ref[5] = p.x() * f.y() - p.y() * f.x();
      } else {
        w_ref[2] = s.mass * g_norm * share[i];
        w_ref[3] = s.support_centroid[i].y() * w_ref[2];
        w_ref[4] = -s.support_centroid[i].x() * w_ref[2];
      }
    }
    for (int k = 0; k < 6; ++k) {
      const double w = k == 3 || k == 4 ? P.w_cop : P.w_force;
      pr.H(c + k, c + k) += w;
      pr.g[c + k] -= w * w_ref[k];
    }
  }

  // --- Equalities: unactuated rows of the equations of motion, then contacts. ---
  pr.A_eq.setZero();
  for (int r = 0; r < s.n_unact; ++r) {
    const int d = s.unact_dofs[r];
    pr.A_eq.row(r).head(nv) = M.row(d);
    for (int i = 0; i < 2; ++i) pr.A_eq.row(r).segment<6>(nv + 6 * i) = -s.J_sole[i].col(d).transpose();
    pr.b_eq[r] = -h[d];
  }
  for (int i = 0; i < 2; ++i) {
    const int r0 = s.n_unact + 6 * i;
    if (tg.contact[i]) {
      pr.A_eq.block(r0, 0, 6, nv) = s.J_sole[i];
      pr.b_eq.segment<6>(r0) = -s.drift_sole_local[i] - P.k_contact * (s.J_sole[i] * v);
      if (P.passive_sole_roll) {
        // Line contact: the roll row (sole x) becomes m_x - c_y f_z = 0, the roll itself is free.
        pr.A_eq.row(r0 + 3).setZero();
        pr.A_eq(r0 + 3, nv + 6 * i + 3) = 1.0;
        pr.A_eq(r0 + 3, nv + 6 * i + 2) = -s.support_centroid[i].y();
        pr.b_eq[r0 + 3] = 0.0;
      }
    } else {
      pr.A_eq.block<6, 6>(r0, nv + 6 * i).setIdentity();
      pr.b_eq.segment<6>(r0).setZero();
    }
  }

  // --- Inequalities: torque limits, then the contact wrench cones. ---
  pr.C.setZero();
  for (int r = 0; r < s.n_act; ++r) {
    const int d = s.act_dofs[r];
    pr.C.row(r).head(nv) = M.row(d);
    for (int i = 0; i < 2; ++i) pr.C.row(r).segment<6>(nv + 6 * i) = -s.J_sole[i].col(d).transpose();
    pr.l[r] = -s.tau_max[d] - h[d];
    pr.u[r] = s.tau_max[d] - h[d];
  }
  for (int i = 0, r0 = s.n_act; i < 2; ++i) {
    const int c = nv + 6 * i;
    const bool rectangle = P.rectangle_yaw_cone && s.yaw_rectangle[i];
    const double mu = P.mu, mu_z = mu * s.torsion_radius[i] * P.cop_scale;
    // |f_x|, |f_y| <= mu f_z (and |tau_z| <= mu r f_z unless the rectangle's cone bounds it), two rows each:
    // comp - coef fz <= 0 <= comp + coef fz.
    for (const auto& [comp, coef] : std::array<std::pair<int, double>, 3>{{{0, mu}, {1, mu}, {5, mu_z}}}) {
      if (comp == 5 && rectangle) continue;
      for (const double sgn : {-1.0, 1.0}) {
        pr.C(r0, c + comp) = 1.0;
        pr.C(r0, c + 2) = sgn * coef;
        pr.l[r0] = sgn < 0 ? -kInf : 0.0;
        pr.u[r0] = sgn < 0 ? 0.0 : kInf;
        ++r0;
      }
    }
    if (rectangle) {
      // The bounding box's cone, scaled about the centroid like the centre of pressure's polygon.
      const Eigen::Vector2d ctr = s.support_centroid[i] + P.cop_scale * (s.yaw_box_center[i] - s.support_centroid[i]);
      const Eigen::Vector2d half = P.cop_scale * s.yaw_box_half[i];
      pr.C.block<8, 6>(r0, c) = rectangle_yaw_torque_rows(half.x(), half.y(), mu, ctr);
      pr.l.segment<8>(r0).setConstant(-kInf);
      pr.u.segment<8>(r0).setZero();
      r0 += 8;
    } else if (s.yaw_rectangle[i]) {
      pr.l.segment<6>(r0).setConstant(-kInf);  // the rectangle's rows left unused: free
      pr.u.segment<6>(r0).setConstant(kInf);
      r0 += 6;
    }
    // Centre of pressure p = (-tau_y, tau_x) / f_z inside the support polygon scaled about its centroid:
    // n . p <= n . v for each edge (outward normal n through vertex v).
    const auto& poly = s.support[i];
    const Eigen::Vector2d& ctr = s.support_centroid[i];
    for (size_t k = 0; k < poly.size(); ++k) {
      const Eigen::Vector2d a = ctr + P.cop_scale * (poly[k] - ctr);
      const Eigen::Vector2d b = ctr + P.cop_scale * (poly[(k + 1) % poly.size()] - ctr);
      const Eigen::Vector2d n = Eigen::Vector2d(b.y() - a.y(), a.x() - b.x()).normalized();
      pr.C(r0, c + 4) = -n.x();
      pr.C(r0, c + 3) = n.y();
      pr.C(r0, c + 2) = -n.dot(a);
      pr.l[r0] = -kInf;
      pr.u[r0] = 0.0;
      ++r0;
    }
  }

  // --- Bounds: joint limits as acceleration bounds; minimum normal force. ---
  pr.lb.setConstant(-kInf);
  pr.ub.setConstant(kInf);
  const double T = P.limit_horizon;
  for (int k = 0; k < s.n_joint; ++k) {
    const auto& jt = s.model.joints[s.joint_ids[k]];
    const int d = jt.v_index;
    double lo = -kInf, hi = kInf;
    if (jt.limited) {
      const double qj = q[jt.q_index], dqj = v[d];
      lo = 2.0 * (jt.lower - qj - dqj * T) / (T * T);
      hi = 2.0 * (jt.upper - qj - dqj * T) / (T * T);
    }
    if (jt.velocity_limit > 0) {
      lo = std::max(lo, (-jt.velocity_limit - v[d]) / s.dt);
      hi = std::min(hi, (jt.velocity_limit - v[d]) / s.dt);
    }
    // Outside a limit the bound pair may cross: keep the one that pushes back inside, never an empty box.
    if (lo > hi) lo = hi = 0.5 * (lo + hi);
    pr.lb[d] = lo;
    pr.ub[d] = hi;
  }
  for (int i = 0; i < 2; ++i)
    if (tg.contact[i]) pr.lb[nv + 6 * i + 2] = P.f_min;

  // --- Solve and map to joint commands. ---
  // An infeasible problem (a joint already past a limit, torque limits that cannot hold the contacts) is
  // relaxed in steps: first the joint-limit acceleration bounds, then the torque limits (the result is then
  // clamped to the limits). The status says which relaxation was needed.
  qp::QpStatus status = s.solver.solve(pr, /*warm_start=*/true);
  o.status = qp::to_string(status);
  if (status == qp::QpStatus::kInfeasible) {
    pr.lb.head(nv).setConstant(-kInf);
    pr.ub.head(nv).setConstant(kInf);
    s.solver.clear_active_set();
    status = s.solver.solve(pr, false);
    o.status = std::string(qp::to_string(status)) + " (joint limits relaxed)";
    if (status == qp::QpStatus::kInfeasible) {
      pr.l.head(s.n_act).setConstant(-kInf);
      pr.u.head(s.n_act).setConstant(kInf);
      status = s.solver.solve(pr, false);
      o.status = std::string(qp::to_string(status)) + " (joint and torque limits relaxed)";
    }
  }
  o.ok = status == qp::QpStatus::kOptimal;
  o.qp_iterations = s.solver.solution().iterations;
  if (o.ok) {
    const Eigen::VectorXd& x = s.solver.solution().x;
    o.a = x.head(nv);
    for (int i = 0; i < 2; ++i) o.wrench[i] = x.segment<6>(nv + 6 * i);
    o.com_acc = s.Jcom * o.a + s.drift_com;
  } else {
    o.com_acc.setZero();
    s.solver.clear_active_set();
    o.a.setZero();
    for (int i = 0; i < 2; ++i) o.wrench[i].setZero();
  }
  // Joint references: a desired state integrated from the previous tick's desired state with the QP's
  // accelerations, kept within a band around the measurement so it cannot drift away. The PD then acts on
  // genuine tracking errors; references built from the measurement alone (q + v dt) would turn the PD into
  // positive velocity feedback.
  const double w = P.joint_omega;
  const bool first = !s.have_reference;
  s.have_reference = true;
  for (int k = 0; k < s.n_joint; ++k) {
    const auto& jt = s.model.joints[s.joint_ids[k]];
    const int d = jt.v_index;
    double tau = M.row(d).dot(o.a) + h[d];
    for (int i = 0; i < 2; ++i) tau -= s.J_sole[i].col(d).dot(o.wrench[i]);
    tau += jt.damping * v[d];  // MuJoCo applies -damping * v as a passive force
    if (!s.joint_actuated[k]) tau = 0.0;
    o.tau[k] = std::clamp(tau, -s.tau_max[d], s.tau_max[d]);
    const double qm = q[jt.q_index], vm = v[d];
    double qd = first ? qm : s.q_des[k], vd = first ? vm : s.v_des[k];
    qd = std::clamp(qd, qm - P.reference_band_q, qm + P.reference_band_q);
    vd = std::clamp(vd, vm - P.reference_band_v, vm + P.reference_band_v);
    o.q_ref[k] = qd;
    o.dq_ref[k] = vd;
    s.q_des[k] = qd + vd * s.dt + 0.5 * o.a[d] * s.dt * s.dt;
    s.v_des[k] = vd + o.a[d] * s.dt;
    const double Mjj = M(d, d);
    o.kp[k] = s.joint_actuated[k] ? Mjj * w * w : 0.0;
    o.kd[k] = s.joint_actuated[k] ? 2.0 * Mjj * w : 0.0;
  }
  return o;
}

}  // namespace oh::control
