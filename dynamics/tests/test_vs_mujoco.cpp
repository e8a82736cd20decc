// oh::dynamics against MuJoCo 2.2.2 (contacts, constraints, passive and actuator forces disabled), on
// every robot of robot_paths(): kinematics, Jacobians, RNEA, CRBA, ABA, centre of mass, centroidal
// momentum. Each test runs kStates random states; tolerance ||a - b|| <= 1e-9 max(1, ||b||).
#include "test_util.hpp"

namespace oh::dynamics::test {
namespace {

class VsMujoco : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    robot_ = get_robot(GetParam(), why);
    if (!robot_) GTEST_SKIP() << why;
    m_ = robot_->mj.get();
    model_ = robot_->dyn.get();
    data_ = std::make_unique<Data>(*model_);
    d_ = std::make_unique<MjData>(m_);
  }

  // Writes (q, v, a) into MuJoCo's qpos / qvel / qacc in MuJoCo's convention.
  void set_mujoco_state(const State& s) {
    Eigen::Map<Eigen::VectorXd>((*d_)->qpos, m_->nq) = s.q;
    Eigen::Map<Eigen::VectorXd> qvel((*d_)->qvel, m_->nv), qacc((*d_)->qacc, m_->nv);
    velocity_to_mujoco(*model_, s.q, s.v, qvel);
    acceleration_to_mujoco(*model_, s.q, s.v, s.a, qacc);
  }

  Robot* robot_ = nullptr;
  mjModel* m_ = nullptr;
  const Model* model_ = nullptr;
  std::unique_ptr<Data> data_;
  std::unique_ptr<MjData> d_;
};

TEST_P(VsMujoco, ModelStructureMatches) {
  EXPECT_EQ(model_->nq, m_->nq);
  EXPECT_EQ(model_->nv, m_->nv);
  EXPECT_EQ(model_->num_nodes(), m_->njnt + 1);
  EXPECT_EQ(model_->frames.size(), static_cast<size_t>(m_->nbody + m_->nsite));
  for (int b = 0; b < m_->nbody; ++b) EXPECT_EQ(model_->frames[model_->body_frame[b]].body, b);
  for (int k = 0; k < m_->nv; ++k) {
    const int p = model_->dof_parent[k];
    EXPECT_EQ(p, m_->dof_parentid[k]) << "dof " << k;
  }
  EXPECT_NEAR(model_->total_mass, mj_getTotalmass(m_), 1e-12);
}

TEST_P(VsMujoco, ForwardKinematicsMatchesBodyAndSitePoses) {
  for (int t = 0; t < kStates; ++t) {
    State s = random_state(*model_, t);
    // Every fifth state has free-joint quaternions off the unit sphere: both sides normalise them.
    if (t % 5 == 0)
      for (const Node& n : model_->nodes)
        if (n.type == JointType::kFree) s.q.segment<4>(n.idx_q + 3) *= 1.0 + 0.1 * (t % 7);
    set_mujoco_state(s);
    mj_kinematics(m_, *d_);
    forward_kinematics(*model_, *data_, s.q);
    update_frame_placements(*model_, *data_);
    for (int b = 1; b < m_->nbody; ++b) {
      const SE3& oMf = data_->oMf[model_->body_frame[b]];
      const Eigen::Map<const Vec3> xpos((*d_)->xpos + 3 * b);
      const Eigen::Map<const Eigen::Matrix<double, 3, 3, Eigen::RowMajor>> xmat((*d_)->xmat + 9 * b);
      ASSERT_TRUE(near(oMf.p, xpos)) << "body " << b << " state " << t;
      ASSERT_TRUE(near(oMf.R, Mat3(xmat))) << "body " << b << " state " << t;
    }
    for (int k = 0; k < m_->nsite; ++k) {
      const SE3& oMf = data_->oMf[m_->nbody + k];
      const Eigen::Map<const Vec3> xpos((*d_)->site_xpos + 3 * k);
      const Eigen::Map<const Eigen::Matrix<double, 3, 3, Eigen::RowMajor>> xmat((*d_)->site_xmat + 9 * k);
      ASSERT_TRUE(near(oMf.p, xpos)) << "site " << k << " state " << t;
      ASSERT_TRUE(near(oMf.R, Mat3(xmat))) << "site " << k << " state " << t;
      ASSERT_TRUE(frame_placement(*model_, *data_, m_->nbody + k).is_approx(oMf, 0.0));
    }
  }
}

TEST_P(VsMujoco, RneaMatchesMjInverse) {
  Eigen::VectorXd expected(model_->nv), rne(model_->nv);
  for (int t = 0; t < kStates; ++t) {
    const State s = random_state(*model_, t);
    set_mujoco_state(s);
    mj_inverse(m_, *d_);
    const Eigen::Map<const Eigen::VectorXd> qfrc((*d_)->qfrc_inverse, m_->nv);
    force_from_mujoco(*model_, s.q, qfrc, expected);
    const Eigen::VectorXd& tau = rnea(*model_, *data_, s.q, s.v, s.a);
    ASSERT_TRUE(near(tau, expected)) << "state " << t;

    // mj_rne alone leaves the armature out.
    mj_rne(m_, *d_, 1, rne.data());
    const Eigen::Map<const Eigen::VectorXd> qacc((*d_)->qacc, m_->nv);
    rne += model_->armature.cwiseProduct(qacc);
    force_from_mujoco(*model_, s.q, rne, rne);
    ASSERT_TRUE(near(tau, rne)) << "state " << t;

    // Generalised gravity and nonlinear effects are rnea with a (and v) set to zero.
    const Eigen::VectorXd zero = Eigen::VectorXd::Zero(model_->nv);
    const Eigen::VectorXd g_ref = rnea(*model_, *data_, s.q, zero, zero);
    const Eigen::VectorXd nle_ref = rnea(*model_, *data_, s.q, s.v, zero);
    ASSERT_TRUE(near(compute_generalized_gravity(*model_, *data_, s.q), g_ref));
    ASSERT_TRUE(near(nonlinear_effects(*model_, *data_, s.q, s.v), nle_ref));
  }
}

TEST_P(VsMujoco, RneaPlusDampingMatchesMjInverseWithPassiveForces) {
  // qfrc_inverse = M a + bias - qfrc_passive with qfrc_passive = -damping .* qvel - stiffness (q - q_spring).
  // A free joint's damping is isotropic, so -damping R v_lin maps back to -damping v_lin.
  for (int j = 0; j < m_->njnt; ++j)
    if (m_->jnt_type[j] == mjJNT_FREE && m_->jnt_stiffness[j] != 0.0) GTEST_SKIP() << "free joint with a spring";
  Eigen::VectorXd spring = Eigen::VectorXd::Zero(model_->nv);
  const int saved = m_->opt.disableflags;
  m_->opt.disableflags &= ~mjDSBL_PASSIVE;
  Eigen::VectorXd expected(model_->nv);
  for (int t = 0; t < kStates; ++t) {
    const State s = random_state(*model_, t);
    for (int j = 0; j < m_->njnt; ++j)
      if (m_->jnt_type[j] == mjJNT_HINGE || m_->jnt_type[j] == mjJNT_SLIDE) {
        const int qa = m_->jnt_qposadr[j];
        spring[m_->jnt_dofadr[j]] = m_->jnt_stiffness[j] * (s.q[qa] - m_->qpos_spring[qa]);
      }
    set_mujoco_state(s);
    mj_inverse(m_, *d_);
    force_from_mujoco(*model_, s.q, Eigen::Map<const Eigen::VectorXd>((*d_)->qfrc_inverse, m_->nv), expected);
    const Eigen::VectorXd tau = rnea(*model_, *data_, s.q, s.v, s.a) + model_->damping.cwiseProduct(s.v) + spring;
    ASSERT_TRUE(near(tau, expected)) << "state " << t;
  }
  m_->opt.disableflags = saved;
}

TEST_P(VsMujoco, CrbaMatchesMjFullM) {
  Eigen::MatrixXd full(model_->nv, model_->nv), expected(model_->nv, model_->nv);
  for (int t = 0; t < kStates; ++t) {
    const State s = random_state(*model_, t);
    set_mujoco_state(s);
    mj_fwdPosition(m_, *d_);
    mj_fullM(m_, full.data(), (*d_)->qM);  // symmetric, so row/column order does not matter
    mass_matrix_from_mujoco(*model_, s.q, full, expected);
    const Eigen::MatrixXd& M = crba(*model_, *data_, s.q);
    ASSERT_TRUE(near(M, expected)) << "state " << t;
    ASSERT_TRUE(near(M, Eigen::MatrixXd(M.transpose()), 0.0));
  }
}

TEST_P(VsMujoco, AbaMatchesMjForward) {
  Eigen::VectorXd expected(model_->nv);
  for (int t = 0; t < kStates; ++t) {
    const State s = random_state(*model_, t);
    set_mujoco_state(s);
    Eigen::Map<Eigen::VectorXd> applied((*d_)->qfrc_applied, m_->nv);
    force_to_mujoco(*model_, s.q, s.tau, applied);
    mj_forward(m_, *d_);
    acceleration_from_mujoco(*model_, s.q, s.v, Eigen::Map<const Eigen::VectorXd>((*d_)->qacc, m_->nv), expected);
    const Eigen::VectorXd& ddq = aba(*model_, *data_, s.q, s.v, s.tau);
    ASSERT_TRUE(near(ddq, expected)) << "state " << t;
    applied.setZero();
  }
}

TEST_P(VsMujoco, FrameJacobiansMatchMjJacBodyAndSite) {
  const int nv = model_->nv;
  RowMat jacp(3, nv), jacr(3, nv);
  Eigen::MatrixXd J_mj(6, nv), expected(6, nv);
  Matrix6Xd J(6, nv), J2(6, nv);
  for (int t = 0; t < kStates; ++t) {
    const State s = random_state(*model_, t);
    set_mujoco_state(s);
    mj_fwdPosition(m_, *d_);
    compute_joint_jacobians(*model_, *data_, s.q);
    for (int k = 1; k < m_->nbody + m_->nsite; ++k) {
      const bool site = k >= m_->nbody;
      const int id = site ? k - m_->nbody : k;
      const int frame = site ? k : model_->body_frame[k];
      if (site) {
        mj_jacSite(m_, *d_, jacp.data(), jacr.data(), id);
      } else {
        mj_jacBody(m_, *d_, jacp.data(), jacr.data(), id);
      }
      J_mj << jacp, jacr;
      jacobian_from_mujoco(*model_, s.q, J_mj, expected);
      const Vec3 p = Eigen::Map<const Vec3>(site ? (*d_)->site_xpos + 3 * id : (*d_)->xpos + 3 * id);
      const Mat3 R = Eigen::Map<const Eigen::Matrix<double, 3, 3, Eigen::RowMajor>>(
          site ? (*d_)->site_xmat + 9 * id : (*d_)->xmat + 9 * id);

      frame_jacobian(*model_, *data_, frame, ReferenceFrame::kLocalWorldAligned, J);
      ASSERT_TRUE(near(Eigen::MatrixXd(J), expected)) << "LWA frame " << model_->frames[frame].name << " state " << t;

      // World: the twist about the world origin, v_o = v_p + p x w.
      Eigen::MatrixXd world = expected;
      world.topRows<3>() += skew(p) * expected.bottomRows<3>();
      frame_jacobian(*model_, *data_, frame, ReferenceFrame::kWorld, J);
      ASSERT_TRUE(near(Eigen::MatrixXd(J), world)) << "WORLD frame " << model_->frames[frame].name;

      // Local: frame axes.
      Eigen::MatrixXd local(6, nv);
      local.topRows<3>() = R.transpose() * expected.topRows<3>();
      local.bottomRows<3>() = R.transpose() * expected.bottomRows<3>();
      frame_jacobian(*model_, *data_, frame, ReferenceFrame::kLocal, J);
      ASSERT_TRUE(near(Eigen::MatrixXd(J), local)) << "LOCAL frame " << model_->frames[frame].name;

      // The single-frame variant agrees (it recomputes the kinematics itself).
      for (ReferenceFrame rf : {ReferenceFrame::kLocal, ReferenceFrame::kWorld, ReferenceFrame::kLocalWorldAligned}) {
        frame_jacobian(*model_, *data_, frame, rf, J);
        Data scratch(*model_);
        compute_frame_jacobian(*model_, scratch, s.q, frame, rf, J2);
        ASSERT_TRUE(near(J2, J, 1e-12));
      }
    }
  }
}

TEST_P(VsMujoco, FrameVelocitiesMatchMjObjectVelocity) {
  const int nv = model_->nv;
  Matrix6Xd J(6, nv);
  for (int t = 0; t < kStates; ++t) {
    const State s = random_state(*model_, t);
    set_mujoco_state(s);
    mj_forward(m_, *d_);
    forward_kinematics(*model_, *data_, s.q, s.v);
    compute_joint_jacobians(*model_, *data_);
    for (int k = 1; k < m_->nbody + m_->nsite; ++k) {
      const bool site = k >= m_->nbody;
      const int id = site ? k - m_->nbody : k;
      const int frame = site ? k : model_->body_frame[k];
      for (int local = 0; local < 2; ++local) {
        mjtNum res[6];
        mj_objectVelocity(m_, *d_, site ? mjOBJ_SITE : mjOBJ_XBODY, id, res, local);
        Vec6 expected;
        expected << res[3], res[4], res[5], res[0], res[1], res[2];
        const ReferenceFrame rf = local ? ReferenceFrame::kLocal : ReferenceFrame::kLocalWorldAligned;
        const Vec6 got = frame_velocity(*model_, *data_, frame, rf).vector();
        ASSERT_TRUE(near(got, expected)) << model_->frames[frame].name << (local ? " LOCAL" : " LWA") << " state " << t;
      }
      for (ReferenceFrame rf : {ReferenceFrame::kLocal, ReferenceFrame::kWorld, ReferenceFrame::kLocalWorldAligned}) {
        frame_jacobian(*model_, *data_, frame, rf, J);
        ASSERT_TRUE(near(frame_velocity(*model_, *data_, frame, rf).vector(), Vec6(J * s.v)));
      }
    }
  }
}

TEST_P(VsMujoco, CenterOfMassMatchesSubtreeCom) {
  for (int t = 0; t < kStates; ++t) {
    const State s = random_state(*model_, t);
    set_mujoco_state(s);
    mj_fwdPosition(m_, *d_);
    const Vec3 expected = Eigen::Map<const Vec3>((*d_)->subtree_com);
    ASSERT_TRUE(near(center_of_mass(*model_, *data_, s.q), expected)) << "state " << t;
    EXPECT_NEAR(data_->mass, mj_getTotalmass(m_), 1e-12);
    // Subtree centres of mass of the nodes' bodies (a node's subtree = its body's MuJoCo subtree when the
    // body has one joint).
    for (int i = 1; i < model_->num_nodes(); ++i) {
      const Node& n = model_->nodes[i];
      if (robot_->model.bodies[n.body].joints.size() != 1) continue;
      const Vec3 sub = Eigen::Map<const Vec3>((*d_)->subtree_com + 3 * n.body);
      ASSERT_TRUE(near(data_->com_subtree[i], sub)) << "node " << model_->node_names[i];
    }
  }
}

TEST_P(VsMujoco, CentroidalMomentumMatchesSumOverBodies) {
  for (int t = 0; t < kStates; ++t) {
    const State s = random_state(*model_, t);
    set_mujoco_state(s);
    mj_forward(m_, *d_);
    const Vec3 c = Eigen::Map<const Vec3>((*d_)->subtree_com);
    Vec3 lin = Vec3::Zero(), ang = Vec3::Zero();
    for (int b = 1; b < m_->nbody; ++b) {
      mjtNum res[6];
      mj_objectVelocity(m_, *d_, mjOBJ_BODY, b, res, 0);  // [w; v] at the body's centre of mass, world axes
      const Vec3 w(res[0], res[1], res[2]), vc(res[3], res[4], res[5]);
      const double mass = m_->body_mass[b];
      const Mat3 R = Eigen::Map<const Eigen::Matrix<double, 3, 3, Eigen::RowMajor>>((*d_)->ximat + 9 * b);
      const Mat3 I = R * Eigen::Map<const Vec3>(m_->body_inertia + 3 * b).asDiagonal() * R.transpose();
      const Vec3 cb = Eigen::Map<const Vec3>((*d_)->xipos + 3 * b);
      lin += mass * vc;
      ang += I * w + mass * (cb - c).cross(vc);
    }
    Vec6 expected;
    expected << lin, ang;
    const Matrix6Xd& Ag = ccrba(*model_, *data_, s.q, s.v);
    ASSERT_TRUE(near(data_->hg.vector(), expected)) << "state " << t;
    ASSERT_TRUE(near(Vec6(Ag * s.v), expected));
    ASSERT_TRUE(near(data_->com, c));
    // The centroidal inertia maps the average spatial velocity to the momentum: its linear block is m 1.
    EXPECT_NEAR(data_->Ig(0, 0), mj_getTotalmass(m_), 1e-9);
    // compute_centroidal_momentum_time_variation also reports hg.
    compute_centroidal_momentum_time_variation(*model_, *data_, s.q, s.v, s.a);
    ASSERT_TRUE(near(data_->hg.vector(), expected));
  }
}

INSTANTIATE_TEST_SUITE_P(Robots, VsMujoco, ::testing::ValuesIn(robot_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace oh::dynamics::test
