// Centre of mass, its Jacobian, and centroidal momentum (Orin, Goswami & Lee 2013).
#include "kernels.hpp"

namespace oh::dynamics {
namespace {

using ConstVec = Eigen::Ref<const Eigen::VectorXd>;

// Subtree masses and centres of mass from data.oMi (leaves to root, first moments summed).
OH_FLATTEN void subtree_com(const Model& model, Data& data) {
  const int N = model.num_nodes();
  for (int i = 0; i < N; ++i) {
    const Inertia& I = model.nodes[i].inertia;
    data.mass_subtree[i] = I.mass;
    data.com_subtree[i] = I.mass * data.oMi[i].act(I.com);
  }
  for (int i = N - 1; i > 0; --i) {
    const int p = model.nodes[i].parent;
    data.mass_subtree[p] += data.mass_subtree[i];
    data.com_subtree[p] += data.com_subtree[i];
  }
  for (int i = 0; i < N; ++i)
    if (data.mass_subtree[i] > 0.0) data.com_subtree[i] /= data.mass_subtree[i];
  data.mass = data.mass_subtree[0];
  data.com = data.com_subtree[0];
}

// Sets data.Ag's columns to the world-origin momentum of each DoF's subtree and data.oYcrb to the
// composite inertias (needs data.oMi and data.J); data.com / data.mass from oYcrb[0].
OH_FLATTEN void composite_momentum_columns(const Model& model, Data& data) {
  const int N = model.num_nodes();
  data.oYcrb[0] = InertiaAtOrigin::From(model.nodes[0].inertia, data.oMi[0]);
  for (int i = 1; i < N; ++i) data.oYcrb[i] = InertiaAtOrigin::From(model.nodes[i].inertia, data.oMi[i]);
  for (int i = N - 1; i > 0; --i) {
    const Node& n = model.nodes[i];
    const InertiaAtOrigin& Y = data.oYcrb[i];
    for (int k = n.idx_v; k < n.idx_v + n.nv; ++k) data.Ag.col(k) = (Y * detail::column_motion(data.J, k)).vector();
    data.oYcrb[n.parent] += Y;
  }
  data.mass = data.oYcrb[0].mass;
  data.com = data.oYcrb[0].com();
}

}  // namespace

OH_FLATTEN const Vec3& center_of_mass(const Model& model, Data& data, const ConstVec& q) {
  forward_kinematics(model, data, q);
  subtree_com(model, data);
  return data.com;
}

OH_FLATTEN const Vec3& center_of_mass(const Model& model, Data& data, const ConstVec& q, const ConstVec& v) {
  forward_kinematics(model, data, q, v);
  subtree_com(model, data);
  Vec3 p = Vec3::Zero();  // total linear momentum
  const int N = model.num_nodes();
  for (int i = 1; i < N; ++i) {
    const Inertia& I = model.nodes[i].inertia;
    const Motion& vi = data.v[i];
    p += I.mass * (data.oMi[i].R * (vi.linear + vi.angular.cross(I.com)));
  }
  data.vcom = data.mass > 0.0 ? Vec3(p / data.mass) : Vec3::Zero();
  return data.com;
}

OH_FLATTEN const Matrix3Xd& jacobian_center_of_mass(const Model& model, Data& data, const ConstVec& q) {
  compute_joint_jacobians(model, data, q);
  subtree_com(model, data);
  const double inv_mass = data.mass > 0.0 ? 1.0 / data.mass : 0.0;
  for (int k = 0; k < model.nv; ++k) {
    const int i = model.dof_node[k];
    const double s = data.mass_subtree[i] * inv_mass;
    data.Jcom.col(k) = s * (data.J.col(k).head<3>() + data.J.col(k).tail<3>().cross(data.com_subtree[i]));
  }
  return data.Jcom;
}

OH_FLATTEN const Matrix6Xd& ccrba(const Model& model, Data& data, const ConstVec& q, const ConstVec& v) {
  compute_joint_jacobians(model, data, q);
  composite_momentum_columns(model, data);
  const Vec3& c = data.com;
  for (int k = 0; k < model.nv; ++k) {
    auto col = data.Ag.col(k);
    col.tail<3>() -= c.cross(Vec3(col.head<3>()));
  }
  const Vec6 h = data.Ag * v;
  data.hg = Force(h);
  const InertiaAtOrigin& Y = data.oYcrb[0];
  data.Ig.setZero();
  data.Ig.topLeftCorner<3, 3>().diagonal().setConstant(Y.mass);
  Mat3 IG = Y.I;
  IG.noalias() += Y.mass * (c * c.transpose());
  IG.diagonal().array() -= Y.mass * c.squaredNorm();
  data.Ig.bottomRightCorner<3, 3>() = IG;
  return data.Ag;
}

OH_FLATTEN const Force& compute_centroidal_momentum_time_variation(const Model& model, Data& data, const ConstVec& q,
                                                        const ConstVec& v, const ConstVec& a) {
  forward_kinematics(model, data, q, v, a);
  const int N = model.num_nodes();
  Force h = Force::Zero(), dh = Force::Zero();  // world frame, about the world origin
  double mass = model.nodes[0].inertia.mass;
  Vec3 first_moment = mass * model.nodes[0].inertia.com;
  for (int i = 1; i < N; ++i) {
    const Inertia& I = model.nodes[i].inertia;
    const Force hi = I * data.v[i];
    const Force dhi = I * data.a[i] + data.v[i].cross(hi);  // RBDA eq. 5.9 without gravity
    h += data.oMi[i].act(hi);
    dh += data.oMi[i].act(dhi);
    mass += I.mass;
    first_moment += I.mass * data.oMi[i].act(I.com);
  }
  data.mass = mass;
  data.com = mass > 0.0 ? Vec3(first_moment / mass) : Vec3::Zero();
  data.vcom = mass > 0.0 ? Vec3(h.linear / mass) : Vec3::Zero();
  const Vec3& c = data.com;
  data.hg = Force(h.linear, h.angular - c.cross(h.linear));
  // d/dt (L_o - c x p) = dL_o - c x dp - cdot x p, and cdot x p = cdot x (m cdot) = 0.
  data.dhg = Force(dh.linear, dh.angular - c.cross(dh.linear));
  return data.dhg;
}

}  // namespace oh::dynamics
