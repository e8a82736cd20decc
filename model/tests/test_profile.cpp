// Tests for model/profile.hpp: detection on the built-in robot, on third-party robots, on a renamed copy
// of the built-in robot, YAML overrides, and the standalone forward kinematics.
#include "model/profile.hpp"

#include <gtest/gtest.h>
#include <mujoco/mujoco.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <sstream>

namespace fs = std::filesystem;
using oh::model::Model;
using oh::model::ModelError;
using oh::model::Profile;

namespace {

// Loads through oh::model::load (the MuJoCo-3 compatibility layer included).
Model load_mj(const fs::path& file) { return oh::model::load(file).model; }

fs::path shared_robot(const std::string& rel) { return oh::model::shared_dir() / "robots" / rel; }

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

fs::path temp_dir(const std::string& tag) {
  const fs::path dir = fs::temp_directory_path() / ("oh_profile_" + tag + "_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

std::string name_of(const Model& m, int body) { return body < 0 ? "" : m.bodies[body].name; }

// Left foot on +y of the base frame, arms/legs disjoint, feet at the bottom of the legs.
void expect_consistent(const Model& m, const Profile& p) {
  const auto X = oh::model::body_poses(m, p.q_nominal);
  const Eigen::Isometry3d base_inv = X[p.base_body].inverse();
  EXPECT_GT((base_inv * X[p.left_foot.body].translation()).y(), 0.0);
  EXPECT_LT((base_inv * X[p.right_foot.body].translation()).y(), 0.0);
  EXPECT_EQ(p.left_leg.end_body, p.left_foot.body);
  EXPECT_EQ(p.right_leg.end_body, p.right_foot.body);
  std::set<int> seen;
  for (const auto* group : {&p.leg_joints, &p.arm_joints, &p.waist_joints, &p.head_joints, &p.left_hand_joints,
                            &p.right_hand_joints})
    for (int j : *group) EXPECT_TRUE(seen.insert(j).second) << "joint in two groups: " << m.joints[j].name;
  ASSERT_EQ(p.left_foot.contact_points.size(), 4u);
  EXPECT_GT(p.leg_length, 0.3);
  EXPECT_GT(p.com_height, 0.3);
}

TEST(Profile, ForwardKinematicsMatchesMuJoCo) {
  for (const fs::path& file : {oh::model::builtin_robot_path(), shared_robot("unitree_h1/scene.xml"),
                               shared_robot("unitree_g1/scene_with_hands.xml")}) {
    if (!fs::exists(file)) continue;
    const oh::model::LoadedRobot robot = oh::model::load(file);
    const mjModel* mj = robot.mj.get();
    mjData* d = mj_makeData(mj);
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (int i = 0; i < mj->nq; ++i) d->qpos[i] = mj->qpos0[i] + 0.5 * u(rng);
    mju_normalize4(d->qpos + 3);
    mj_kinematics(mj, d);
    const auto X = oh::model::body_poses(robot.model, Eigen::Map<Eigen::VectorXd>(d->qpos, mj->nq));
    for (int b = 0; b < mj->nbody; ++b) {
      const Eigen::Vector3d x(d->xpos + 3 * b);
      EXPECT_LT((X[b].translation() - x).norm(), 1e-9) << file << " body " << b;
      Eigen::Matrix3d R;
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) R(r, c) = d->xmat[9 * b + 3 * r + c];
      EXPECT_LT((X[b].linear() - R).norm(), 1e-9) << file << " body " << b;
    }
    mj_deleteData(d);
  }
}

TEST(Profile, BuiltinRobot) {
  const Model m = load_mj(oh::model::builtin_robot_path());
  const Profile p = oh::model::detect_profile(m);
  expect_consistent(m, p);
  EXPECT_EQ(name_of(m, p.base_body), "pelvis");
  EXPECT_EQ(name_of(m, p.pelvis_body), "pelvis");
  EXPECT_EQ(name_of(m, p.torso_body), "torso_link");
  EXPECT_EQ(name_of(m, p.head_body), "head_link");
  EXPECT_EQ(name_of(m, p.left_foot.body), "left_foot_link");
  EXPECT_EQ(name_of(m, p.right_foot.body), "right_foot_link");
  EXPECT_EQ(p.left_leg.joints.size(), 6u);
  EXPECT_EQ(p.right_leg.joints.size(), 6u);
  EXPECT_EQ(p.leg_joints.size(), 12u);
  EXPECT_EQ(p.waist_joints.size(), 3u);
  ASSERT_TRUE(p.left_arm && p.right_arm);
  EXPECT_EQ(p.left_arm->joints.size(), 7u);
  EXPECT_EQ(p.arm_joints.size(), 14u);
  EXPECT_EQ(p.head_joints.size(), 2u);
  EXPECT_TRUE(p.left_hand_joints.empty());
  EXPECT_EQ(m.joints[p.left_leg.joints.front()].name, "left_hip_yaw_joint");
  EXPECT_EQ(m.joints[p.left_leg.joints.back()].name, "left_ankle_roll_joint");
  EXPECT_EQ(m.joints[p.left_arm->joints.back()].name, "left_wrist_pitch_joint");
  EXPECT_EQ(name_of(m, p.left_arm->end_body), "left_hand_link");
  EXPECT_EQ(m.frames[p.left_hand_frame].name, "left_hand");
  EXPECT_EQ(m.frames[p.right_hand_frame].name, "right_hand");
  EXPECT_EQ(m.frames[p.left_foot.frame].name, "left_foot");
  EXPECT_EQ(m.frames[p.left_foot.frame].kind, oh::model::Frame::Kind::kSite);
  // Sole: box 0.22 x 0.10, centre 4 cm ahead of and 7 cm below the ankle.
  EXPECT_NEAR(p.left_foot.length, 0.22, 1e-6);
  EXPECT_NEAR(p.left_foot.width, 0.10, 1e-6);
  EXPECT_LT((p.left_foot.sole_center - Eigen::Vector3d(0.04, 0, -0.07)).norm(), 1e-6);
  EXPECT_LT((p.right_foot.contact_points[0] - Eigen::Vector3d(0.15, 0.05, -0.07)).norm(), 1e-6);
  EXPECT_EQ(p.nominal_source, "keyframe 'home'");
  EXPECT_NEAR(p.leg_length, 0.8 * std::cos(0.3) + 0.07, 1e-3);  // hip pitch axis to sole
  EXPECT_NEAR(p.com_height, 0.89, 0.02);
  EXPECT_NEAR(m.total_mass(), 50.0, 1.0);
  const std::string text = oh::model::describe_profile(m, p);
  EXPECT_NE(text.find("left leg (6)"), std::string::npos) << text;
}

TEST(Profile, BuiltinRobotStandsOnTheFloor) {
  const Model m = load_mj(oh::model::builtin_robot_path());
  const Profile p = oh::model::detect_profile(m);
  const auto X = oh::model::body_poses(m, p.q_nominal);
  for (const auto* foot : {&p.left_foot, &p.right_foot})
    for (const auto& c : foot->contact_points) EXPECT_NEAR((X[foot->body] * c).z(), 0.0, 1e-4);
  double top = 0;  // head sphere top
  for (const auto& g : m.geoms)
    if (g.body == p.head_body) top = std::max(top, (X[g.body] * g.pos).z() + g.size[0]);
  EXPECT_NEAR(top, 1.6, 0.02);
}

// Every body, joint, geom, site, actuator, sensor and keyframe name replaced by a random string.
TEST(Profile, RenamedBuiltinRobotDetectsTheSameGroups) {
  const fs::path src = oh::model::builtin_robot_path().parent_path();
  std::string robot = read(src / "humanoid.xml"), scene = read(src / "scene.xml");
  const std::regex comment("<!--[\\s\\S]*?-->");
  robot = std::regex_replace(robot, comment, "");
  scene = std::regex_replace(scene, comment, "");
  std::set<std::string> names;
  const std::regex name_attr("\\bname=\"([^\"]+)\"");
  for (const std::string* text : {&robot, &scene})
    for (std::sregex_iterator it(text->begin(), text->end(), name_attr), end; it != end; ++it) names.insert((*it)[1]);
  std::mt19937 rng(12345);
  std::map<std::string, std::string> renamed;
  for (const std::string& n : names) {
    std::string r = "r_";  // not "nan..." or "inf...": names must not read as numbers
    for (int i = 0; i < 10; ++i) r += static_cast<char>('a' + rng() % 26);
    renamed[n] = r;
  }
  for (std::string* text : {&robot, &scene}) {
    // Replace every quoted attribute value that is a name (definitions and references alike), but not the
    // include's file name.
    std::string out;
    const std::regex quoted("(\\w+)=\"([^\"]*)\"");
    std::sregex_iterator it(text->begin(), text->end(), quoted), end;
    size_t last = 0;
    for (; it != end; ++it) {
      out += text->substr(last, it->position() - last);
      const std::string attr = (*it)[1], value = (*it)[2];
      const bool is_ref = attr != "file" && attr != "class" && attr != "childclass" && renamed.count(value);
      out += attr + "=\"" + (is_ref ? renamed[value] : value) + "\"";
      last = it->position() + it->length();
    }
    out += text->substr(last);
    *text = out;
  }
  ASSERT_EQ(robot.find("left_"), std::string::npos);
  const fs::path dir = temp_dir("renamed");
  write(dir / "humanoid.xml", robot);
  write(dir / "scene.xml", scene);

  const Model original = load_mj(oh::model::builtin_robot_path());
  const Model m = load_mj(dir / "scene.xml");
  ASSERT_EQ(m.joints.size(), original.joints.size());
  EXPECT_NE(m.joints[1].name, original.joints[1].name);
  const Profile a = oh::model::detect_profile(original), b = oh::model::detect_profile(m);
  expect_consistent(m, b);
  EXPECT_EQ(a.base_body, b.base_body);
  EXPECT_EQ(a.pelvis_body, b.pelvis_body);
  EXPECT_EQ(a.torso_body, b.torso_body);
  EXPECT_EQ(a.head_body, b.head_body);
  EXPECT_EQ(a.left_leg.joints, b.left_leg.joints);
  EXPECT_EQ(a.right_leg.joints, b.right_leg.joints);
  EXPECT_EQ(a.waist_joints, b.waist_joints);
  EXPECT_EQ(a.head_joints, b.head_joints);
  ASSERT_TRUE(b.left_arm && b.right_arm);
  EXPECT_EQ(a.left_arm->joints, b.left_arm->joints);
  EXPECT_EQ(a.right_arm->joints, b.right_arm->joints);
  EXPECT_EQ(a.left_foot.body, b.left_foot.body);
  EXPECT_EQ(a.left_hand_frame, b.left_hand_frame);
  EXPECT_NEAR(a.left_foot.length, b.left_foot.length, 1e-9);
  EXPECT_NEAR(a.leg_length, b.leg_length, 1e-9);
  fs::remove_all(dir);
}

TEST(Profile, LegsOnlyRobotHasNoArms) {
  const fs::path dir = temp_dir("legs");
  // A bare biped: pelvis, two 3-joint legs (hip pitch, knee, ankle roll), box feet whose frames are turned
  // 90 degrees about z to exercise the sole frame.
  write(dir / "biped.xml", R"(<mujoco model="biped">
  <worldbody>
    <geom type="plane" size="2 2 0.1"/>
    <body name="a" pos="0 0 0.7">
      <freejoint/>
      <geom type="box" size="0.1 0.15 0.05" mass="5"/>
      <body name="b" pos="0 0.1 -0.05"><joint name="j1" axis="0 1 0"/><geom type="capsule" fromto="0 0 0 0 0 -0.3" size="0.04"/>
        <body name="c" pos="0 0 -0.3"><joint name="j2" axis="0 1 0"/><geom type="capsule" fromto="0 0 0 0 0 -0.3" size="0.03"/>
          <body name="d" pos="0 0 -0.3" euler="0 0 1.5707963"><joint name="j3" axis="1 0 0"/>
            <geom type="box" size="0.04 0.08 0.01" pos="0 -0.02 -0.03"/></body></body></body>
      <body name="e" pos="0 -0.1 -0.05"><joint name="j4" axis="0 1 0"/><geom type="capsule" fromto="0 0 0 0 0 -0.3" size="0.04"/>
        <body name="f" pos="0 0 -0.3"><joint name="j5" axis="0 1 0"/><geom type="capsule" fromto="0 0 0 0 0 -0.3" size="0.03"/>
          <body name="g" pos="0 0 -0.3" euler="0 0 1.5707963"><joint name="j6" axis="1 0 0"/>
            <geom type="box" size="0.04 0.08 0.01" pos="0 -0.02 -0.03"/></body></body></body>
    </body>
  </worldbody>
</mujoco>)");
  const Model m = load_mj(dir / "biped.xml");
  const Profile p = oh::model::detect_profile(m);
  expect_consistent(m, p);
  EXPECT_EQ(name_of(m, p.left_foot.body), "d");
  EXPECT_EQ(name_of(m, p.right_foot.body), "g");
  EXPECT_EQ(p.leg_joints.size(), 6u);
  EXPECT_FALSE(p.left_arm || p.right_arm);
  EXPECT_TRUE(p.waist_joints.empty());
  EXPECT_EQ(p.torso_body, p.pelvis_body);
  EXPECT_EQ(p.head_body, -1);
  // Length is measured along the foot's own x axis (world y here): the box's 0.08 side.
  EXPECT_NEAR(p.left_foot.length, 0.08, 1e-6);
  EXPECT_NEAR(p.left_foot.width, 0.16, 1e-6);
  EXPECT_LT((p.left_foot.sole_center - Eigen::Vector3d(0, -0.02, -0.04)).norm(), 1e-6);
  EXPECT_NEAR(p.leg_length, 0.64, 1e-6);  // j1 (the first joint about the base y axis) to the sole
  fs::remove_all(dir);
}

TEST(Profile, NoLegsIsAnError) {
  const fs::path dir = temp_dir("nolegs");
  write(dir / "arm.xml", R"(<mujoco><worldbody><body name="a"><joint axis="0 0 1"/>
    <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.03"/></body></worldbody></mujoco>)");
  const Model m = load_mj(dir / "arm.xml");
  try {
    oh::model::detect_profile(m);
    ADD_FAILURE() << "expected ModelError";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("no legs found"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
  const fs::path hand = shared_robot("shadow_hand/scene_right.xml");
  if (fs::exists(hand)) {
    EXPECT_THROW(oh::model::detect_profile(load_mj(hand)), ModelError);
  }
}

TEST(Profile, UnitreeH1) {
  const fs::path file = shared_robot("unitree_h1/scene.xml");
  if (!fs::exists(file)) GTEST_SKIP() << "shared robots absent: " << file;
  const Model m = load_mj(file);
  const Profile p = oh::model::detect_profile(m);
  expect_consistent(m, p);
  EXPECT_EQ(p.leg_joints.size(), 10u);
  EXPECT_EQ(p.waist_joints.size(), 1u);
  ASSERT_TRUE(p.left_arm && p.right_arm);
  EXPECT_EQ(p.arm_joints.size(), 8u);
  EXPECT_EQ(p.head_body, -1);
  EXPECT_EQ(name_of(m, p.left_foot.body), "left_ankle_link");
  EXPECT_EQ(name_of(m, p.torso_body), "torso_link");
  EXPECT_EQ(name_of(m, p.left_arm->end_body), "left_elbow_link");
  EXPECT_NEAR(p.left_foot.length, 0.175, 0.005);  // capsule bottoms from x = -0.035 to 0.14
  EXPECT_NEAR(p.left_foot.width, 0.06, 0.005);
  EXPECT_EQ(p.nominal_source, "keyframe 'home'");
}

#define LOAD_SHARED_OR_SKIP(var, rel)                                                   \
  const fs::path var##_file = shared_robot(rel);                                        \
  if (!fs::exists(var##_file)) GTEST_SKIP() << "shared robots absent: " << var##_file; \
  const Model var = load_mj(var##_file)

TEST(Profile, UnitreeG1) {
  LOAD_SHARED_OR_SKIP(m, "unitree_g1/scene.xml");
  const Profile p = oh::model::detect_profile(m);
  expect_consistent(m, p);
  EXPECT_EQ(m.nu, 29);
  EXPECT_EQ(p.leg_joints.size(), 12u);
  EXPECT_EQ(p.waist_joints.size(), 3u);
  EXPECT_EQ(p.arm_joints.size(), 14u);
  EXPECT_EQ(p.head_body, -1);  // the head is a mesh on the torso
  EXPECT_TRUE(p.left_hand_joints.empty());
  EXPECT_EQ(name_of(m, p.left_foot.body), "left_ankle_roll_link");
  EXPECT_EQ(m.frames[p.left_foot.frame].name, "left_foot");
  EXPECT_EQ(name_of(m, p.torso_body), "torso_link");
  EXPECT_GT(p.left_foot.length, 0.15);  // contact spheres 0.17 m apart
  EXPECT_LT(p.left_foot.length, 0.25);
  EXPECT_GT(p.left_foot.width, 0.04);
  EXPECT_LT(p.left_foot.width, 0.12);
  EXPECT_NEAR(p.leg_length, 0.69, 0.05);
}

TEST(Profile, UnitreeG1WithDex3Hands) {
  LOAD_SHARED_OR_SKIP(m, "unitree_g1/scene_with_hands.xml");
  const Profile p = oh::model::detect_profile(m);
  expect_consistent(m, p);
  EXPECT_EQ(p.leg_joints.size(), 12u);
  EXPECT_EQ(p.waist_joints.size(), 3u);
  EXPECT_EQ(p.arm_joints.size(), 14u);
  EXPECT_EQ(p.left_hand_joints.size(), 7u);
  EXPECT_EQ(p.right_hand_joints.size(), 7u);
  EXPECT_EQ(name_of(m, p.left_arm->end_body), "left_wrist_yaw_link");  // where the fingers branch
  for (int j : p.left_hand_joints) EXPECT_EQ(m.joints[j].name.rfind("left_hand_", 0), 0u) << m.joints[j].name;
}

TEST(Profile, TienKung2Lite) {
  LOAD_SHARED_OR_SKIP(m, "tienkung2_lite/tienkung.xml");
  const Profile p = oh::model::detect_profile(m);
  expect_consistent(m, p);
  EXPECT_EQ(p.leg_joints.size(), 12u);
  EXPECT_TRUE(p.waist_joints.empty());  // the arms hang from the base
  EXPECT_EQ(p.torso_body, p.base_body);
  EXPECT_EQ(p.arm_joints.size(), 8u);
  EXPECT_EQ(name_of(m, p.left_foot.body), "ankle_roll_l_link");
  EXPECT_NEAR(p.left_foot.length, 0.23, 0.01);  // two cylinders along x, 0.23 m long
  EXPECT_NEAR(p.left_foot.width, 0.05, 0.01);
}

// The policies' deployment models weld the upper body to the pelvis: 12 leg joints and nothing else.
TEST(Profile, LegsOnlyPolicyModels) {
  for (const char* robot : {"g1", "h1_2"}) {
    const fs::path file = oh::model::shared_dir() / "policies/unitree_rl_gym" / robot / "model/scene.xml";
    if (!fs::exists(file)) GTEST_SKIP() << "shared policies absent: " << file;
    const Model m = load_mj(file);
    const Profile p = oh::model::detect_profile(m);
    expect_consistent(m, p);
    EXPECT_EQ(p.leg_joints.size(), 12u) << robot;
    EXPECT_FALSE(p.left_arm || p.right_arm) << robot;
    EXPECT_EQ(p.head_body, -1) << robot;
    EXPECT_EQ(p.torso_body, p.pelvis_body) << robot;
    EXPECT_TRUE(p.waist_joints.empty()) << robot;
  }
}

// ----------------------------------------------------------------------------------------------------------
// YAML overrides.

TEST(ProfileOverrides, ReplaceDetectedValues) {
  const Model m = load_mj(oh::model::builtin_robot_path());
  const fs::path dir = temp_dir("yaml");
  write(dir / "p.yaml", R"(
left_foot: {length: 0.2, width: 0.08}
right_foot: {frame: right_foot_link, sole_center: [0.05, 0, -0.07]}
waist_joints: [waist_yaw_joint]
head_joints: [neck_yaw_joint, neck_pitch_joint]
left_hand_frame: left_hand_link
nominal_q: {left_knee_joint: 0.9, floating_base: [0, 0, 0.9, 1, 0, 0, 0]}
)");
  const Profile p = oh::model::load_profile(m, dir / "p.yaml", oh::model::detect_profile(m));
  EXPECT_DOUBLE_EQ(p.left_foot.length, 0.2);
  EXPECT_DOUBLE_EQ(p.left_foot.width, 0.08);
  EXPECT_LT((p.left_foot.contact_points[0] - Eigen::Vector3d(0.14, 0.04, -0.07)).norm(), 1e-9);
  EXPECT_EQ(m.frames[p.right_foot.frame].name, "right_foot_link");
  EXPECT_EQ(p.right_leg.end_frame, p.right_foot.frame);
  EXPECT_LT((p.right_foot.contact_points[2] - Eigen::Vector3d(-0.06, -0.05, -0.07)).norm(), 1e-9);
  EXPECT_EQ(p.waist_joints.size(), 1u);
  EXPECT_EQ(m.frames[p.left_hand_frame].kind, oh::model::Frame::Kind::kBody);
  EXPECT_EQ(p.left_arm->end_frame, p.left_hand_frame);
  EXPECT_DOUBLE_EQ(p.q_nominal[m.joints[m.joint_id("left_knee_joint")].q_index], 0.9);
  EXPECT_DOUBLE_EQ(p.q_nominal[2], 0.9);
  EXPECT_FALSE(p.overrides_applied.empty());
  fs::remove_all(dir);
}

TEST(ProfileOverrides, FeetAndLimbsByBodyName) {
  const Model m = load_mj(oh::model::builtin_robot_path());
  const fs::path dir = temp_dir("yaml2");
  // Declare the ankle pitch links as the feet: the legs get 5 joints, the sole is recomputed from the
  // geometry below them; drop the right arm; shorten the left arm to the elbow.
  write(dir / "p.yaml", R"(
left_foot: {body: left_ankle_pitch_link}
right_foot: {body: right_ankle_pitch_link}
right_arm: none
left_arm: {end_body: left_forearm_link}
torso_body: torso_link
head_body: none
)");
  const Profile p = oh::model::load_profile(m, dir / "p.yaml", oh::model::detect_profile(m));
  EXPECT_EQ(p.left_leg.joints.size(), 5u);
  EXPECT_EQ(p.leg_joints.size(), 10u);
  EXPECT_NEAR(p.left_foot.length, 0.22, 1e-6);
  EXPECT_FALSE(p.right_arm.has_value());
  ASSERT_TRUE(p.left_arm.has_value());
  EXPECT_EQ(p.left_arm->joints.size(), 4u);
  EXPECT_EQ(p.arm_joints.size(), 4u);
  EXPECT_EQ(p.head_body, -1);
  EXPECT_TRUE(p.head_joints.empty());
  fs::remove_all(dir);
}

TEST(ProfileOverrides, Errors) {
  const Model m = load_mj(oh::model::builtin_robot_path());
  const Profile detected = oh::model::detect_profile(m);
  const fs::path dir = temp_dir("yaml3");
  auto expect_error = [&](const std::string& yaml, const std::string& needle) {
    write(dir / "bad.yaml", yaml);
    try {
      oh::model::load_profile(m, dir / "bad.yaml", detected);
      ADD_FAILURE() << "expected ModelError for: " << yaml;
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("bad.yaml"), std::string::npos) << e.what();
    }
  };
  expect_error("left_feet: {body: x}\n", "left_feet");
  expect_error("left_foot: {bodyy: x}\n", "left_foot.bodyy");
  expect_error("waist_joints: [no_such_joint]\n", "no_such_joint");
  expect_error("torso_body: no_such_body\n", "no_such_body");
  expect_error("nominal_q: {left_knee_joint: [1, 2]}\n", "nominal_q.left_knee_joint");
  expect_error("nominal_q: {floating_base: 1}\n", "nominal_q.floating_base");
  expect_error("left_foot: {length: abc}\n", "left_foot.length");
  expect_error("nominal_keyframe: sit\n", "sit");
  expect_error("left_foot: [1, 2\n", "bad.yaml");
  fs::remove_all(dir);
}

TEST(ProfileOverrides, ProfileForAppliesFilesNextToTheModelThenTheExplicitOne) {
  Model m = load_mj(oh::model::builtin_robot_path());
  const fs::path dir = temp_dir("pf");
  m.source = dir / "robot.xml";  // only its directory and stem matter
  write(dir / "profile.yaml", "left_foot: {length: 0.3}\nright_foot: {length: 0.3}\n");
  write(dir / "robot.profile.yaml", "left_foot: {length: 0.25}\n");
  write(dir / "explicit.yaml", "left_foot: {width: 0.09}\n");
  Profile p = oh::model::profile_for(m);
  EXPECT_DOUBLE_EQ(p.left_foot.length, 0.25);
  EXPECT_DOUBLE_EQ(p.right_foot.length, 0.3);
  p = oh::model::profile_for(m, dir / "explicit.yaml");
  EXPECT_DOUBLE_EQ(p.left_foot.length, 0.25);
  EXPECT_DOUBLE_EQ(p.left_foot.width, 0.09);
  EXPECT_EQ(p.overrides_applied.size(), 4u);
  EXPECT_THROW(oh::model::profile_for(m, dir / "missing.yaml"), ModelError);
  fs::remove_all(dir);
}

TEST(ProfileOverrides, FeetFromTheFileWhenDetectionFails) {
  const fs::path dir = temp_dir("pf2");
  // Two legs whose feet do not reach the same height (one leg is bent up): detection sees one foot only.
  write(dir / "odd.xml", R"(<mujoco model="odd">
  <worldbody>
    <body name="base" pos="0 0 0.7"><freejoint/><geom type="box" size="0.1 0.15 0.05"/>
      <body name="l1" pos="0 0.1 -0.05"><joint name="lj" axis="0 1 0"/><geom type="capsule" fromto="0 0 0 0 0 -0.5" size="0.04"/>
        <body name="lf" pos="0 0 -0.6"><joint name="la" axis="0 1 0"/><geom type="box" size="0.1 0.05 0.01" pos="0 0 -0.01"/></body></body>
      <body name="r1" pos="0 -0.1 -0.05"><joint name="rj" axis="0 1 0"/><geom type="capsule" fromto="0 0 0 0 0 -0.3" size="0.04"/>
        <body name="rf" pos="0 0 -0.3"><joint name="ra" axis="0 1 0"/><geom type="box" size="0.1 0.05 0.01" pos="0 0 -0.01"/></body></body>
    </body>
  </worldbody>
</mujoco>)");
  const Model m = load_mj(dir / "odd.xml");
  EXPECT_THROW(oh::model::detect_profile(m), ModelError);
  EXPECT_THROW(oh::model::profile_for(m), ModelError);
  write(dir / "odd.profile.yaml", "left_foot: {body: lf}\nright_foot: {body: rf}\n");
  const Profile p = oh::model::profile_for(m);
  EXPECT_EQ(name_of(m, p.pelvis_body), "base");
  EXPECT_EQ(p.leg_joints.size(), 4u);
  EXPECT_NEAR(p.right_foot.length, 0.2, 1e-6);
  fs::remove_all(dir);
}

}  // namespace

TEST(Profile, CrouchedBendsStraightLegsAndKeepsTheFeet) {
  // G1's keyframe stands on straight legs (every leg joint 0, a singular knee). Crouching by 4 % of the leg length
  // lowers the base by exactly that much relative to the feet, which keep their poses (IK converged; the whole
  // robot then moves by the keyframe's 2 mm sole offset so the soles touch z = 0), and the knees bend.
  const fs::path file = shared_robot("unitree_g1/scene.xml");
  if (!fs::exists(file)) GTEST_SKIP() << "shared robots absent: " << file;
  const Model m = load_mj(file);
  const Profile p = oh::model::detect_profile(m);
  const Eigen::VectorXd q = oh::model::crouched(m, p, p.q_nominal, 0.04);
  const auto X0 = oh::model::body_poses(m, p.q_nominal), X = oh::model::body_poses(m, q);
  const int base = p.base_body;
  const Eigen::Vector3d shift = X[p.left_foot.body].translation() - X0[p.left_foot.body].translation();
  EXPECT_LT(shift.head<2>().norm(), 1e-6);
  EXPECT_NEAR(X0[base].translation().z() - X[base].translation().z() + shift.z(), 0.04 * p.leg_length, 1e-6);
  for (const auto* foot : {&p.left_foot, &p.right_foot}) {
    EXPECT_LT((X[foot->body].translation() - X0[foot->body].translation() - shift).norm(), 1e-6);
    EXPECT_LT(Eigen::AngleAxisd(X[foot->body].linear() * X0[foot->body].linear().transpose()).angle(), 1e-6);
  }
  double bend = 0;  // the largest change of a leg joint [rad]
  for (int j : p.leg_joints) bend = std::max(bend, std::abs(q[m.joints[j].q_index] - p.q_nominal[m.joints[j].q_index]));
  EXPECT_GT(bend, 0.3);
  EXPECT_EQ(oh::model::crouched(m, p, p.q_nominal, 0.0), p.q_nominal);
  EXPECT_THROW(oh::model::crouched(m, p, Eigen::VectorXd::Zero(3), 0.04), ModelError);
}
