// Spatial (6-D) algebra for rigid-body dynamics, after Featherstone, "Rigid Body Dynamics Algorithms"
// (Springer 2008), chapter 2, with Pinocchio's conventions:
//
//   * A motion (twist) m = [v; w] and a force (wrench) f = [f; n] are ordered [linear; angular]
//     (Featherstone orders them [angular; linear]). The linear part of a motion is the velocity of the
//     body-fixed point that coincides with the origin of the frame the motion is expressed in; the
//     angular part of a force is the moment about that origin.
//   * An SE3 placement aMb = (R, p) maps coordinates in frame b to frame a: x_a = R x_b + p. act()
//     moves a spatial vector from b to a coordinates (Featherstone's aXb and aXb*), act_inv() the other
//     way.
//   * A spatial inertia is (mass m, centre of mass c, rotational inertia Ic about c); Featherstone
//     eq. 2.63. InertiaAtOrigin is the same inertia stored as (m, h = m c, Io about the frame origin),
//     whose sum is a plain sum: we use it for composite inertias expressed in the world frame.
//
// Every type here is fixed-size, allocation free and inline. Default construction leaves the
// members uninitialised (as Eigen does); use Zero() / Identity().
#pragma once

#include <Eigen/Core>
#include <Eigen/Geometry>

#include <algorithm>

namespace oh::dynamics {

using Vec3 = Eigen::Vector3d;
using Mat3 = Eigen::Matrix3d;
using Vec6 = Eigen::Matrix<double, 6, 1>;
using Mat6 = Eigen::Matrix<double, 6, 6>;
using Matrix6Xd = Eigen::Matrix<double, 6, Eigen::Dynamic>;
using Matrix3Xd = Eigen::Matrix<double, 3, Eigen::Dynamic>;

/// The skew-symmetric matrix [v]x with [v]x u = v x u.
inline Mat3 skew(const Vec3& v) {
  Mat3 s;
  s << 0, -v.z(), v.y(), v.z(), 0, -v.x(), -v.y(), v.x(), 0;
  return s;
}

// Scalar kernels for 3-vectors, used where they measured faster. At -O2 (no -march=native) Eigen
// evaluates a 3-vector half with an SSE2 packet and half scalar, and a packet load of a just-stored
// cross product stalls on store forwarding; element-wise code keeps such chains in registers. This
// matters in act_inv(Motion), on the critical path of every velocity/acceleration recursion.
namespace kernel {
/// c - a x b.
inline Vec3 cross_sub(const Vec3& c, const Vec3& a, const Vec3& b) {
  return Vec3(c[0] - a[1] * b[2] + a[2] * b[1], c[1] - a[2] * b[0] + a[0] * b[2], c[2] - a[0] * b[1] + a[1] * b[0]);
}
/// R^T x.
inline Vec3 rotate_t(const Mat3& R, const Vec3& x) {
  return Vec3(R(0, 0) * x[0] + R(1, 0) * x[1] + R(2, 0) * x[2], R(0, 1) * x[0] + R(1, 1) * x[1] + R(2, 1) * x[2],
              R(0, 2) * x[0] + R(1, 2) * x[1] + R(2, 2) * x[2]);
}
}  // namespace kernel

struct Force;

/// The vector-space part shared by Motion and Force: a pair of 3-vectors [linear; angular] with the
/// arithmetic of 6-vectors. Derived is the concrete type (CRTP), so a Motion never mixes with a Force.
template <class Derived>
struct SpatialVector {
  Vec3 linear;
  Vec3 angular;

  SpatialVector() = default;
  SpatialVector(const Vec3& lin, const Vec3& ang) : linear(lin), angular(ang) {}
  /// From a 6-vector [linear; angular].
  explicit SpatialVector(const Vec6& x) : linear(x.template head<3>()), angular(x.template tail<3>()) {}
  static Derived Zero() { return Derived(Vec3::Zero(), Vec3::Zero()); }

  /// The 6-vector [linear; angular].
  Vec6 vector() const {
    Vec6 out;
    out.head<3>() = linear;  // fixed-size segments: the comma initializer goes through dynamic blocks
    out.tail<3>() = angular;
    return out;
  }
  void set_zero() {
    linear.setZero();
    angular.setZero();
  }

  Derived operator+(const Derived& o) const { return Derived(linear + o.linear, angular + o.angular); }
  Derived operator-(const Derived& o) const { return Derived(linear - o.linear, angular - o.angular); }
  Derived operator-() const { return Derived(-linear, -angular); }
  Derived operator*(double s) const { return Derived(linear * s, angular * s); }
  Derived& operator+=(const Derived& o) {
    linear += o.linear;
    angular += o.angular;
    return static_cast<Derived&>(*this);
  }
  Derived& operator-=(const Derived& o) {
    linear -= o.linear;
    angular -= o.angular;
    return static_cast<Derived&>(*this);
  }
};

/// A spatial motion vector (twist, spatial velocity or acceleration), [linear; angular].
/// Units: [m/s; rad/s] for velocities, [m/s^2; rad/s^2] for accelerations.
struct Motion : SpatialVector<Motion> {
  using SpatialVector<Motion>::SpatialVector;

  /// Motion cross product this x m (Featherstone eq. 2.31, reordered): [w x m.v + v x m.w; w x m.w].
  Motion cross(const Motion& m) const {
    return {angular.cross(m.linear) + linear.cross(m.angular), angular.cross(m.angular)};
  }
  /// Force cross product this x* f (Featherstone eq. 2.32, reordered): [w x f.f; w x f.n + v x f.f].
  inline Force cross(const Force& f) const;
  /// Power pairing m . f (Featherstone eq. 2.14).
  inline double dot(const Force& f) const;
};

/// A spatial force vector (wrench, momentum), [linear; angular]. Units: [N; N m] or [kg m/s; kg m^2/s].
struct Force : SpatialVector<Force> {
  using SpatialVector<Force>::SpatialVector;

  double dot(const Motion& m) const { return linear.dot(m.linear) + angular.dot(m.angular); }
};

inline Force Motion::cross(const Force& f) const {
  return {angular.cross(f.linear), angular.cross(f.angular) + linear.cross(f.linear)};
}
inline double Motion::dot(const Force& f) const { return f.dot(*this); }

/// A rigid transform aMb = (R, p): x_a = R x_b + p. R is a rotation matrix, p in metres.
struct SE3 {
  Mat3 R;
  Vec3 p;

  SE3() = default;
  SE3(const Mat3& rot, const Vec3& trans) : R(rot), p(trans) {}
  static SE3 Identity() { return {Mat3::Identity(), Vec3::Zero()}; }
  /// From a (w, x, y, z) quaternion (normalised here) and a translation.
  static SE3 FromQuat(const Eigen::Quaterniond& q, const Vec3& p) { return {q.normalized().toRotationMatrix(), p}; }

  /// aMb * bMc = aMc.
  SE3 operator*(const SE3& o) const { return {R * o.R, R * o.p + p}; }
  /// bMa.
  SE3 inverse() const { return {R.transpose(), -(R.transpose() * p)}; }
  /// A point in b coordinates, mapped to a.
  Vec3 act(const Vec3& x) const { return R * x + p; }
  /// A point in a coordinates, mapped to b.
  Vec3 act_inv(const Vec3& x) const { return R.transpose() * (x - p); }

  /// aXb m (Featherstone eq. 2.24): [R v + p x (R w); R w].
  Motion act(const Motion& m) const {
    const Vec3 w = R * m.angular;
    return {R * m.linear + p.cross(w), w};
  }
  /// bXa m: [R^T (v - p x w); R^T w].
  Motion act_inv(const Motion& m) const {
    return {kernel::rotate_t(R, kernel::cross_sub(m.linear, p, m.angular)), kernel::rotate_t(R, m.angular)};
  }
  /// aXb* f (Featherstone eq. 2.25): [R f; R n + p x (R f)].
  Force act(const Force& f) const {
    const Vec3 fl = R * f.linear;
    return {fl, R * f.angular + p.cross(fl)};
  }
  /// bXa* f: [R^T f; R^T (n - p x f)].
  Force act_inv(const Force& f) const {
    return {R.transpose() * f.linear, R.transpose() * (f.angular - p.cross(f.linear))};
  }
  /// The 6x6 matrix of act() on motions, [[R, [p]x R]; [0, R]].
  Mat6 action_matrix() const {
    Mat6 X;
    X.topLeftCorner<3, 3>() = R;
    X.topRightCorner<3, 3>() = skew(p) * R;
    X.bottomLeftCorner<3, 3>().setZero();
    X.bottomRightCorner<3, 3>() = R;
    return X;
  }
  Eigen::Quaterniond quaternion() const { return Eigen::Quaterniond(R); }
  /// True when ||R - o.R|| <= tol and ||p - o.p|| <= tol max(1, ||o.p||).
  bool is_approx(const SE3& o, double tol = 1e-12) const {
    return (R - o.R).norm() <= tol && (p - o.p).norm() <= tol * std::max(1.0, o.p.norm());
  }
};

/// A rigid-body spatial inertia: mass [kg], centre of mass `com` [m] in the body frame, rotational
/// inertia `rot` about the centre of mass in body axes [kg m^2] (Featherstone eq. 2.63).
struct Inertia {
  double mass;
  Vec3 com;
  Mat3 rot;

  Inertia() = default;
  Inertia(double m, const Vec3& c, const Mat3& I) : mass(m), com(c), rot(I) {}
  static Inertia Zero() { return {0.0, Vec3::Zero(), Mat3::Zero()}; }

  /// The momentum I m: [mass (v - c x w); Ic w + c x f_lin].
  Force operator*(const Motion& m) const {
    const Vec3 f = mass * (m.linear - com.cross(m.angular));
    return {f, rot * m.angular + com.cross(f)};
  }
  /// The same inertia expressed in frame a, given aMb (Featherstone eq. 2.66).
  Inertia transformed(const SE3& aMb) const {
    return {mass, aMb.act(com), aMb.R * rot * aMb.R.transpose()};
  }
  /// The inertia of the union of two rigid bodies expressed in the same frame.
  Inertia& operator+=(const Inertia& o) {
    const double m = mass + o.mass;
    if (m <= 0.0) {
      rot += o.rot;
      return *this;
    }
    const Vec3 c = (mass * com + o.mass * o.com) / m;
    const Vec3 d1 = com - c, d2 = o.com - c;
    rot += o.rot - mass * skew(d1) * skew(d1) - o.mass * skew(d2) * skew(d2);
    com = c;
    mass = m;
    return *this;
  }
  /// The 6x6 matrix [[m 1, -m [c]x]; [m [c]x, Ic - m [c]x [c]x]].
  inline Mat6 matrix() const;
};

/// A spatial inertia stored about the frame origin: mass, first moment h = mass * com [kg m], and
/// rotational inertia Io about the origin [kg m^2]. Sums of such inertias are plain sums, which makes
/// this the form for composite (subtree) inertias in the world frame.
struct InertiaAtOrigin {
  double mass;
  Vec3 h;
  Mat3 I;

  InertiaAtOrigin() = default;
  InertiaAtOrigin(double m, const Vec3& first_moment, const Mat3& Io) : mass(m), h(first_moment), I(Io) {}
  static InertiaAtOrigin Zero() { return {0.0, Vec3::Zero(), Mat3::Zero()}; }
  /// The inertia Y of a body, given in its frame b, expressed about the origin of frame a (aMb).
  static InertiaAtOrigin From(const Inertia& Y, const SE3& aMb) {
    const Vec3 c = aMb.act(Y.com);
    Mat3 Io = aMb.R * Y.rot * aMb.R.transpose();
    const double cc = c.squaredNorm();
    Io.noalias() -= Y.mass * (c * c.transpose());
    Io.diagonal().array() += Y.mass * cc;
    return {Y.mass, Y.mass * c, Io};
  }

  InertiaAtOrigin& operator+=(const InertiaAtOrigin& o) {
    mass += o.mass;
    h += o.h;
    I += o.I;
    return *this;
  }
  /// The momentum Y m: [mass v - h x w; Io w + h x v].
  Force operator*(const Motion& m) const {
    return {mass * m.linear - h.cross(m.angular), I * m.angular + h.cross(m.linear)};
  }
  /// Centre of mass [m]; the origin when the mass is zero.
  Vec3 com() const { return mass > 0.0 ? Vec3(h / mass) : Vec3::Zero(); }
  /// The 6x6 matrix [[m 1, -[h]x]; [[h]x, Io]].
  Mat6 matrix() const {
    Mat6 M;
    matrix(M);
    return M;
  }
  void matrix(Mat6& M) const {
    M.topLeftCorner<3, 3>().setZero();
    M.topLeftCorner<3, 3>().diagonal().setConstant(mass);
    M(0, 4) = h.z();
    M(0, 5) = -h.y();
    M(1, 3) = -h.z();
    M(1, 5) = h.x();
    M(2, 3) = h.y();
    M(2, 4) = -h.x();
    M.topRightCorner<3, 3>().diagonal().setZero();
    M.bottomLeftCorner<3, 3>() = M.topRightCorner<3, 3>().transpose();
    M.bottomRightCorner<3, 3>() = I;
  }
};

inline Mat6 Inertia::matrix() const { return InertiaAtOrigin::From(*this, SE3::Identity()).matrix(); }

}  // namespace oh::dynamics
