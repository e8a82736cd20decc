// Tests of oh::model::load on the stock third-party robots in ../shared (unmodified MuJoCo 3 / URDF files)
// and on broken files.
#include "model/compat.hpp"
#include "model/model.hpp"

#include <gtest/gtest.h>
#include <mujoco/mujoco.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using oh::model::LoadedRobot;
using oh::model::ModelError;

fs::path shared() { return oh::model::shared_dir(); }

#define REQUIRE_SHARED()                                                        \
  do {                                                                          \
    if (!fs::is_directory(shared() / "robots")) GTEST_SKIP() << "../shared not found"; \
  } while (0)

/// Loads a file under ../shared once per test program.
const LoadedRobot& robot(const std::string& rel) {
  static std::map<std::string, LoadedRobot> cache;
  auto it = cache.find(rel);
  if (it == cache.end()) it = cache.emplace(rel, oh::model::load(shared() / rel)).first;
  return it->second;
}

bool has_rewrite(const LoadedRobot& r, const std::string& needle) {
  const auto& v = r.model.compat_rewrites;
  return std::any_of(v.begin(), v.end(), [&](const std::string& s) { return s.find(needle) != std::string::npos; });
}

int count_planes(const mjModel* m) {
  int n = 0;
  for (int g = 0; g < m->ngeom; ++g) n += m->geom_type[g] == mjGEOM_PLANE;
  return n;
}

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> n{0};
    path_ = fs::temp_directory_path() / ("oh_load_test_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path write(const std::string& rel, const std::string& text) const {
    const fs::path p = path_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string load_error(const fs::path& file) {
  try {
    oh::model::load(file);
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}

// ------------------------------------------------------------------------------------------------
// Every stock scene loads unmodified.

class StockScene : public ::testing::TestWithParam<const char*> {};

TEST_P(StockScene, Loads) {
  REQUIRE_SHARED();
  const fs::path file = shared() / GetParam();
  if (!fs::exists(file)) GTEST_SKIP() << file << " not present";
  const LoadedRobot& r = robot(GetParam());
  ASSERT_TRUE(r.mj);
  EXPECT_EQ(r.model.nq, r.mj->nq);
  EXPECT_GT(r.model.nu, 0);
  EXPECT_GT(r.model.total_mass(), 1.0);
  EXPECT_EQ(r.model.source, file);
  EXPECT_FALSE(r.mjcf.empty());
  EXPECT_EQ(count_planes(r.mj.get()), 1) << "one floor";
  // the MJCF text we keep compiles to the same model
  const auto again = oh::model::compat::compile_string(r.mjcf, file);
  ASSERT_EQ(again->nu, r.mj->nu);
  for (int i = 0; i < r.mj->nu * mjNBIAS; ++i) EXPECT_DOUBLE_EQ(again->actuator_biasprm[i], r.mj->actuator_biasprm[i]);
  for (int i = 0; i < 2 * r.mj->nu; ++i) EXPECT_DOUBLE_EQ(again->actuator_ctrlrange[i], r.mj->actuator_ctrlrange[i]);
  for (int i = 0; i < r.mj->nbody; ++i) EXPECT_DOUBLE_EQ(again->body_mass[i], r.mj->body_mass[i]);
  RecordProperty("rewrites", static_cast<int>(r.model.compat_rewrites.size()));
  RecordProperty("total_mass", std::to_string(r.model.total_mass()));
}

INSTANTIATE_TEST_SUITE_P(Shared, StockScene,
                         ::testing::Values("robots/unitree_g1/scene.xml", "robots/unitree_g1/scene_with_hands.xml",
                                           "robots/unitree_g1/scene_mjx.xml", "robots/unitree_h1/scene.xml",
                                           "robots/tienkung2_lite/tienkung.xml",
                                           "robots/tienkung2_lite/tienkung2_lite.urdf",
                                           "robots/shadow_hand/scene_left.xml", "robots/shadow_hand/scene_right.xml",
                                           "policies/unitree_rl_gym/g1/model/scene.xml",
                                           "policies/unitree_rl_gym/h1/model/scene.xml",
                                           "policies/unitree_rl_gym/h1_2/model/scene.xml"));

// ------------------------------------------------------------------------------------------------
// Values MuJoCo 3 computes on the original files.

TEST(Load, TotalMassesMatchMuJoCo3) {
  REQUIRE_SHARED();
  EXPECT_NEAR(robot("robots/unitree_g1/scene.xml").model.total_mass(), 33.3411, 1e-3);
  EXPECT_NEAR(robot("robots/unitree_h1/scene.xml").model.total_mass(), 51.4370, 1e-3);
  EXPECT_NEAR(robot("robots/tienkung2_lite/tienkung.xml").model.total_mass(), 61.7604, 1e-3);
  EXPECT_NEAR(robot("robots/tienkung2_lite/tienkung2_lite.urdf").model.total_mass(), 61.7604, 1e-3);
}

TEST(Load, G1HipDampingMatchesMuJoCo3) {
  REQUIRE_SHARED();
  const LoadedRobot& r = robot("robots/unitree_g1/scene.xml");
  const auto& m = r.model;
  for (const char* name : {"left_hip_pitch_joint", "right_hip_pitch_joint"}) {
    const int a = m.actuator_id(name);
    ASSERT_GE(a, 0) << name;
    EXPECT_EQ(m.actuators[a].kind, oh::model::Actuator::Kind::kPosition);
    EXPECT_DOUBLE_EQ(m.actuators[a].kp, 500);
    EXPECT_NEAR(m.actuators[a].kv, 43.0107, 1e-3) << name;
    // inheritrange="1": the joint range; actuatorfrcrange: the force range
    EXPECT_NEAR(m.actuators[a].ctrl_lower, -2.5307, 1e-12);
    EXPECT_NEAR(m.actuators[a].ctrl_upper, 2.8798, 1e-12);
    EXPECT_TRUE(m.actuators[a].force_limited);
    EXPECT_DOUBLE_EQ(m.actuators[a].force_upper, 88);
  }
  EXPECT_TRUE(has_rewrite(r, "g1.xml: <position name=left_hip_pitch_joint> kp=500 dampratio=1 inheritrange=1 -> "
                             "<general> kv=43.0107"));
  EXPECT_EQ(r.mj->opt.integrator, mjINT_IMPLICIT);
}

TEST(Load, ExistingFloorIsKept) {
  REQUIRE_SHARED();
  // tienkung.xml and the scene files bring their own plane: nothing is added
  for (const char* f : {"robots/tienkung2_lite/tienkung.xml", "robots/unitree_g1/scene.xml"}) {
    const LoadedRobot& r = robot(f);
    EXPECT_FALSE(has_rewrite(r, "added floor")) << f;
    EXPECT_EQ(count_planes(r.mj.get()), 1) << f;
  }
}

TEST(Load, FloorIsAddedToARobotWithoutOne) {
  REQUIRE_SHARED();
  const fs::path g1 = shared() / "robots/unitree_g1/g1.xml";  // the robot without its scene
  const LoadedRobot r = oh::model::load(g1);
  EXPECT_TRUE(has_rewrite(r, "added floor"));
  EXPECT_EQ(count_planes(r.mj.get()), 1);
  oh::model::LoadOptions no_floor;
  no_floor.add_floor_if_missing = false;
  EXPECT_EQ(count_planes(oh::model::load(g1, no_floor).mj.get()), 0);
}

TEST(Load, TienKungUrdfGetsFloatingBaseMotorsLimitsAndFloor) {
  REQUIRE_SHARED();
  const LoadedRobot& r = robot("robots/tienkung2_lite/tienkung2_lite.urdf");
  const auto& m = r.model;
  EXPECT_TRUE(m.has_floating_base());
  EXPECT_EQ(m.nu, 20);
  EXPECT_TRUE(has_rewrite(r, "added floor"));
  const int j = m.joint_id("hip_pitch_l_joint");
  ASSERT_GE(j, 0);
  EXPECT_DOUBLE_EQ(m.joints[j].effort_limit, 300);
  EXPECT_DOUBLE_EQ(m.joints[j].velocity_limit, 15.6);
  const int a = m.actuator_for_joint(j);
  ASSERT_GE(a, 0);
  EXPECT_EQ(m.actuators[a].kind, oh::model::Actuator::Kind::kMotor);
  EXPECT_DOUBLE_EQ(m.actuators[a].ctrl_upper, 300);
  EXPECT_DOUBLE_EQ(m.actuators[a].ctrl_lower, -300);
  // placed on the floor: the lowest collision geometry (the foot cylinders) touches z = 0
  mjData* d = mj_makeData(r.mj.get());
  mj_forward(r.mj.get(), d);
  double low = 1e9;
  const mjModel* mm = r.mj.get();
  for (int g = 0; g < mm->ngeom; ++g)
    if (mm->geom_bodyid[g] > 0 && mm->geom_contype[g] && mm->geom_type[g] == mjGEOM_CYLINDER) {
      const double* R = d->geom_xmat + 9 * g;
      const double az = R[8];
      low = std::min(low, d->geom_xpos[3 * g + 2] - std::abs(az) * mm->geom_size[3 * g + 1] -
                              mm->geom_size[3 * g] * std::sqrt(std::max(0.0, 1 - az * az)));
    }
  mj_deleteData(d);
  EXPECT_NEAR(low, 0.0, 1e-6);
}

TEST(Load, G1RewritesAreRecorded) {
  REQUIRE_SHARED();
  const LoadedRobot& r = robot("robots/unitree_g1/scene.xml");
  for (const char* what : {"autolimits=true", "integrator=implicitfast -> implicit",
                           "g1.xml: <joint name=left_hip_pitch_joint> actuatorfrcrange=-88 88 -> <general "
                           "name=left_hip_pitch_joint> forcerange=-88 88 forcelimited=true",
                           "<key name=stand> qpos: multi-line", "nconmax=200 njmax=1000"})
    EXPECT_TRUE(has_rewrite(r, what)) << what;
}

// ------------------------------------------------------------------------------------------------
// Broken files: one-line ModelError naming the file and what is wrong.

TEST(LoadErrors, MissingFile) {
  const std::string e = load_error("/nonexistent/dir/robot.xml");
  EXPECT_NE(e.find("/nonexistent/dir/robot.xml"), std::string::npos) << e;
  EXPECT_NE(e.find("no such file"), std::string::npos) << e;
}

TEST(LoadErrors, MalformedXmlNamesTheLine) {
  TempDir dir;
  const fs::path f = dir.write("broken.xml", "<mujoco>\n  <worldbody>\n    <body name=\"a\">\n  </worldbody>\n</mujoco>\n");
  const std::string e = load_error(f);
  EXPECT_NE(e.find("broken.xml:"), std::string::npos) << e;
  EXPECT_NE(e.find("malformed XML"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

TEST(LoadErrors, NanInertia) {
  TempDir dir;
  const fs::path f = dir.write("nan.xml", R"(<mujoco>
  <worldbody>
    <body name="torso">
      <freejoint/>
      <inertial pos="0 0 0" mass="nan" diaginertia="0.1 0.1 0.1"/>
    </body>
  </worldbody>
</mujoco>)");
  const std::string e = load_error(f);
  EXPECT_NE(e.find("nan.xml:5"), std::string::npos) << e;
  EXPECT_NE(e.find("mass"), std::string::npos) << e;
  EXPECT_NE(e.find("non-finite"), std::string::npos) << e;
}

TEST(LoadErrors, NegativeMass) {
  TempDir dir;
  const fs::path f = dir.write("neg.xml", R"(<mujoco><worldbody><body name="torso"><freejoint/>
  <inertial pos="0 0 0" mass="-1" diaginertia="0.1 0.1 0.1"/></body></worldbody></mujoco>)");
  const std::string e = load_error(f);
  EXPECT_NE(e.find("neg.xml:1"), std::string::npos) << e;
  EXPECT_NE(e.find("torso"), std::string::npos) << e;
}

TEST(LoadErrors, UnknownAttribute) {
  TempDir dir;
  const fs::path f = dir.write("robot.xml", R"(<mujoco>
  <worldbody>
    <body name="b">
      <joint name="j" springiness="3"/>
      <geom size="0.1"/>
    </body>
  </worldbody>
</mujoco>)");
  const std::string e = load_error(f);
  EXPECT_NE(e.find("robot.xml:4"), std::string::npos) << e;
  EXPECT_NE(e.find("<joint name=j>"), std::string::npos) << e;
  EXPECT_NE(e.find("springiness"), std::string::npos) << e;
}

TEST(LoadFiles, IncludesAndAssetDirectoriesResolveRelativeToTheirFiles) {
  TempDir dir;
  dir.write("robot/meshes/tet.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n");
  dir.write("robot/robot.xml", R"(<mujoco>
  <compiler meshdir="meshes"/>
  <asset><mesh file="tet.obj"/></asset>
  <include file="parts/body.xml"/>
</mujoco>)");
  dir.write("robot/parts/body.xml", R"(<mujoco>
  <worldbody><body name="b"><freejoint/><geom type="mesh" mesh="tet"/></body></worldbody>
</mujoco>)");
  const fs::path scene = dir.write("scene.xml", R"(<mujoco model="scene"><include file="robot/robot.xml"/></mujoco>)");
  const oh::model::compat::Result r = oh::model::compat::load_mjcf(scene);
  EXPECT_EQ(r.mj->nmesh, 1);
  EXPECT_NE(r.xml.find((dir.path() / "robot" / "meshes").string()), std::string::npos);
  EXPECT_EQ(r.xml.find("<include"), std::string::npos);
}


TEST(LoadErrors, UnknownAttributeNamesFileLineElementAndAttribute) {
  TempDir dir;
  dir.write("robot.xml", "<mujoco>\n  <worldbody>\n    <body name=\"b\">\n      <joint name=\"j\" bogus=\"1\"/>\n"
                         "      <geom size=\"0.1\"/>\n    </body>\n  </worldbody>\n</mujoco>\n");
  const fs::path scene = dir.write("scene.xml", "<mujoco>\n  <include file=\"robot.xml\"/>\n</mujoco>\n");
  try {
    oh::model::load(scene);
    FAIL() << "expected ModelError";
  } catch (const ModelError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("robot.xml:4"), std::string::npos) << what;
    EXPECT_NE(what.find("<joint name=j>"), std::string::npos) << what;
    EXPECT_NE(what.find("bogus"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}


TEST(LoadErrors, NotAModelFile) {
  TempDir dir;
  EXPECT_NE(load_error(dir.write("x.xml", "<html><body/></html>")).find("expected <mujoco>"), std::string::npos);
  EXPECT_NE(load_error(dir.write("bin.xml", std::string("\x7f" "ELF\x01\x02\x00\xff", 8))).find("bin.xml"),
            std::string::npos);
  EXPECT_NE(load_error(dir.write("empty.xml", "")).find("empty.xml"), std::string::npos);
  EXPECT_NE(load_error(dir.path()).find("directory"), std::string::npos);
}

TEST(LoadErrors, UrdfWithMissingMesh) {
  TempDir dir;
  const fs::path f = dir.write("bot.urdf", R"(<robot name="bot">
  <link name="base">
    <inertial><mass value="1"/><inertia ixx="0.1" iyy="0.1" izz="0.1" ixy="0" ixz="0" iyz="0"/></inertial>
    <visual><geometry><mesh filename="package://bot/meshes/base.stl"/></geometry></visual>
  </link>
</robot>)");
  const std::string e = load_error(f);
  EXPECT_NE(e.find("bot.urdf:4"), std::string::npos) << e;
  EXPECT_NE(e.find("base.stl"), std::string::npos) << e;
}

TEST(Load, SmallUrdfWithPrimitives) {
  TempDir dir;
  const fs::path f = dir.write("arm.urdf", R"(<robot name="arm">
  <link name="base">
    <inertial><mass value="2"/><inertia ixx="0.1" iyy="0.1" izz="0.1" ixy="0" ixz="0" iyz="0"/></inertial>
    <collision><origin xyz="0 0 0"/><geometry><box size="0.2 0.2 0.2"/></geometry></collision>
  </link>
  <link name="arm">
    <inertial><mass value="1"/><inertia ixx="0.01" iyy="0.01" izz="0.01" ixy="0" ixz="0" iyz="0"/></inertial>
    <collision><geometry><sphere radius="0.05"/></geometry></collision>
  </link>
  <joint name="shoulder" type="revolute">
    <parent link="base"/><child link="arm"/><origin xyz="0 0 0.3"/><axis xyz="0 1 0"/>
    <limit effort="12.5" velocity="3" lower="-1" upper="1"/>
  </joint>
</robot>)");
  const LoadedRobot r = oh::model::load(f);
  EXPECT_TRUE(r.model.has_floating_base());
  EXPECT_NEAR(r.model.total_mass(), 3.0, 1e-9);
  ASSERT_EQ(r.model.nu, 1);
  EXPECT_DOUBLE_EQ(r.model.actuators[0].ctrl_upper, 12.5);
  const int j = r.model.joint_id("shoulder");
  EXPECT_DOUBLE_EQ(r.model.joints[j].velocity_limit, 3);
  EXPECT_DOUBLE_EQ(r.model.joints[j].effort_limit, 12.5);
  EXPECT_NEAR(r.model.bodies[1].pos.z(), 0.1, 1e-9);  // box bottom on the floor
}

TEST(Load, UrdfWithWorldLinkKeepsAFixedBase) {
  TempDir dir;
  const fs::path f = dir.write("fixed.urdf", R"(<robot name="fixed">
  <link name="world"/>
  <link name="base"><inertial><mass value="1"/><inertia ixx="0.1" iyy="0.1" izz="0.1" ixy="0" ixz="0" iyz="0"/></inertial></link>
  <joint name="mount" type="fixed"><parent link="world"/><child link="base"/></joint>
  <link name="arm"><inertial><mass value="1"/><inertia ixx="0.1" iyy="0.1" izz="0.1" ixy="0" ixz="0" iyz="0"/></inertial></link>
  <joint name="j" type="continuous"><parent link="base"/><child link="arm"/><limit effort="2" velocity="1"/></joint>
</robot>)");
  const LoadedRobot r = oh::model::load(f);
  EXPECT_FALSE(r.model.has_floating_base());
  EXPECT_EQ(r.model.nq, 1);
  EXPECT_EQ(r.model.nu, 1);
}

}  // namespace
