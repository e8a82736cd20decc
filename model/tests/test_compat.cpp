// Tests of the MuJoCo-3 compatibility layer (model/compat.hpp) on small in-memory models: each rewrite is
// checked against MuJoCo 3 semantics through the model that MuJoCo 2.2.2 compiles from the rewritten text.
#include "model/compat.hpp"

#include <gtest/gtest.h>
#include <mujoco/mujoco.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

namespace {

namespace fs = std::filesystem;
using oh::model::ModelError;
using oh::model::compat::load_mjcf_string;
using oh::model::compat::Options;
using oh::model::compat::Result;

/// Loads MJCF text through the layer, without the automatic floor (tested separately).
Result load(const std::string& xml) {
  Options options;
  options.add_floor_if_missing = false;
  return load_mjcf_string(xml, fs::temp_directory_path() / "oh_compat_inline.xml", options);
}

bool has_rewrite(const Result& r, const std::string& needle) {
  return std::any_of(r.rewrites.begin(), r.rewrites.end(),
                     [&](const std::string& s) { return s.find(needle) != std::string::npos; });
}

std::string error_of(const std::string& xml) {
  try {
    load(xml);
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}

int id(const Result& r, mjtObj type, const char* name) { return mj_name2id(r.mj.get(), type, name); }

constexpr const char* kPendulum = R"(
<mujoco>
  <compiler angle="radian"/>
  <worldbody>
    <body name="link" pos="0 0 1">
      <joint name="hinge" axis="0 1 0" range="-1 2" armature="0.1"/>
      <geom type="capsule" fromto="0 0 0 0 0 -0.5" size="0.05" mass="2"/>
    </body>
  </worldbody>
  ACTUATORS
</mujoco>)";

std::string pendulum(const std::string& actuators) {
  std::string s = kPendulum;
  s.replace(s.find("ACTUATORS"), 9, actuators);
  return s;
}

TEST(Compat, CollapseWhitespace) {
  EXPECT_EQ(oh::model::compat::collapse_whitespace("  1 2\n\t 3  \n"), "1 2 3");
  EXPECT_EQ(oh::model::compat::collapse_whitespace(""), "");
}

TEST(Compat, AutolimitsDefaultsToTrue) {
  const Result r = load(pendulum(""));
  EXPECT_TRUE(has_rewrite(r, "autolimits=true"));
  EXPECT_EQ(r.mj->jnt_limited[0], 1);  // a range without limited= is a limit in MuJoCo 3
}

TEST(Compat, ExplicitAutolimitsIsKept) {
  std::string xml = pendulum("");
  xml.replace(xml.find("<compiler angle=\"radian\"/>"), 26, "<compiler angle=\"radian\" autolimits=\"false\"/>");
  xml.replace(xml.find("range=\"-1 2\""), 12, "range=\"-1 2\" limited=\"true\"");
  const Result r = load(xml);
  EXPECT_FALSE(has_rewrite(r, "autolimits"));
  EXPECT_NE(r.xml.find("autolimits=\"false\""), std::string::npos);
}

TEST(Compat, DropsAttributesWithoutDynamics) {
  const Result r = load(R"(
<mujoco>
  <option integrator="implicitfast" ls_iterations="8"><flag eulerdamp="disable"/></option>
  <visual><global realtime="1" azimuth="30"/></visual>
  <asset>
    <material name="m" rgba="1 0 0 1" metallic="0.5" roughness="0.2"/>
    <mesh name="tet" vertex="0 0 0 1 0 0 0 1 0 0 0 1" content_type="model/obj"/>
  </asset>
  <worldbody>
    <body><freejoint/><geom type="mesh" mesh="tet" material="m"/></body>
  </worldbody>
</mujoco>)");
  for (const char* what : {"metallic=0.5 dropped", "roughness=0.2 dropped", "content_type=model/obj dropped",
                           "ls_iterations=8 dropped", "eulerdamp=disable dropped", "realtime=1 dropped",
                           "integrator=implicitfast -> implicit"})
    EXPECT_TRUE(has_rewrite(r, what)) << what;
  EXPECT_EQ(r.mj->opt.integrator, mjINT_IMPLICIT);
}

TEST(Compat, EulerdampDisableWithEulerHasNoEquivalent) {
  const std::string e = error_of(
      R"(<mujoco><option><flag eulerdamp="disable"/></option><worldbody><body><freejoint/><geom size="1"/></body></worldbody></mujoco>)");
  EXPECT_NE(e.find("eulerdamp"), std::string::npos) << e;
}

TEST(Compat, CollapsesMultiLineNumbers) {
  const Result r = load(R"(
<mujoco>
  <worldbody><body name="b"><freejoint/><geom size="0.1"/></body></worldbody>
  <keyframe><key name="home" qpos="
      0 0 1
      1 0 0 0"/></keyframe>
</mujoco>)");
  EXPECT_TRUE(has_rewrite(r, "<key name=home> qpos: multi-line"));
  EXPECT_NEAR(r.mj->key_qpos[2], 1.0, 0);
}

TEST(Compat, SizesContactBuffersOnlyWhenUnset) {
  const Result a = load(pendulum(""));
  EXPECT_EQ(a.mj->nconmax, 200);
  EXPECT_EQ(a.mj->njmax, 1000);
  std::string xml = pendulum("<size njmax=\"321\" nconmax=\"45\"/>");
  const Result b = load(xml);
  EXPECT_EQ(b.mj->nconmax, 45);
  EXPECT_EQ(b.mj->njmax, 321);
  EXPECT_FALSE(has_rewrite(b, "<size>"));
}

TEST(Compat, PositionKvBecomesGeneral) {
  const Result r = load(pendulum(R"(<actuator><position name="a" joint="hinge" kp="50" kv="3"/></actuator>)"));
  const mjModel* m = r.mj.get();
  EXPECT_EQ(m->actuator_gaintype[0], mjGAIN_FIXED);
  EXPECT_EQ(m->actuator_biastype[0], mjBIAS_AFFINE);
  EXPECT_DOUBLE_EQ(m->actuator_gainprm[0], 50);
  EXPECT_DOUBLE_EQ(m->actuator_biasprm[1], -50);
  EXPECT_DOUBLE_EQ(m->actuator_biasprm[2], -3);
  EXPECT_TRUE(has_rewrite(r, "<position name=a> kp=50 kv=3 -> <general> kv=3"));
}

// MuJoCo 3 (engine_setconst.c): kv = dampratio * 2 * sqrt(kp * dof_M0 / gear^2); dof_M0 includes armature.
TEST(Compat, DampratioUsesMuJoCo3Formula) {
  const Result r =
      load(pendulum(R"(<actuator><position name="a" joint="hinge" kp="40" dampratio="0.7" gear="2"/></actuator>)"));
  const mjModel* m = r.mj.get();
  const double mass = m->dof_M0[0] / 4.0;
  const double kv = 0.7 * 2 * std::sqrt(40 * mass);
  EXPECT_NEAR(-m->actuator_biasprm[2], kv, 1e-12);
  EXPECT_GT(m->dof_M0[0], 0.1);  // armature included
  // the rewritten text compiles to the same model
  const auto again = oh::model::compat::compile_string(r.xml, fs::temp_directory_path() / "again.xml");
  EXPECT_DOUBLE_EQ(again->actuator_biasprm[2], m->actuator_biasprm[2]);
}

TEST(Compat, InheritrangeScalesJointRangeAboutItsMiddle) {
  const Result r = load(
      pendulum(R"(<actuator><position name="a" joint="hinge" kp="10" inheritrange="0.5"/></actuator>)"));
  const mjModel* m = r.mj.get();
  EXPECT_EQ(m->actuator_ctrllimited[0], 1);
  EXPECT_DOUBLE_EQ(m->actuator_ctrlrange[0], 0.5 - 0.75);
  EXPECT_DOUBLE_EQ(m->actuator_ctrlrange[1], 0.5 + 0.75);
  const auto again = oh::model::compat::compile_string(r.xml, fs::temp_directory_path() / "again.xml");
  EXPECT_DOUBLE_EQ(again->actuator_ctrlrange[1], m->actuator_ctrlrange[1]);
  EXPECT_EQ(again->actuator_ctrllimited[0], 1);
}

TEST(Compat, TimeconstBecomesFilter) {
  const Result r =
      load(pendulum(R"(<actuator><position name="a" joint="hinge" kp="10" timeconst="0.05"/></actuator>)"));
  EXPECT_EQ(r.mj->actuator_dyntype[0], mjDYN_FILTER);
  EXPECT_DOUBLE_EQ(r.mj->actuator_dynprm[0], 0.05);
  EXPECT_EQ(r.mj->na, 1);
  EXPECT_TRUE(has_rewrite(r, "filterexact"));
}

TEST(Compat, ActuatorDefaultsFollowMuJoCo3ClassChain) {
  const Result r = load(R"(
<mujoco>
  <default>
    <default class="servo">
      <position kp="10" dampratio="1"/>
      <default class="stiff"><position kv="3"/></default>
    </default>
  </default>
  <worldbody>
    <body><joint name="j1"/><geom size="0.1"/></body>
    <body><joint name="j2"/><geom size="0.1"/></body>
    <body><joint name="j3"/><geom size="0.1"/></body>
  </worldbody>
  <actuator>
    <position name="a1" class="servo" joint="j1"/>
    <position name="a2" class="stiff" joint="j2"/>
    <motor name="a3" class="servo" joint="j3"/>
  </actuator>
</mujoco>)");
  const mjModel* m = r.mj.get();
  EXPECT_DOUBLE_EQ(m->actuator_gainprm[0 * mjNGAIN], 10);
  EXPECT_NEAR(-m->actuator_biasprm[0 * mjNBIAS + 2], 2 * std::sqrt(10 * m->dof_M0[0]), 1e-12);  // dampratio 1
  EXPECT_DOUBLE_EQ(m->actuator_gainprm[1 * mjNGAIN], 10);   // kp inherited from "servo"
  EXPECT_DOUBLE_EQ(m->actuator_biasprm[1 * mjNBIAS + 2], -3);  // kv of "stiff" replaces the damping ratio
  EXPECT_DOUBLE_EQ(m->actuator_gainprm[2 * mjNGAIN], 1);    // a motor stays a motor
  EXPECT_EQ(m->actuator_biastype[2], mjBIAS_NONE);
}

TEST(Compat, GeneralWithPositiveBiasIsADampingRatioInMuJoCo3) {
  const Result r = load(pendulum(
      R"(<actuator><general name="a" joint="hinge" gaintype="fixed" biastype="affine" gainprm="20" biasprm="0 -20 1"/></actuator>)"));
  EXPECT_NEAR(-r.mj->actuator_biasprm[2], 2 * std::sqrt(20 * r.mj->dof_M0[0]), 1e-12);
}

TEST(Compat, ActuatorfrcrangeMovesToActuatorForcerange) {
  const Result r = load(R"(
<mujoco>
  <default><default class="weak"><joint actuatorfrcrange="-5 5"/></default></default>
  <worldbody>
    <body><joint name="j1" actuatorfrcrange="-88 88"/><geom size="0.1"/></body>
    <body childclass="weak"><joint name="j2"/><geom size="0.1"/></body>
    <body><joint name="j3" actuatorfrcrange="-10 20"/><geom size="0.1"/></body>
    <body><joint name="j4" actuatorfrcrange="-1 1" actuatorfrclimited="false"/><geom size="0.1"/></body>
  </worldbody>
  <actuator>
    <motor name="m1" joint="j1" gear="2"/>
    <motor name="m2" joint="j2" forcerange="-3 100"/>
    <motor name="m3" joint="j3" gear="-2"/>
    <motor name="m4" joint="j4"/>
  </actuator>
</mujoco>)");
  const mjModel* m = r.mj.get();
  for (int a = 0; a < 3; ++a) EXPECT_EQ(m->actuator_forcelimited[a], 1) << a;
  EXPECT_DOUBLE_EQ(m->actuator_forcerange[0], -44);  // -88 / gear 2
  EXPECT_DOUBLE_EQ(m->actuator_forcerange[1], 44);
  EXPECT_DOUBLE_EQ(m->actuator_forcerange[2], -3);  // intersected with the actuator's own range
  EXPECT_DOUBLE_EQ(m->actuator_forcerange[3], 5);
  EXPECT_DOUBLE_EQ(m->actuator_forcerange[4], -10);  // [20 / -2, -10 / -2]
  EXPECT_DOUBLE_EQ(m->actuator_forcerange[5], 5);
  EXPECT_EQ(m->actuator_forcelimited[3], 0);  // actuatorfrclimited="false"
  EXPECT_EQ(r.xml.find("actuatorfrc"), std::string::npos);
}

TEST(Compat, FramesAreComposedIntoChildren) {
  const Result r = load(R"(
<mujoco>
  <compiler angle="degree"/>
  <default><default class="c"><geom size="0.05" pos="0.1 0 0"/></default></default>
  <worldbody>
    <frame pos="1 0 0" euler="0 0 90">
      <body name="b" pos="1 0 0">
        <joint name="j" axis="1 0 0"/><geom size="0.1"/>
        <frame pos="0 0 1" childclass="c"><geom name="g2"/><joint name="j2" pos="1 0 0" axis="0 1 0"/></frame>
      </body>
      <geom name="g" class="c"/>
      <frame pos="0 1 0"><site name="s" pos="0 0 1"/></frame>
    </frame>
  </worldbody>
</mujoco>)");
  const mjModel* m = r.mj.get();
  const int b = id(r, mjOBJ_BODY, "b");
  EXPECT_NEAR(m->body_pos[3 * b + 0], 1, 1e-12);
  EXPECT_NEAR(m->body_pos[3 * b + 1], 1, 1e-12);
  EXPECT_NEAR(m->body_quat[4 * b + 0], std::sqrt(0.5), 1e-12);
  EXPECT_NEAR(m->body_quat[4 * b + 3], std::sqrt(0.5), 1e-12);
  const int g = id(r, mjOBJ_GEOM, "g");  // class default pos (0.1 0 0) rotated by the frame
  EXPECT_NEAR(m->geom_pos[3 * g + 0], 1, 1e-12);
  EXPECT_NEAR(m->geom_pos[3 * g + 1], 0.1, 1e-12);
  EXPECT_NEAR(m->geom_size[3 * g], 0.05, 1e-12);
  const int g2 = id(r, mjOBJ_GEOM, "g2");  // nested frame with childclass inside the body
  EXPECT_NEAR(m->geom_pos[3 * g2 + 0], 0.1, 1e-12);
  EXPECT_NEAR(m->geom_pos[3 * g2 + 2], 1, 1e-12);
  const int j2 = id(r, mjOBJ_JOINT, "j2");
  EXPECT_NEAR(m->jnt_pos[3 * j2 + 0], 1, 1e-12);
  EXPECT_NEAR(m->jnt_pos[3 * j2 + 2], 1, 1e-12);
  const int s = id(r, mjOBJ_SITE, "s");  // (1,0,0) + Rz90 (0,1,1) = (0,0,1)
  EXPECT_NEAR(m->site_pos[3 * s + 0], 0, 1e-12);
  EXPECT_NEAR(m->site_pos[3 * s + 1], 0, 1e-12);
  EXPECT_NEAR(m->site_pos[3 * s + 2], 1, 1e-12);
  EXPECT_EQ(r.xml.find("<frame"), std::string::npos);
  EXPECT_TRUE(has_rewrite(r, "<frame> composed into its 3 children"));
}

TEST(Compat, ConnectWithSitesBecomesBodiesAndAnchor) {
  const Result r = load(R"(
<mujoco>
  <worldbody>
    <body name="a"><joint name="ja"/><geom size="0.1"/><site name="sa" pos="0.2 0 0"/></body>
    <body name="b" pos="0.2 0 0"><freejoint/><geom size="0.1"/><site name="sb"/></body>
  </worldbody>
  <equality><connect site1="sa" site2="sb"/></equality>
</mujoco>)");
  const mjModel* m = r.mj.get();
  ASSERT_EQ(m->neq, 1);
  EXPECT_EQ(m->eq_type[0], mjEQ_CONNECT);
  EXPECT_EQ(m->eq_obj1id[0], id(r, mjOBJ_BODY, "a"));
  EXPECT_EQ(m->eq_obj2id[0], id(r, mjOBJ_BODY, "b"));
  EXPECT_DOUBLE_EQ(m->eq_data[0], 0.2);
  EXPECT_NEAR(m->eq_data[3], 0.0, 1e-12);  // point on body b: site sb
}

TEST(Compat, ConnectWithApartSitesUsesSite2AsMuJoCo3) {
  const Result r = load(R"(
<mujoco>
  <worldbody>
    <body name="a"><joint name="ja"/><geom size="0.1"/><site name="sa" pos="0.2 0 0"/></body>
    <body name="b" pos="0.5 0 0"><freejoint/><geom size="0.1"/><site name="sb" pos="0 0.1 0"/></body>
  </worldbody>
  <equality><connect site1="sa" site2="sb"/></equality>
</mujoco>)");
  EXPECT_NEAR(r.mj->eq_data[3], 0.0, 1e-12);
  EXPECT_NEAR(r.mj->eq_data[4], 0.1, 1e-12);
  EXPECT_TRUE(has_rewrite(r, "apart at qpos0"));
}

TEST(Compat, GravcompZeroIsDroppedNonZeroIsAnError) {
  const Result r = load(R"(<mujoco><worldbody><body name="b" gravcomp="0"><freejoint/><geom size="0.1"/></body></worldbody></mujoco>)");
  EXPECT_TRUE(has_rewrite(r, "gravcomp=0 dropped"));
  const std::string e =
      error_of(R"(<mujoco><worldbody><body name="b" gravcomp="1"><freejoint/><geom size="0.1"/></body></worldbody></mujoco>)");
  EXPECT_NE(e.find("oh_compat_inline.xml:1"), std::string::npos) << e;
  EXPECT_NE(e.find("gravcomp"), std::string::npos) << e;
  EXPECT_NE(e.find("<body name=b>"), std::string::npos) << e;
}

TEST(Compat, JointActuatorForceSensorReadsTheActuator) {
  const Result r = load(pendulum(R"(<actuator><motor joint="hinge" gear="3"/></actuator>
  <sensor><jointactuatorfrc name="tau" joint="hinge"/></sensor>)"));
  const mjModel* m = r.mj.get();
  ASSERT_EQ(m->nsensor, 1);
  EXPECT_EQ(m->sensor_type[0], mjSENS_ACTUATORFRC);
  EXPECT_EQ(m->sensor_objid[0], 0);
  EXPECT_TRUE(has_rewrite(r, "joint torque = 3 x reading"));
}

TEST(Compat, FloorIsAddedOnlyWhenMissing) {
  Options with_floor;
  const fs::path name = fs::temp_directory_path() / "floorless.xml";
  const Result a = load_mjcf_string(pendulum(""), name, with_floor);
  EXPECT_TRUE(has_rewrite(a, "added floor"));
  int planes = 0;
  for (int g = 0; g < a.mj->ngeom; ++g) planes += a.mj->geom_type[g] == mjGEOM_PLANE;
  EXPECT_EQ(planes, 1);
  EXPECT_EQ(a.mj->nlight, 1);
  const Result b = load_mjcf_string(a.xml, name, with_floor);  // already has one
  EXPECT_FALSE(has_rewrite(b, "added floor"));
  Options no_floor;
  no_floor.add_floor_if_missing = false;
  EXPECT_FALSE(has_rewrite(load_mjcf_string(pendulum(""), name, no_floor), "added floor"));
}

TEST(Compat, UnknownElementIsReported) {
  const std::string e = error_of(R"(<mujoco><worldbody><replicate count="2"><geom size="1"/></replicate></worldbody></mujoco>)");
  EXPECT_NE(e.find("replicate"), std::string::npos) << e;
}

TEST(Compat, MissingIncludeIsReported) {
  const std::string e = error_of(R"(<mujoco><include file="nowhere.xml"/></mujoco>)");
  EXPECT_NE(e.find("nowhere.xml"), std::string::npos) << e;
}

TEST(Compat, NonFiniteNumbersAreRejected) {
  const std::string e = error_of(
      R"(<mujoco><worldbody><body name="b"><freejoint/><inertial pos="0 0 0" mass="1" diaginertia="1 inf 1"/></body></worldbody></mujoco>)");
  EXPECT_NE(e.find("diaginertia"), std::string::npos) << e;
  EXPECT_NE(e.find("non-finite"), std::string::npos) << e;
}

TEST(Compat, AssetdirSetsMeshAndTextureDirectories) {
  const Result r = load(R"(<mujoco><compiler assetdir="assets"/><worldbody><body><freejoint/><geom size="1"/></body></worldbody></mujoco>)");
  EXPECT_TRUE(has_rewrite(r, "assetdir=assets -> meshdir texturedir"));
}

TEST(Compat, CompileStringReportsMuJoCoErrorsOnOneLine) {
  try {
    oh::model::compat::compile_string("<mujoco><worldbody><geom type=\"nonsense\"/></worldbody></mujoco>",
                                      fs::temp_directory_path() / "bad.xml");
    FAIL() << "expected ModelError";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.xml"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
  }
}

}  // namespace

TEST(Compat, NamesThatStartLikeNanOrInfAreNotNumbers) {
  const Result r = load(R"(<mujoco model="infinite"><worldbody><body name="nanny"><freejoint name="inf_base"/>
    <geom size="0.1"/><site name="nanueorcgtc"/></body></worldbody></mujoco>)");
  EXPECT_GE(id(r, mjOBJ_SITE, "nanueorcgtc"), 0);
  EXPECT_NE(error_of(R"(<mujoco><worldbody><body pos="0 nan 0"><geom size="0.1"/></body></worldbody></mujoco>)")
                .find("non-finite"),
            std::string::npos);
}
