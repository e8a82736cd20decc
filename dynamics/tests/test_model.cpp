// The dynamics Model's construction (node layout, welded bodies, errors) and the spatial algebra.
#include "test_util.hpp"

#include "dynamics/src/kernels.hpp"

#include <random>

namespace oh::dynamics::test {
namespace {

oh::model::Model compile(const std::string& name, const char* xml) {
  const auto path = write_temp_model(name, xml);
  char err[1024] = "";
  mjModel* m = mj_loadXML(path.c_str(), nullptr, err, sizeof err);
  EXPECT_NE(m, nullptr) << err;
  if (!m) return {};
  oh::model::Model out = oh::model::from_mujoco(m);
  mj_deleteModel(m);
  return out;
}

TEST(DynamicsModel, BallJointIsRejectedWithItsName) {
  const auto src = compile("ball", R"(
<mujoco><worldbody><body name="b"><freejoint/><geom size="0.1" mass="1"/>
  <body name="c" pos="0 0 -0.2"><joint name="shoulder_ball" type="ball"/><geom size="0.1" mass="1"/></body>
</body></worldbody></mujoco>)");
  try {
    Model m(src);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("shoulder_ball"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("ball"), std::string::npos) << e.what();
  }
}

TEST(DynamicsModel, FreeJointBelowAnotherBodyIsRejected) {
  // MuJoCo itself refuses this, so build the source model by hand.
  auto src = compile("free_ok", R"(
<mujoco><worldbody><body name="b"><freejoint name="root"/><geom size="0.1" mass="1"/>
  <body name="c" pos="0 0 -0.2"><joint name="h"/><geom size="0.1" mass="1"/></body>
</body></worldbody></mujoco>)");
  src.joints[1].type = oh::model::JointType::kFree;
  src.joints[1].nq = 7;
  src.joints[1].nv = 6;
  EXPECT_THROW(Model{src}, std::invalid_argument);
}

TEST(DynamicsModel, SyntheticTreeLayout) {
  std::string why;
  Robot* r = get_robot("synthetic_tree", why);
  ASSERT_NE(r, nullptr) << why;
  const Model& m = *r->dyn;
  // universe, root, j1, j2a, j2b, j2c, j3, k1, k2, ball_free, ball_hinge
  ASSERT_EQ(m.num_nodes(), 11);
  EXPECT_EQ(m.node_names[3], "j2a");
  EXPECT_EQ(m.nodes[4].parent, 3);  // j2b follows j2a in the same body
  EXPECT_EQ(m.nodes[5].parent, 4);
  EXPECT_EQ(m.nodes[3].inertia.mass, 0.0);  // only the body's last joint carries its inertia
  EXPECT_EQ(m.nodes[4].inertia.mass, 0.0);
  EXPECT_NEAR(m.nodes[5].inertia.mass, 0.8 + 0.4, 1e-12);  // a2 and the welded a2_welded
  EXPECT_NEAR(m.nodes[0].inertia.mass, 0.7, 1e-12);        // deco is welded to the world
  EXPECT_EQ(m.nodes[1].type, JointType::kFree);
  EXPECT_EQ(m.nodes[2].axis_index, -1);  // unaligned axis
  EXPECT_EQ(m.nodes[4].axis_index, 1);
  EXPECT_EQ(m.nodes[4].axis_sign, -1.0);
  EXPECT_EQ(m.nodes[5].type, JointType::kPrismatic);
  EXPECT_EQ(m.nodes[1].subtree_end, 8);
  EXPECT_EQ(m.nodes[9].subtree_end, 10);
  EXPECT_NEAR(m.nodes[2].q0, 0.2, 1e-15);
  const int tip = m.frame_id("tip");
  ASSERT_GE(tip, 0);
  EXPECT_TRUE(m.frames[tip].is_site);
  EXPECT_EQ(m.frames[tip].node, 5);
  EXPECT_EQ(m.frame_id("no such frame"), -1);
  EXPECT_EQ(m.node_id("k2"), 8);
  EXPECT_NEAR(m.armature[m.nodes[9].idx_v], 0.1, 1e-15);
  Data d(m);
  EXPECT_THROW(frame_placement(m, d, 1000), std::out_of_range);
  EXPECT_THROW(frame_velocity(m, d, -1, ReferenceFrame::kLocal), std::out_of_range);
}

// --- spatial algebra -----------------------------------------------------------------------------------

SE3 random_se3(std::mt19937_64& rng) {
  std::normal_distribution<double> n;
  Eigen::Quaterniond q(n(rng), n(rng), n(rng), n(rng));
  return SE3::FromQuat(q, Vec3(n(rng), n(rng), n(rng)));
}
Vec6 random6(std::mt19937_64& rng) {
  std::normal_distribution<double> n;
  Vec6 v;
  for (int k = 0; k < 6; ++k) v[k] = n(rng);
  return v;
}

TEST(Spatial, TransformsMatchTheirMatrices) {
  std::mt19937_64 rng(3);
  for (int t = 0; t < 100; ++t) {
    const SE3 X = random_se3(rng), Y = random_se3(rng);
    const Motion m(random6(rng));
    const Force f(random6(rng));
    const Mat6 A = X.action_matrix();
    EXPECT_TRUE(near(X.act(m).vector(), Vec6(A * m.vector()), 1e-12));
    EXPECT_TRUE(near(X.act_inv(X.act(m)).vector(), m.vector(), 1e-12));
    // Forces transform by the inverse transpose, so the power pairing is invariant.
    EXPECT_TRUE(near(X.act(f).vector(), Vec6(A.inverse().transpose() * f.vector()), 1e-12));
    EXPECT_TRUE(near(X.act_inv(X.act(f)).vector(), f.vector(), 1e-12));
    EXPECT_NEAR(X.act(m).dot(X.act(f)), m.dot(f), 1e-10);
    EXPECT_TRUE((X * Y).action_matrix().isApprox(A * Y.action_matrix(), 1e-12));
    EXPECT_TRUE((X * X.inverse()).is_approx(SE3::Identity(), 1e-12));
  }
}

TEST(Spatial, CrossProductsAndInertia) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0.1, 2.0);
  for (int t = 0; t < 100; ++t) {
    const Motion m1(random6(rng)), m2(random6(rng));
    const Force f(random6(rng));
    // crm(v) = [[w]x, [v]x; 0, [w]x]; crf(v) = -crm(v)^T (RBDA eq. 2.31-2.32).
    Mat6 crm = Mat6::Zero();
    crm.topLeftCorner<3, 3>() = skew(m1.angular);
    crm.topRightCorner<3, 3>() = skew(m1.linear);
    crm.bottomRightCorner<3, 3>() = skew(m1.angular);
    EXPECT_TRUE(near(m1.cross(m2).vector(), Vec6(crm * m2.vector()), 1e-12));
    EXPECT_TRUE(near(m1.cross(f).vector(), Vec6(-crm.transpose() * f.vector()), 1e-12));

    // A random inertia: product, transform and sum agree with the 6x6 matrices.
    const Mat3 Rr = random_se3(rng).R;
    const Mat3 Ic = Rr * Vec3(u(rng), u(rng), u(rng)).asDiagonal() * Rr.transpose();
    const Inertia I(u(rng), Vec3(random6(rng).head<3>()), Ic);
    const SE3 X = random_se3(rng);
    const Mat6 Xinv = X.inverse().action_matrix();
    EXPECT_TRUE(near((I * m1).vector(), Vec6(I.matrix() * m1.vector()), 1e-12));
    const Mat6 moved = Xinv.transpose() * I.matrix() * Xinv;  // X* I X^-1
    EXPECT_TRUE(near(I.transformed(X).matrix(), moved, 1e-12));
    EXPECT_TRUE(near(InertiaAtOrigin::From(I, X).matrix(), moved, 1e-12));
    EXPECT_TRUE(near((InertiaAtOrigin::From(I, X) * m1).vector(), Vec6(moved * m1.vector()), 1e-12));
    Inertia sum = I;
    sum += I.transformed(X);
    EXPECT_TRUE(near(sum.matrix(), Mat6(I.matrix() + moved), 1e-12));
    EXPECT_TRUE(near(InertiaAtOrigin::From(I, SE3::Identity()).com(), I.com, 1e-12));
  }
}

TEST(Kernels, SinCosAgreesWithLibm) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> wide(-50.0, 50.0), narrow(-4.0, 4.0);
  double worst = 0.0;
  auto check = [&](double x) {
    double s, c;
    detail::sin_cos(x, s, c);
    worst = std::max({worst, std::abs(s - std::sin(x)), std::abs(c - std::cos(x))});
  };
  for (int t = 0; t < 200000; ++t) {
    check(wide(rng));
    check(narrow(rng));
  }
  for (double x : {0.0, -0.0, 1e-300, M_PI / 4, M_PI / 2, M_PI, 3 * M_PI / 2, -M_PI, 1e4 + 0.5, 99999.0, 1e5, 1e7, -1e9})
    check(x);
  EXPECT_LE(worst, 4.5e-16);  // two ulps of 1
}

}  // namespace
}  // namespace oh::dynamics::test
