// Inverse dynamics (RNEA), the joint-space inertia matrix (CRBA), its sparse factorisation and inverse,
// and forward dynamics (ABA).
#include "kernels.hpp"

#include <Eigen/Cholesky>

namespace oh::dynamics {
namespace {

using ConstVec = Eigen::Ref<const Eigen::VectorXd>;

// MuJoCo's armature on a free joint's linear DoFs multiplies the WORLD-frame linear acceleration
// R (a_lin + w x v_lin); in our coordinates that adds armature (w x v_lin) to the linear entries'
// nonlinear effects (the M part, armature * 1, is the same in both conventions).
// y += a x for the short rows of the factor (a handful of entries): a plain loop beats Eigen's
// dynamic-size set-up here. x and y never overlap (different rows).
inline void axpy_short(int n, double a, const double* __restrict x, double* __restrict y) {
  for (int t = 0; t < n; ++t) y[t] += a * x[t];
}

inline Vec3 free_armature_bias(const Model& model, const Node& n, const double* v) {
  const Vec3 arm = model.armature.segment<3>(n.idx_v);
  if (arm.isZero(0.0)) return Vec3::Zero();
  const Vec3 vl = Eigen::Map<const Vec3>(v + n.idx_v), w = Eigen::Map<const Vec3>(v + n.idx_v + 3);
  return arm.cwiseProduct(w.cross(vl));
}

// RNEA (RBDA Table 5.1) in node frames with gravity as the universe's acceleration. kVel / kAcc drop the
// velocity and acceleration terms at compile time (generalised gravity, nonlinear effects).
template <bool kVel, bool kAcc>
OH_FLATTEN void rnea_impl(const Model& model, Data& data, const double* q, const double* v, const double* a, Eigen::VectorXd& tau) {
  const int N = model.num_nodes();
  data.v[0].set_zero();
  data.a[0] = Motion(-model.gravity, Vec3::Zero());
  for (int i = 1; i < N; ++i) {
    const Node& n = model.nodes[i];
    SE3& liMi = data.liMi[i];
    detail::node_placement<false>(n, q, data.oMi[0], liMi, data.oMi[i]);
    Motion& vi = data.v[i];
    Motion& ai = data.a[i];
    ai = liMi.act_inv(data.a[n.parent]);
    switch (n.type) {
      case JointType::kFree:
        if constexpr (kVel) {
          vi.linear = Eigen::Map<const Vec3>(v + n.idx_v);
          vi.angular = Eigen::Map<const Vec3>(v + n.idx_v + 3);
        }
        if constexpr (kAcc) {
          ai.linear += Eigen::Map<const Vec3>(a + n.idx_v);
          ai.angular += Eigen::Map<const Vec3>(a + n.idx_v + 3);
        }
        break;
      case JointType::kRevolute:
        if constexpr (kVel) {
          const Vec3 wJ = n.axis * v[n.idx_v];
          vi = liMi.act_inv(data.v[n.parent]);
          ai.linear += vi.linear.cross(wJ);
          ai.angular += vi.angular.cross(wJ);
          vi.angular += wJ;
        }
        if constexpr (kAcc) ai.angular += n.axis * a[n.idx_v];
        break;
      case JointType::kPrismatic:
        if constexpr (kVel) {
          const Vec3 vJ = n.axis * v[n.idx_v];
          vi = liMi.act_inv(data.v[n.parent]);
          ai.linear += vi.angular.cross(vJ);
          vi.linear += vJ;
        }
        if constexpr (kAcc) ai.linear += n.axis * a[n.idx_v];
        break;
      case JointType::kFixed:
        if constexpr (kVel) vi = liMi.act_inv(data.v[n.parent]);
        break;
    }
    const Inertia& I = n.inertia;
    data.f[i] = I * ai;
    if constexpr (kVel) data.f[i] += vi.cross(I * vi);
  }
  for (int i = N - 1; i > 0; --i) {
    const Node& n = model.nodes[i];
    const Force& fi = data.f[i];
    switch (n.type) {
      case JointType::kFree:
        tau.segment<3>(n.idx_v) = fi.linear;
        tau.segment<3>(n.idx_v + 3) = fi.angular;
        if constexpr (kAcc)
          for (int k = n.idx_v; k < n.idx_v + 6; ++k) tau[k] += model.armature[k] * a[k];
        if constexpr (kVel) tau.segment<3>(n.idx_v) += free_armature_bias(model, n, v);
        break;
      case JointType::kRevolute:
        tau[n.idx_v] = n.axis.dot(fi.angular);
        if constexpr (kAcc) tau[n.idx_v] += model.armature[n.idx_v] * a[n.idx_v];
        break;
      case JointType::kPrismatic:
        tau[n.idx_v] = n.axis.dot(fi.linear);
        if constexpr (kAcc) tau[n.idx_v] += model.armature[n.idx_v] * a[n.idx_v];
        break;
      case JointType::kFixed:
        break;
    }
    if (n.parent > 0) data.f[n.parent] += data.liMi[i].act(fi);
  }
}

}  // namespace

const Eigen::VectorXd& rnea(const Model& model, Data& data, const ConstVec& q, const ConstVec& v, const ConstVec& a) {
  rnea_impl<true, true>(model, data, q.data(), v.data(), a.data(), data.tau);
  return data.tau;
}

const Eigen::VectorXd& compute_generalized_gravity(const Model& model, Data& data, const ConstVec& q) {
  rnea_impl<false, false>(model, data, q.data(), nullptr, nullptr, data.g);
  return data.g;
}

const Eigen::VectorXd& nonlinear_effects(const Model& model, Data& data, const ConstVec& q, const ConstVec& v) {
  rnea_impl<true, false>(model, data, q.data(), v.data(), nullptr, data.nle);
  return data.nle;
}

OH_FLATTEN const Eigen::MatrixXd& crba(const Model& model, Data& data, const ConstVec& q) {
  const int N = model.num_nodes();
  const double* qd = q.data();
  for (int i = 1; i < N; ++i) {
    const Node& n = model.nodes[i];
    detail::node_placement<true>(n, qd, data.oMi[n.parent], data.liMi[i], data.oMi[i]);
    detail::world_columns(n, data.oMi[i], data.J);
    data.oYcrb[i] = InertiaAtOrigin::From(n.inertia, data.oMi[i]);
  }
  Eigen::MatrixXd& M = data.M;
  for (int i = N - 1; i > 0; --i) {
    const Node& n = model.nodes[i];
    const InertiaAtOrigin& Y = data.oYcrb[i];
    for (int k = n.idx_v; k < n.idx_v + n.nv; ++k) {
      const Vec6 F = (Y * detail::column_motion(data.J, k)).vector();
      M(k, k) = data.J.col(k).dot(F) + model.armature[k];
      for (int j = model.dof_parent[k]; j >= 0; j = model.dof_parent[j]) {
        const double mjk = data.J.col(j).dot(F);
        M(j, k) = mjk;
        M(k, j) = mjk;
      }
    }
    if (n.parent > 0) data.oYcrb[n.parent] += Y;
  }
  return M;
}

OH_FLATTEN const Eigen::MatrixXd& compute_minverse(const Model& model, Data& data, const ConstVec& q) {
  crba(model, data, q);
  const int nv = model.nv;
  const int* adr = model.dof_row_adr.data();
  const int* len = model.dof_row_len.data();
  const int* col = model.dof_row_col.data();
  double* LD = data.LD.data();
  // Gather M's lower-triangle non-zeros into compact rows, then factor M = L^T D L from the leaves up
  // (Featherstone 2005 / RBDA Table 6.3, in the row layout of MuJoCo's mj_factorM). Row i = the m-th
  // ancestor of k shares its tail with row k, so each update is one contiguous axpy.
  for (int k = 0; k < nv; ++k)
    for (int m = 0; m < len[k]; ++m) LD[adr[k] + m] = data.M(k, col[adr[k] + m]);
  for (int k = nv - 1; k >= 0; --k) {
    double* rk = LD + adr[k];
    const double inv_d = 1.0 / rk[0];
    for (int m = 1; m < len[k]; ++m) {
      const double s = rk[m] * inv_d;
      double* ri = LD + adr[col[adr[k] + m]];
      const int n = len[k] - m;
      axpy_short(n, -s, rk + m, ri);
      rk[m] = s;
    }
  }
  // M^-1 from L M^-1 = D^-1 L^-T: for b < a, Minv(b, a) = -sum_{j in ancestors(a)} L(a, j) Minv(b, j), and
  // Minv(a, a) = 1 / D(a) - sum_j L(a, j) Minv(j, a). Column a above the diagonal is an axpy of the
  // ancestors' columns; it is then mirrored into row a, which completes those columns for later rows.
  Eigen::MatrixXd& Minv = data.Minv;
  for (int a = 0; a < nv; ++a) {
    const double* ra = LD + adr[a];
    const int* ca = col + adr[a];
    auto ma = Minv.col(a).head(a);
    if (len[a] == 1) {
      ma.setZero();
      Minv(a, a) = 1.0 / ra[0];
      continue;
    }
    ma.noalias() = -ra[1] * Minv.col(ca[1]).head(a);
    for (int m = 2; m < len[a]; ++m) ma.noalias() -= ra[m] * Minv.col(ca[m]).head(a);
    double diag = 1.0 / ra[0];
    for (int m = 1; m < len[a]; ++m) diag -= ra[m] * ma[ca[m]];
    Minv(a, a) = diag;
    Minv.row(a).head(a) = ma.transpose();
  }
  return Minv;
}

const Eigen::VectorXd& aba(const Model& model, Data& data, const ConstVec& q, const ConstVec& v, const ConstVec& tau) {
  const int N = model.num_nodes();
  const double* qd = q.data();
  const double* vd = v.data();
  const double* td = tau.data();
  // Pass 1: placements, world velocities, velocity-product accelerations, rigid inertias and bias forces.
  data.ov[0].set_zero();
  for (int i = 1; i < N; ++i) {
    const Node& n = model.nodes[i];
    const SE3& oMi = data.oMi[i];
    detail::node_placement<true>(n, qd, data.oMi[n.parent], data.liMi[i], data.oMi[i]);
    Motion& ov = data.ov[i];
    if (n.type == JointType::kFree) {
      ov = oMi.act(Motion(Eigen::Map<const Vec3>(vd + n.idx_v), Eigen::Map<const Vec3>(vd + n.idx_v + 3)));
      data.oc[i].set_zero();
    } else {
      Motion& S = data.oS[i];
      detail::world_subspace(n, oMi, S.linear, S.angular);
      const Motion vJ = S * vd[n.idx_v];
      data.oc[i] = data.ov[n.parent].cross(vJ);
      ov = data.ov[n.parent] + vJ;
    }
    const InertiaAtOrigin Y = InertiaAtOrigin::From(n.inertia, oMi);
    Y.matrix(data.Ia[i]);
    data.pA[i] = ov.cross(Y * ov);
  }
  // Pass 2: articulated inertias and bias forces, leaves to root.
  for (int i = N - 1; i > 0; --i) {
    const Node& n = model.nodes[i];
    if (n.type == JointType::kFree) continue;  // a root: handled in pass 3
    const Mat6& Ia = data.Ia[i];
    const Vec6 S = data.oS[i].vector();
    Vec6& U = data.U[i];
    U.noalias() = Ia * S;
    const double Dinv = 1.0 / (S.dot(U) + model.armature[n.idx_v]);
    data.Dinv[i] = Dinv;
    const double u = td[n.idx_v] - S.dot(data.pA[i].vector());
    data.u[i] = u;
    if (n.parent > 0) {
      const Vec6 c = data.oc[i].vector();
      const Vec6 Iac = Ia * c;
      const Vec6 pa = data.pA[i].vector() + Iac + U * (Dinv * (u - U.dot(c)));
      data.pA[n.parent] += Force(pa);
      data.Ia[n.parent] += Ia;
      data.Ia[n.parent].noalias() -= (Dinv * U) * U.transpose();
    }
  }
  // Pass 3: accelerations, root to leaves (gravity as the universe's acceleration).
  data.oa[0] = Motion(-model.gravity, Vec3::Zero());
  for (int i = 1; i < N; ++i) {
    const Node& n = model.nodes[i];
    if (n.type == JointType::kFree) {
      const SE3& oMi = data.oMi[i];
      const Force tau_base(Eigen::Map<const Vec3>(td + n.idx_v), Eigen::Map<const Vec3>(td + n.idx_v + 3));
      const auto arm = model.armature.segment<6>(n.idx_v);
      Motion qdd;
      if (arm.isZero(0.0)) {
        const Vec6 rhs = (oMi.act(tau_base) - data.pA[i]).vector();
        const Motion a1(data.Ia[i].llt().solve(rhs));
        qdd = oMi.act_inv(a1 - data.oa[0]);
      } else {  // (S^T Ia S + A) qdd = tau - S^T (pA + Ia a0), S = X(oMi)
        const Mat6 X = oMi.action_matrix();
        Mat6 Iloc = X.transpose() * data.Ia[i] * X;
        Iloc.diagonal() += arm;
        const Vec6 ia0 = data.Ia[i] * data.oa[0].vector();
        Vec6 rhs = (tau_base - oMi.act_inv(data.pA[i] + Force(ia0))).vector();
        rhs.head<3>() -= free_armature_bias(model, n, vd);
        qdd = Motion(Vec6(Iloc.llt().solve(rhs)));
      }
      data.ddq.segment<3>(n.idx_v) = qdd.linear;
      data.ddq.segment<3>(n.idx_v + 3) = qdd.angular;
      data.oa[i] = data.oa[0] + oMi.act(qdd);
      continue;
    }
    const Motion ap = data.oa[n.parent] + data.oc[i];
    const double qdd = data.Dinv[i] * (data.u[i] - data.U[i].dot(ap.vector()));
    data.ddq[n.idx_v] = qdd;
    data.oa[i] = ap + data.oS[i] * qdd;
  }
  return data.ddq;
}

}  // namespace oh::dynamics
