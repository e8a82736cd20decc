// Internal inline kernels shared by the algorithm sources: joint transforms and motion subspaces
// (Featherstone RBDA Table 4.1) specialised for axis-aligned and general revolute axes.
#pragma once

#include "dynamics/dynamics.hpp"

#include <cmath>

// The algorithms are built at the project's -O2, where GCC leaves many small Eigen fixed-size kernels
// (3x3 products, 6-vector assignments) as out-of-line calls. OH_FLATTEN inlines everything an algorithm
// calls into it; it changes no floating-point semantics.
#if defined(__GNUC__)
#define OH_FLATTEN __attribute__((flatten))
#else
#define OH_FLATTEN
#endif

namespace oh::dynamics::detail {

/// A = B * Rot(e_k, theta) for an axis-aligned rotation, touching only the two columns that change.
inline void times_axis_rotation(const Mat3& B, int k, double c, double s, Mat3& A) {
  switch (k) {
    case 0:  // Rx = [1 0 0; 0 c -s; 0 s c]
      A.col(0) = B.col(0);
      A.col(1) = c * B.col(1) + s * B.col(2);
      A.col(2) = c * B.col(2) - s * B.col(1);
      break;
    case 1:  // Ry = [c 0 s; 0 1 0; -s 0 c]
      A.col(0) = c * B.col(0) - s * B.col(2);
      A.col(1) = B.col(1);
      A.col(2) = s * B.col(0) + c * B.col(2);
      break;
    default:  // Rz = [c -s 0; s c 0; 0 0 1]
      A.col(0) = c * B.col(0) + s * B.col(1);
      A.col(1) = c * B.col(1) - s * B.col(0);
      A.col(2) = B.col(2);
      break;
  }
}

/// Rot(e_k, theta) itself.
inline void axis_rotation(int k, double c, double s, Mat3& A) {
  switch (k) {
    case 0: A << 1, 0, 0, 0, c, -s, 0, s, c; break;
    case 1: A << c, 0, s, 0, 1, 0, -s, 0, c; break;
    default: A << c, -s, 0, s, c, 0, 0, 0, 1; break;
  }
}

/// Rodrigues: Rot(a, theta) = c 1 + s [a]x + (1 - c) a a^T for a unit axis a.
inline void rodrigues(const Vec3& a, double c, double s, Mat3& R) {
  const double t = 1.0 - c;
  const double xy = t * a.x() * a.y(), xz = t * a.x() * a.z(), yz = t * a.y() * a.z();
  R << c + t * a.x() * a.x(), xy - s * a.z(), xz + s * a.y(),  //
      xy + s * a.z(), c + t * a.y() * a.y(), yz - s * a.x(),   //
      xz - s * a.y(), yz + s * a.x(), c + t * a.z() * a.z();
}

/// Rotation matrix of a (w, x, y, z) quaternion, normalised first (as MuJoCo does); identity for zero.
inline void quaternion_matrix(const double* q, Mat3& R) {
  const double n2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3];
  if (!(n2 > 0.0)) {
    R.setIdentity();
    return;
  }
  const double s = 2.0 / n2;
  const double w = q[0], x = q[1], y = q[2], z = q[3];
  const double xx = s * x * x, yy = s * y * y, zz = s * z * z;
  const double xy = s * x * y, xz = s * x * z, yz = s * y * z;
  const double wx = s * w * x, wy = s * w * y, wz = s * w * z;
  R << 1 - yy - zz, xy - wz, xz + wy,  //
      xy + wz, 1 - xx - zz, yz - wx,   //
      xz - wy, yz + wx, 1 - xx - yy;
}

/// sin and cos of a joint angle. glibc's sincos costs ~9 ns here, a tenth of a node's work in forward
/// kinematics, so for |x| < 1e5 we use Cody-Waite reduction by pi/2 in three parts (fdlibm's pio2_1,
/// pio2_2, pio2_2t: n * part is exact for |n| < 2^20) and Cephes' minimax polynomials on [-pi/4, pi/4]
/// (sin.c; relative error ~2e-16). Agreement with libm is within 2 ulp (tests/test_model.cpp); larger
/// arguments fall back to libm.
inline void sin_cos(double x, double& s, double& c) {
  if (!(std::abs(x) < 1e5)) {
    s = std::sin(x);
    c = std::cos(x);
    return;
  }
  constexpr double kTwoOverPi = 6.36619772367581382433e-01;
  constexpr double kPio2_1 = 1.57079632673412561417e+00;
  constexpr double kPio2_2 = 6.07710050630396597660e-11;
  constexpr double kPio2_2t = 2.02226624879595063154e-21;
  const double t = x * kTwoOverPi;
  const long n = static_cast<long>(t + (t >= 0.0 ? 0.5 : -0.5));
  const double dn = static_cast<double>(n);
  const double r = ((x - dn * kPio2_1) - dn * kPio2_2) - dn * kPio2_2t;
  const double z = r * r;
  const double ps = ((((1.58962301576546568060e-10 * z - 2.50507477628578072866e-8) * z + 2.75573136213857245213e-6) * z -
                      1.98412698295895385996e-4) * z + 8.33333333332211858878e-3) * z - 1.66666666666666307295e-1;
  const double pc = ((((-1.13585365213876817300e-11 * z + 2.08757008419747316778e-9) * z - 2.75573141792967388112e-7) * z +
                      2.48015872888517045348e-5) * z - 1.38888888888730564116e-3) * z + 4.16666666666665929218e-2;
  const double sr = r + r * z * ps;
  const double cr = 1.0 - 0.5 * z + z * z * pc;
  switch (n & 3) {  // quadrant n mod 4 (a switch measured faster than a branch-free select here)
    case 0: s = sr; c = cr; break;
    case 1: s = cr; c = -sr; break;
    case 2: s = -sr; c = -cr; break;
    default: s = -cr; c = sr; break;
  }
}

/// The node's placement in its parent, liMi = placement * X_J(q) (RBDA eq. 4.16 with Table 4.1), and,
/// when kWorld, oMi = oMp * liMi. Uses the axis-aligned and identity-rotation specialisations.
template <bool kWorld>
inline void node_placement(const Node& n, const double* q, const SE3& oMp, SE3& liMi, SE3& oMi) {
  const SE3& P = n.placement;
  switch (n.type) {
    case JointType::kRevolute: {
      double s, c;
      sin_cos(q[n.idx_q] - n.q0, s, c);
      liMi.p = P.p;
      if (n.axis_index >= 0) {
        s *= n.axis_sign;
        if (n.placement_rotation_is_identity) {
          axis_rotation(n.axis_index, c, s, liMi.R);
          if constexpr (kWorld) {
            times_axis_rotation(oMp.R, n.axis_index, c, s, oMi.R);
            oMi.p.noalias() = oMp.R * P.p;
            oMi.p += oMp.p;
          }
          return;
        }
        times_axis_rotation(P.R, n.axis_index, c, s, liMi.R);
      } else if (n.placement_rotation_is_identity) {
        rodrigues(n.axis, c, s, liMi.R);
      } else {
        Mat3 RJ;
        rodrigues(n.axis, c, s, RJ);
        liMi.R.noalias() = P.R * RJ;
      }
      break;
    }
    case JointType::kPrismatic: {
      const double d = q[n.idx_q] - n.q0;
      liMi.R = P.R;
      liMi.p.noalias() = P.R * (d * n.axis);
      liMi.p += P.p;
      break;
    }
    case JointType::kFree:
      quaternion_matrix(q + n.idx_q + 3, liMi.R);
      liMi.p = Eigen::Map<const Vec3>(q + n.idx_q);
      if constexpr (kWorld) oMi = liMi;  // a free node's parent is the universe
      return;
    case JointType::kFixed:
      liMi = P;
      break;
  }
  if constexpr (kWorld) {
    oMi.R.noalias() = oMp.R * liMi.R;
    oMi.p.noalias() = oMp.R * liMi.p;
    oMi.p += oMp.p;
  }
}

/// The world-frame motion subspace column of a 1-DoF node: revolute [p x a; a], prismatic [a; 0], with a
/// the axis in world axes and p the node origin (a point on the axis).
inline void world_subspace(const Node& n, const SE3& oMi, Vec3& lin, Vec3& ang) {
  Vec3 axis;
  if (n.axis_index >= 0)
    axis = n.axis_sign * oMi.R.col(n.axis_index);
  else
    axis.noalias() = oMi.R * n.axis;
  if (n.type == JointType::kRevolute) {
    ang = axis;
    lin = oMi.p.cross(axis);
  } else {
    lin = axis;
    ang.setZero();
  }
}

/// World-frame Jacobian columns of a node (1 or 6).
inline void world_columns(const Node& n, const SE3& oMi, Matrix6Xd& J) {
  if (n.type == JointType::kFree) {
    auto cols = J.middleCols<6>(n.idx_v);
    cols.topLeftCorner<3, 3>() = oMi.R;
    cols.bottomLeftCorner<3, 3>().setZero();
    for (int k = 0; k < 3; ++k) cols.col(3 + k).head<3>() = oMi.p.cross(oMi.R.col(k));
    cols.bottomRightCorner<3, 3>() = oMi.R;
    return;
  }
  Vec3 lin, ang;
  world_subspace(n, oMi, lin, ang);
  J.col(n.idx_v) << lin, ang;
}

/// Motion of a 6-vector column.
inline Motion column_motion(const Matrix6Xd& J, int k) {
  return {J.col(k).head<3>(), J.col(k).tail<3>()};
}

}  // namespace oh::dynamics::detail
