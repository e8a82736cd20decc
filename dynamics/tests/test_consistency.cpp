// Internal consistency of oh::dynamics on every robot: M^-1 M = I, aba(rnea(a)) = a, and the time
// derivatives (dJ/dt, vcom, dhg, classical accelerations) against finite differences along
// q(t) = integrate(q, v t), v(t) = v + a t. The differences use Richardson extrapolation of central
// differences (error O(h^4)), accurate to ~1e-11, so the 1e-9 relative tolerance applies.
#include "test_util.hpp"

#include <functional>

namespace oh::dynamics::test {
namespace {

/// d/dt f(t) at t = 0 by Richardson-extrapolated central differences.
template <class T>
T derivative(const std::function<T(double)>& f, double h = 1e-3) {
  const T d1 = (f(h) - f(-h)) / (2 * h);
  const T d2 = (f(h / 2) - f(-h / 2)) / h;
  return (4 * d2 - d1) / 3;
}

class Consistency : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    robot_ = get_robot(GetParam(), why);
    if (!robot_) GTEST_SKIP() << why;
    model_ = robot_->dyn.get();
    data_ = std::make_unique<Data>(*model_);
  }
  Eigen::VectorXd q_at(const State& s, double t) const {
    Eigen::VectorXd q(model_->nq);
    integrate(*model_, s.q, s.v, t, q);
    return q;
  }
  Robot* robot_ = nullptr;
  const Model* model_ = nullptr;
  std::unique_ptr<Data> data_;
};

TEST_P(Consistency, MinverseTimesMIsIdentity) {
  const int nv = model_->nv;
  const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(nv, nv);
  for (int t = 0; t < kStates; ++t) {
    const State s = random_state(*model_, t);
    const Eigen::MatrixXd M = crba(*model_, *data_, s.q);
    const Eigen::MatrixXd& Minv = compute_minverse(*model_, *data_, s.q);
    ASSERT_TRUE(near(Eigen::MatrixXd(Minv * M), I)) << "state " << t;
    ASSERT_TRUE(near(Minv, Eigen::MatrixXd(Minv.transpose()), 0.0));
    ASSERT_TRUE(near(Minv, Eigen::MatrixXd(M.inverse())));
    // The factor reproduces M: M = L^T D L.
    Eigen::MatrixXd L = Eigen::MatrixXd::Identity(nv, nv);
    Eigen::VectorXd D(nv);
    for (int k = 0; k < nv; ++k) {
      const int adr = model_->dof_row_adr[k];
      D[k] = data_->LD[adr];
      for (int m = 1; m < model_->dof_row_len[k]; ++m) L(k, model_->dof_row_col[adr + m]) = data_->LD[adr + m];
    }
    const Eigen::MatrixXd LtDL = L.transpose() * D.asDiagonal() * L;
    ASSERT_TRUE(near(LtDL, M));
  }
}

TEST_P(Consistency, AbaInvertsRnea) {
  for (int t = 0; t < kStates; ++t) {
    const State s = random_state(*model_, t);
    const Eigen::VectorXd tau = rnea(*model_, *data_, s.q, s.v, s.a);
    ASSERT_TRUE(near(aba(*model_, *data_, s.q, s.v, tau), s.a)) << "state " << t;
    // aba = M^-1 (tau - nle).
    const Eigen::VectorXd nle = nonlinear_effects(*model_, *data_, s.q, s.v);
    const Eigen::MatrixXd Minv = compute_minverse(*model_, *data_, s.q);
    ASSERT_TRUE(near(aba(*model_, *data_, s.q, s.v, s.tau), Eigen::VectorXd(Minv * (s.tau - nle))));
    // rnea = M a + nle.
    const Eigen::MatrixXd M = crba(*model_, *data_, s.q);
    ASSERT_TRUE(near(rnea(*model_, *data_, s.q, s.v, s.a), Eigen::VectorXd(M * s.a + nle)));
  }
}

TEST_P(Consistency, JacobianTimeVariationMatchesFiniteDifferences) {
  const int nv = model_->nv;
  Matrix6Xd J(6, nv), dJ(6, nv);
  Data scratch(*model_);
  const int nframes = static_cast<int>(model_->frames.size());
  for (int t = 0; t < kStates; ++t) {
    const State s = random_state(*model_, t);
    compute_joint_jacobians_time_variation(*model_, *data_, s.q, s.v);
    for (int frame = 0; frame < nframes; frame += (t % 3) + 1) {  // every frame over three states
      for (ReferenceFrame rf : {ReferenceFrame::kLocal, ReferenceFrame::kWorld, ReferenceFrame::kLocalWorldAligned}) {
        frame_jacobian_time_variation(*model_, *data_, frame, rf, dJ);
        const std::function<Eigen::MatrixXd(double)> Jt = [&](double h) {
          compute_joint_jacobians(*model_, scratch, q_at(s, h));
          frame_jacobian(*model_, scratch, frame, rf, J);
          return Eigen::MatrixXd(J);
        };
        ASSERT_TRUE(near(Eigen::MatrixXd(dJ), derivative(Jt)))
            << model_->frames[frame].name << " rf " << static_cast<int>(rf) << " state " << t;
      }
    }
  }
}

TEST_P(Consistency, FrameAccelerationsMatchJacobiansAndFiniteDifferences) {
  const int nv = model_->nv;
  Matrix6Xd J(6, nv), dJ(6, nv);
  Data scratch(*model_);
  for (int t = 0; t < kStates; ++t) {
    const State s = random_state(*model_, t);
    compute_joint_jacobians_time_variation(*model_, *data_, s.q, s.v);
    forward_kinematics(*model_, *data_, s.q, s.v, s.a);
    for (int frame = 1; frame < static_cast<int>(model_->frames.size()); ++frame) {
      for (ReferenceFrame rf : {ReferenceFrame::kLocal, ReferenceFrame::kWorld, ReferenceFrame::kLocalWorldAligned}) {
        frame_jacobian(*model_, *data_, frame, rf, J);
        frame_jacobian_time_variation(*model_, *data_, frame, rf, dJ);
        // J v is [origin velocity; w] in kLocalWorldAligned, so J a + dJ v is the classical acceleration
        // there; in kLocal and kWorld it is the spatial acceleration.
        const Motion acc = rf == ReferenceFrame::kLocalWorldAligned
                               ? frame_classical_acceleration(*model_, *data_, frame, rf)
                               : frame_acceleration(*model_, *data_, frame, rf);
        ASSERT_TRUE(near(acc.vector(), Vec6(J * s.a + dJ * s.v)))
            << model_->frames[frame].name << " rf " << static_cast<int>(rf);
      }
    }
    if (t % 10 != 0) continue;
    // Classical acceleration of the frame origin = d/dt of its world velocity (and of its position twice).
    for (int frame = 1; frame < static_cast<int>(model_->frames.size()); ++frame) {
      const std::function<Vec3(double)> vel = [&](double h) {
        forward_kinematics(*model_, scratch, q_at(s, h), s.v + h * s.a);
        return frame_velocity(*model_, scratch, frame, ReferenceFrame::kLocalWorldAligned).linear;
      };
      const std::function<Vec3(double)> pos = [&](double h) {
        forward_kinematics(*model_, scratch, q_at(s, h));
        return frame_placement(*model_, scratch, frame).p;
      };
      const Motion acc = frame_classical_acceleration(*model_, *data_, frame, ReferenceFrame::kLocalWorldAligned);
      ASSERT_TRUE(near(acc.linear, derivative(vel))) << model_->frames[frame].name;
      ASSERT_TRUE(near(frame_velocity(*model_, *data_, frame, ReferenceFrame::kLocalWorldAligned).linear, derivative(pos)));
      const Motion local = frame_classical_acceleration(*model_, *data_, frame, ReferenceFrame::kLocal);
      const Mat3 R = frame_placement(*model_, *data_, frame).R;
      ASSERT_TRUE(near(Vec3(R * local.linear), acc.linear));
    }
  }
}

TEST_P(Consistency, CenterOfMassVelocityAndJacobian) {
  Data scratch(*model_);
  for (int t = 0; t < kStates; ++t) {
    const State s = random_state(*model_, t);
    center_of_mass(*model_, *data_, s.q, s.v);
    const std::function<Vec3(double)> com = [&](double h) { return center_of_mass(*model_, scratch, q_at(s, h)); };
    ASSERT_TRUE(near(data_->vcom, derivative(com))) << "state " << t;
    const Vec3 vcom = data_->vcom;
    ASSERT_TRUE(near(Vec3(jacobian_center_of_mass(*model_, *data_, s.q) * s.v), vcom));
    ASSERT_TRUE(near(data_->com, center_of_mass(*model_, scratch, s.q)));
  }
}

TEST_P(Consistency, CentroidalMomentumAndItsRate) {
  Data scratch(*model_);
  for (int t = 0; t < kStates; ++t) {
    const State s = random_state(*model_, t);
    ccrba(*model_, *data_, s.q, s.v);
    const Vec6 hg = data_->hg.vector();
    // Linear momentum = m vcom; the centroidal inertia is symmetric positive definite.
    center_of_mass(*model_, scratch, s.q, s.v);
    ASSERT_TRUE(near(Vec3(hg.head<3>()), Vec3(scratch.mass * scratch.vcom)));
    ASSERT_TRUE(near(data_->Ig, Mat6(data_->Ig.transpose()), 1e-14));
    ASSERT_EQ(data_->Ig.llt().info(), Eigen::Success);
    const Force dhg = compute_centroidal_momentum_time_variation(*model_, *data_, s.q, s.v, s.a);
    ASSERT_TRUE(near(data_->hg.vector(), hg));
    const std::function<Vec6(double)> h = [&](double dt) {
      ccrba(*model_, scratch, q_at(s, dt), s.v + dt * s.a);
      return scratch.hg.vector();
    };
    ASSERT_TRUE(near(dhg.vector(), derivative(h))) << "state " << t;
    // a = 0 gives the bias dAg v, and dhg is affine in a: dhg(a) = Ag a + dAg v.
    const Eigen::VectorXd zero = Eigen::VectorXd::Zero(model_->nv);
    const Vec6 bias = compute_centroidal_momentum_time_variation(*model_, *data_, s.q, s.v, zero).vector();
    const Matrix6Xd& Ag = ccrba(*model_, scratch, s.q, s.v);
    ASSERT_TRUE(near(dhg.vector(), Vec6(Ag * s.a + bias)));
  }
}

TEST_P(Consistency, IntegrateIsAOneParameterSubgroupAndConversionsRoundTrip) {
  for (int t = 0; t < kStates; ++t) {
    const State s = random_state(*model_, t);
    Eigen::VectorXd q1 = q_at(s, 0.3), q2(model_->nq), q3 = q_at(s, 0.5);
    integrate(*model_, q1, s.v, 0.2, q2);
    ASSERT_TRUE(near(q2, q3, 1e-12)) << "state " << t;
    // In place, and the base's world velocity is R v_lin (what velocity_to_mujoco gives).
    Eigen::VectorXd qvel(model_->nv), back(model_->nv);
    velocity_to_mujoco(*model_, s.q, s.v, qvel);
    velocity_from_mujoco(*model_, s.q, qvel, back);
    ASSERT_TRUE(near(back, s.v, 1e-14));
    force_to_mujoco(*model_, s.q, s.tau, qvel);
    force_from_mujoco(*model_, s.q, qvel, back);
    ASSERT_TRUE(near(back, s.tau, 1e-14));
    acceleration_to_mujoco(*model_, s.q, s.v, s.a, qvel);
    acceleration_from_mujoco(*model_, s.q, s.v, qvel, back);
    ASSERT_TRUE(near(back, s.a, 1e-13));
    if (model_->has_floating_base()) {
      velocity_to_mujoco(*model_, s.q, s.v, qvel);
      const std::function<Vec3(double)> p = [&](double h) { return Vec3(q_at(s, h).head<3>()); };
      ASSERT_TRUE(near(Vec3(qvel.head<3>()), derivative(p)));
    }
  }
  // integrate normalises the quaternion; normalize() does so in place.
  if (model_->has_floating_base()) {
    Eigen::VectorXd q = model_->qpos0;
    q.segment<4>(3) *= 3.0;
    Eigen::VectorXd out(model_->nq);
    integrate(*model_, q, Eigen::VectorXd::Zero(model_->nv), 0.1, out);
    EXPECT_NEAR(out.segment<4>(3).norm(), 1.0, 1e-15);
    normalize(*model_, q);
    EXPECT_NEAR(q.segment<4>(3).norm(), 1.0, 1e-15);
  }
}

INSTANTIATE_TEST_SUITE_P(Robots, Consistency, ::testing::ValuesIn(robot_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace oh::dynamics::test
