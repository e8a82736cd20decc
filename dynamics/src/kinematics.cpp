// Forward kinematics, frames, joint and frame Jacobians and their time derivatives.
#include "kernels.hpp"

#include <cassert>
#include <stdexcept>
#include <string>

namespace oh::dynamics {
namespace {

using ConstVec = Eigen::Ref<const Eigen::VectorXd>;

const FrameInfo& checked_frame(const Model& model, int frame) {
  if (frame < 0 || frame >= static_cast<int>(model.frames.size()))
    throw std::out_of_range("oh::dynamics: frame index " + std::to_string(frame) + " out of range [0, " +
                            std::to_string(model.frames.size()) + ")");
  return model.frames[frame];
}

// Local velocity (and acceleration) recursion of one node (RBDA eq. 5.7-5.8 in node coordinates).
template <bool kAcc>
inline void local_motion(const Node& n, const SE3& liMi, const Motion& vp, const Motion& ap, const double* v,
                         const double* a, Motion& vi, Motion& ai) {
  switch (n.type) {
    case JointType::kFree:  // parent is the universe: v = vJ, a = aJ (S constant, c = v x v = 0)
      vi.linear = Eigen::Map<const Vec3>(v + n.idx_v);
      vi.angular = Eigen::Map<const Vec3>(v + n.idx_v + 3);
      if constexpr (kAcc) {
        ai.linear = Eigen::Map<const Vec3>(a + n.idx_v);
        ai.angular = Eigen::Map<const Vec3>(a + n.idx_v + 3);
        if (n.parent > 0) ai += liMi.act_inv(ap);
      }
      if (n.parent > 0) vi += liMi.act_inv(vp);
      return;
    case JointType::kRevolute: {
      const Vec3 wJ = n.axis * v[n.idx_v];
      vi = liMi.act_inv(vp);
      if constexpr (kAcc) {
        ai = liMi.act_inv(ap);
        ai.linear += vi.linear.cross(wJ);
        ai.angular += vi.angular.cross(wJ) + n.axis * a[n.idx_v];
      }
      vi.angular += wJ;
      return;
    }
    case JointType::kPrismatic: {
      const Vec3 vJ = n.axis * v[n.idx_v];
      vi = liMi.act_inv(vp);
      if constexpr (kAcc) {
        ai = liMi.act_inv(ap);
        ai.linear += vi.angular.cross(vJ) + n.axis * a[n.idx_v];
      }
      vi.linear += vJ;
      return;
    }
    case JointType::kFixed:
      vi = liMi.act_inv(vp);
      if constexpr (kAcc) ai = liMi.act_inv(ap);
      return;
  }
}

template <bool kVel, bool kAcc>
OH_FLATTEN void forward_kinematics_impl(const Model& model, Data& data, const double* q, const double* v, const double* a) {
  const int N = model.num_nodes();
  for (int i = 1; i < N; ++i) {
    const Node& n = model.nodes[i];
    detail::node_placement<true>(n, q, data.oMi[n.parent], data.liMi[i], data.oMi[i]);
    if constexpr (kVel) local_motion<kAcc>(n, data.liMi[i], data.v[n.parent], data.a[n.parent], v, a, data.v[i], data.a[i]);
  }
}

}  // namespace

void forward_kinematics(const Model& model, Data& data, const ConstVec& q) {
  forward_kinematics_impl<false, false>(model, data, q.data(), nullptr, nullptr);
}

void forward_kinematics(const Model& model, Data& data, const ConstVec& q, const ConstVec& v) {
  forward_kinematics_impl<true, false>(model, data, q.data(), v.data(), nullptr);
}

void forward_kinematics(const Model& model, Data& data, const ConstVec& q, const ConstVec& v, const ConstVec& a) {
  data.a[0].set_zero();
  forward_kinematics_impl<true, true>(model, data, q.data(), v.data(), a.data());
}

OH_FLATTEN void update_frame_placements(const Model& model, Data& data) {
  for (size_t k = 0; k < model.frames.size(); ++k) {
    const FrameInfo& fr = model.frames[k];
    data.oMf[k] = data.oMi[fr.node] * fr.placement;
  }
}

const SE3& frame_placement(const Model& model, Data& data, int frame) {
  const FrameInfo& fr = checked_frame(model, frame);
  data.oMf[frame] = data.oMi[fr.node] * fr.placement;
  return data.oMf[frame];
}

namespace {

// A node-frame motion (velocity or acceleration of the node) as seen by a frame attached to it.
Motion express_node_motion(const FrameInfo& fr, const SE3& oMi, const Motion& m, ReferenceFrame rf) {
  switch (rf) {
    case ReferenceFrame::kLocal: return fr.placement.act_inv(m);
    case ReferenceFrame::kWorld: return oMi.act(m);
    case ReferenceFrame::kLocalWorldAligned:
    default: {
      const Motion mf = fr.placement.act_inv(m);
      const Mat3 R = oMi.R * fr.placement.R;
      return {R * mf.linear, R * mf.angular};
    }
  }
}

}  // namespace

Motion frame_velocity(const Model& model, const Data& data, int frame, ReferenceFrame rf) {
  const FrameInfo& fr = checked_frame(model, frame);
  return express_node_motion(fr, data.oMi[fr.node], data.v[fr.node], rf);
}

Motion frame_acceleration(const Model& model, const Data& data, int frame, ReferenceFrame rf) {
  const FrameInfo& fr = checked_frame(model, frame);
  return express_node_motion(fr, data.oMi[fr.node], data.a[fr.node], rf);
}

Motion frame_classical_acceleration(const Model& model, const Data& data, int frame, ReferenceFrame rf) {
  const FrameInfo& fr = checked_frame(model, frame);
  if (rf == ReferenceFrame::kWorld) {
    const SE3& oMi = data.oMi[fr.node];
    const Motion vw = oMi.act(data.v[fr.node]);
    Motion aw = oMi.act(data.a[fr.node]);
    aw.linear += vw.angular.cross(vw.linear);
    return aw;
  }
  const Motion vf = fr.placement.act_inv(data.v[fr.node]);
  Motion af = fr.placement.act_inv(data.a[fr.node]);
  af.linear += vf.angular.cross(vf.linear);
  if (rf == ReferenceFrame::kLocal) return af;
  const Mat3 R = data.oMi[fr.node].R * fr.placement.R;
  return {R * af.linear, R * af.angular};
}

OH_FLATTEN const Matrix6Xd& compute_joint_jacobians(const Model& model, Data& data) {
  const int N = model.num_nodes();
  for (int i = 1; i < N; ++i) detail::world_columns(model.nodes[i], data.oMi[i], data.J);
  return data.J;
}

const Matrix6Xd& compute_joint_jacobians(const Model& model, Data& data, const ConstVec& q) {
  forward_kinematics(model, data, q);
  return compute_joint_jacobians(model, data);
}

namespace {

// Re-expresses a world-frame column (about the world origin) in rf for a frame at oMf.
inline void express_column(const SE3& oMf, ReferenceFrame rf, const Vec3& lin, const Vec3& ang,
                           Eigen::Ref<Matrix6Xd>::ColXpr out) {
  switch (rf) {
    case ReferenceFrame::kWorld:
      out << lin, ang;
      break;
    case ReferenceFrame::kLocalWorldAligned:
      out << lin - oMf.p.cross(ang), ang;
      break;
    case ReferenceFrame::kLocal:
      out << oMf.R.transpose() * (lin - oMf.p.cross(ang)), oMf.R.transpose() * ang;
      break;
  }
}

inline int last_dof(const Node& n) { return n.nv > 0 ? n.idx_v + n.nv - 1 : -1; }

}  // namespace

OH_FLATTEN void frame_jacobian(const Model& model, const Data& data, int frame, ReferenceFrame rf, Eigen::Ref<Matrix6Xd> J) {
  const FrameInfo& fr = checked_frame(model, frame);
  assert(J.cols() == model.nv);
  J.setZero();
  const SE3 oMf = data.oMi[fr.node] * fr.placement;
  for (int k = last_dof(model.nodes[fr.node]); k >= 0; k = model.dof_parent[k])
    express_column(oMf, rf, data.J.col(k).head<3>(), data.J.col(k).tail<3>(), J.col(k));
}

OH_FLATTEN void compute_frame_jacobian(const Model& model, Data& data, const ConstVec& q, int frame, ReferenceFrame rf,
                            Eigen::Ref<Matrix6Xd> J) {
  const FrameInfo& fr = checked_frame(model, frame);
  assert(J.cols() == model.nv);
  forward_kinematics(model, data, q);
  J.setZero();
  const SE3 oMf = data.oMi[fr.node] * fr.placement;
  for (int i = fr.node; i > 0; i = model.nodes[i].parent) {
    const Node& n = model.nodes[i];
    const SE3& oMi = data.oMi[i];
    if (n.type == JointType::kFree) {
      for (int k = 0; k < 3; ++k) {
        express_column(oMf, rf, oMi.R.col(k), Vec3::Zero(), J.col(n.idx_v + k));
        express_column(oMf, rf, oMi.p.cross(oMi.R.col(k)), oMi.R.col(k), J.col(n.idx_v + 3 + k));
      }
    } else {
      Vec3 lin, ang;
      detail::world_subspace(n, oMi, lin, ang);
      express_column(oMf, rf, lin, ang, J.col(n.idx_v));
    }
  }
}

OH_FLATTEN const Matrix6Xd& compute_joint_jacobians_time_variation(const Model& model, Data& data, const ConstVec& q,
                                                        const ConstVec& v) {
  forward_kinematics(model, data, q, v);
  const int N = model.num_nodes();
  for (int i = 1; i < N; ++i) {
    const Node& n = model.nodes[i];
    data.ov[i] = data.oMi[i].act(data.v[i]);
    detail::world_columns(n, data.oMi[i], data.J);
    for (int k = n.idx_v; k < n.idx_v + n.nv; ++k) {
      const Motion col = detail::column_motion(data.J, k);
      data.dJ.col(k) = data.ov[i].cross(col).vector();
    }
  }
  return data.dJ;
}

OH_FLATTEN void frame_jacobian_time_variation(const Model& model, const Data& data, int frame, ReferenceFrame rf,
                                   Eigen::Ref<Matrix6Xd> dJ) {
  const FrameInfo& fr = checked_frame(model, frame);
  assert(dJ.cols() == model.nv);
  dJ.setZero();
  const SE3 oMf = data.oMi[fr.node] * fr.placement;
  const Motion& ov = data.ov[fr.node];
  const Vec3 pdot = ov.linear + ov.angular.cross(oMf.p);  // velocity of the frame origin, world
  const Motion vf = oMf.act_inv(ov);                        // the frame's own twist, frame axes
  for (int k = last_dof(model.nodes[fr.node]); k >= 0; k = model.dof_parent[k]) {
    const Motion Jk = detail::column_motion(data.J, k);
    const Motion dJk = detail::column_motion(data.dJ, k);
    switch (rf) {
      case ReferenceFrame::kWorld:
        dJ.col(k) = data.dJ.col(k);
        break;
      case ReferenceFrame::kLocalWorldAligned:
        dJ.col(k) << dJk.linear - oMf.p.cross(dJk.angular) - pdot.cross(Jk.angular), dJk.angular;
        break;
      case ReferenceFrame::kLocal:
        dJ.col(k) = (oMf.act_inv(dJk) - vf.cross(oMf.act_inv(Jk))).vector();
        break;
    }
  }
}

}  // namespace oh::dynamics
