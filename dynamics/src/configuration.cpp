// Configuration-space operations and conversion between our free-joint velocity convention and MuJoCo's.
#include "kernels.hpp"

#include <cassert>
#include <cmath>

namespace oh::dynamics {
namespace {

using ConstVec = Eigen::Ref<const Eigen::VectorXd>;

Mat3 base_rotation(const Node& n, const ConstVec& q) {
  Mat3 R;
  detail::quaternion_matrix(q.data() + n.idx_q + 3, R);
  return R;
}

// exp of a rotation vector as a unit quaternion, with a Taylor expansion near zero.
Eigen::Quaterniond quat_exp(const Vec3& w) {
  const double t2 = w.squaredNorm();
  const double t = std::sqrt(t2);
  double c, s;  // cos(t/2), sin(t/2)/t
  if (t < 1e-4) {
    c = 1.0 - t2 / 8.0;
    s = 0.5 - t2 / 48.0;
  } else {
    c = std::cos(0.5 * t);
    s = std::sin(0.5 * t) / t;
  }
  return Eigen::Quaterniond(c, s * w.x(), s * w.y(), s * w.z());
}

// V(w) = I + (1 - cos t)/t^2 [w]x + (t - sin t)/t^3 [w]x^2, the left Jacobian of SO(3) (SE(3) exp).
Mat3 so3_left_jacobian(const Vec3& w) {
  const double t2 = w.squaredNorm();
  const double t = std::sqrt(t2);
  double a, b;
  if (t < 1e-4) {
    a = 0.5 - t2 / 24.0;
    b = 1.0 / 6.0 - t2 / 120.0;
  } else {
    a = (1.0 - std::cos(t)) / t2;
    b = (t - std::sin(t)) / (t2 * t);
  }
  const Mat3 W = skew(w);
  return Mat3::Identity() + a * W + b * W * W;
}

}  // namespace

void integrate(const Model& model, const ConstVec& q, const ConstVec& v, double dt, Eigen::Ref<Eigen::VectorXd> q_out) {
  assert(q.size() == model.nq && v.size() == model.nv && q_out.size() == model.nq);
  for (size_t i = 1; i < model.nodes.size(); ++i) {
    const Node& n = model.nodes[i];
    if (n.type == JointType::kFree) {
      Eigen::Quaterniond quat(q[n.idx_q + 3], q[n.idx_q + 4], q[n.idx_q + 5], q[n.idx_q + 6]);
      if (!(quat.squaredNorm() > 0.0)) quat.setIdentity();
      quat.normalize();
      const Vec3 vl = v.segment<3>(n.idx_v) * dt;
      const Vec3 w = v.segment<3>(n.idx_v + 3) * dt;
      const Vec3 p = q.segment<3>(n.idx_q) + quat.toRotationMatrix() * (so3_left_jacobian(w) * vl);
      Eigen::Quaterniond out = quat * quat_exp(w);
      out.normalize();
      q_out.segment<3>(n.idx_q) = p;
      q_out.segment<4>(n.idx_q + 3) << out.w(), out.x(), out.y(), out.z();
    } else if (n.nq == 1) {
      q_out[n.idx_q] = q[n.idx_q] + v[n.idx_v] * dt;
    }
  }
}

void normalize(const Model& model, Eigen::Ref<Eigen::VectorXd> q) {
  for (size_t i = 1; i < model.nodes.size(); ++i) {
    const Node& n = model.nodes[i];
    if (n.type != JointType::kFree) continue;
    auto quat = q.segment<4>(n.idx_q + 3);
    const double norm = quat.norm();
    if (norm > 0.0 && std::isfinite(norm))
      quat /= norm;
    else
      quat << 1, 0, 0, 0;
  }
}

void velocity_to_mujoco(const Model& model, const ConstVec& q, const ConstVec& v, Eigen::Ref<Eigen::VectorXd> qvel) {
  if (qvel.data() != v.data()) qvel = v;
  for (const Node& n : model.nodes)
    if (n.type == JointType::kFree) qvel.segment<3>(n.idx_v) = base_rotation(n, q) * Vec3(v.segment<3>(n.idx_v));
}

void velocity_from_mujoco(const Model& model, const ConstVec& q, const ConstVec& qvel, Eigen::Ref<Eigen::VectorXd> v) {
  if (qvel.data() != v.data()) v = qvel;
  for (const Node& n : model.nodes)
    if (n.type == JointType::kFree)
      v.segment<3>(n.idx_v) = base_rotation(n, q).transpose() * Vec3(qvel.segment<3>(n.idx_v));
}

void acceleration_to_mujoco(const Model& model, const ConstVec& q, const ConstVec& v, const ConstVec& a,
                            Eigen::Ref<Eigen::VectorXd> qacc) {
  if (qacc.data() != a.data()) qacc = a;
  for (const Node& n : model.nodes) {
    if (n.type != JointType::kFree) continue;
    const Vec3 vl = v.segment<3>(n.idx_v), w = v.segment<3>(n.idx_v + 3), al = a.segment<3>(n.idx_v);
    qacc.segment<3>(n.idx_v) = base_rotation(n, q) * (al + w.cross(vl));
  }
}

void acceleration_from_mujoco(const Model& model, const ConstVec& q, const ConstVec& v, const ConstVec& qacc,
                              Eigen::Ref<Eigen::VectorXd> a) {
  if (qacc.data() != a.data()) a = qacc;
  for (const Node& n : model.nodes) {
    if (n.type != JointType::kFree) continue;
    const Vec3 vl = v.segment<3>(n.idx_v), w = v.segment<3>(n.idx_v + 3), al = qacc.segment<3>(n.idx_v);
    a.segment<3>(n.idx_v) = base_rotation(n, q).transpose() * al - w.cross(vl);
  }
}

void force_to_mujoco(const Model& model, const ConstVec& q, const ConstVec& tau, Eigen::Ref<Eigen::VectorXd> qfrc) {
  velocity_to_mujoco(model, q, tau, qfrc);  // same map: qfrc_lin = R tau_lin
}

void force_from_mujoco(const Model& model, const ConstVec& q, const ConstVec& qfrc, Eigen::Ref<Eigen::VectorXd> tau) {
  velocity_from_mujoco(model, q, qfrc, tau);
}

void mass_matrix_from_mujoco(const Model& model, const ConstVec& q, const Eigen::Ref<const Eigen::MatrixXd>& M_mj,
                             Eigen::Ref<Eigen::MatrixXd> M) {
  if (M.data() != M_mj.data()) M = M_mj;
  for (const Node& n : model.nodes) {
    if (n.type != JointType::kFree) continue;
    const Mat3 R = base_rotation(n, q);
    for (Eigen::Index r = 0; r < M.rows(); ++r) {  // M T, a row at a time (no temporaries)
      const Eigen::RowVector3d row = M.row(r).segment<3>(n.idx_v);
      M.row(r).segment<3>(n.idx_v).noalias() = row * R;
    }
    for (Eigen::Index c = 0; c < M.cols(); ++c) {  // T^T (M T)
      const Vec3 col = M.col(c).segment<3>(n.idx_v);
      M.col(c).segment<3>(n.idx_v).noalias() = R.transpose() * col;
    }
  }
}

void jacobian_from_mujoco(const Model& model, const ConstVec& q, const Eigen::Ref<const Eigen::MatrixXd>& J_mj,
                          Eigen::Ref<Eigen::MatrixXd> J) {
  if (J.data() != J_mj.data()) J = J_mj;
  for (const Node& n : model.nodes) {
    if (n.type != JointType::kFree) continue;
    const Mat3 R = base_rotation(n, q);
    for (Eigen::Index r = 0; r < J.rows(); ++r) {
      const Eigen::RowVector3d row = J.row(r).segment<3>(n.idx_v);
      J.row(r).segment<3>(n.idx_v).noalias() = row * R;
    }
  }
}

}  // namespace oh::dynamics
