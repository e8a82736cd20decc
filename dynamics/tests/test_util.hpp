// Shared helpers of the dynamics tests: robots under test, MuJoCo models, random states, tolerances.
#pragma once

#include "dynamics/dynamics.hpp"
#include "model/model.hpp"

#include <gtest/gtest.h>
#include <mujoco/mujoco.h>

#include <Eigen/Core>

#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace oh::dynamics::test {

/// ||a - b|| <= tol * max(1, ||b||), with a readable failure message.
template <class A, class B>
::testing::AssertionResult near(const A& a, const B& b, double tol = 1e-9) {
  const double err = (a - b).norm();
  const double scale = std::max(1.0, static_cast<double>(b.norm()));
  if (err <= tol * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "error " << err << " > " << tol << " * " << scale << "\n got:\n"
                                       << a << "\n expected:\n"
                                       << b;
}

/// Synthetic MJCF models that exercise what the stock robots do not: unaligned axes, joint anchors,
/// several joints in one body, slide joints, MJCF `ref`, welded bodies with sites, bodies welded to
/// the world, armature on a free joint, two floating bodies, a fixed base.
inline const char* kSyntheticTree = R"(
<mujoco model="synthetic_tree">
  <compiler angle="radian"/>
  <option gravity="0.3 -0.2 -9.6"/>
  <worldbody>
    <geom name="floor" type="plane" size="5 5 0.1"/>
    <body name="deco" pos="0.1 0.2 0.3" quat="0.9 0.1 0 0.2">
      <geom type="sphere" size="0.05" mass="0.7"/>
      <site name="deco_site" pos="0.01 0 0.02"/>
    </body>
    <body name="base" pos="0 0 1" quat="0.9 0.1 -0.2 0.3">
      <freejoint name="root"/>
      <geom type="box" size="0.1 0.2 0.05" mass="5"/>
      <site name="imu" pos="0.02 -0.01 0.03" quat="0.9 0.1 0.2 0.3"/>
      <body name="a1" pos="0.1 0.05 -0.1" quat="0.8 0.3 -0.1 0.2">
        <joint name="j1" type="hinge" axis="0.3 0.5 0.8" pos="0.01 0.02 -0.03" ref="0.2" armature="0.02"
               limited="true" range="-1 1.5"/>
        <geom type="capsule" fromto="0 0 0 0.02 0 -0.3" size="0.03" mass="1.2"/>
        <body name="a2" pos="0 0 -0.3">
          <joint name="j2a" type="hinge" axis="1 0 0" pos="0 0.01 0" armature="0.01"/>
          <joint name="j2b" type="hinge" axis="0 -1 0" pos="0.02 0 0.01"/>
          <joint name="j2c" type="slide" axis="0.2 0.1 0.9" ref="0.05" armature="0.3"/>
          <geom type="box" size="0.05 0.03 0.1" pos="0.01 0.02 -0.05" euler="0.1 0.2 0.3" mass="0.8"/>
          <body name="a2_welded" pos="0.03 0 -0.1" euler="0.3 0 0.5">
            <geom type="ellipsoid" size="0.03 0.04 0.05" pos="0.01 0 0" mass="0.4"/>
            <site name="tip" pos="0 0.02 0.01" euler="0.2 0.1 0"/>
            <body name="a3" pos="0 0 -0.05" quat="0.7 0 0.7 0">
              <joint name="j3" type="slide" axis="0 0 1" armature="0.05"/>
              <geom type="cylinder" size="0.02 0.05" mass="0.3"/>
            </body>
          </body>
        </body>
      </body>
      <body name="b1" pos="-0.1 0 0.1">
        <joint name="k1" type="hinge" axis="0 0 1" damping="0.5"/>
        <geom type="box" size="0.04 0.04 0.1" pos="0 0 0.1" mass="1.5"/>
        <body name="b2" pos="0 0 0.2" quat="0.9 0 0 0.4">
          <joint name="k2" type="hinge" axis="0 1 0" pos="0 0 0.05"/>
          <geom type="sphere" size="0.05" pos="0.02 0.01 0.03" mass="0.6"/>
          <site name="b2_site" pos="0.05 0 0"/>
        </body>
      </body>
    </body>
    <body name="ball" pos="1 0 0.5">
      <joint name="ball_free" type="free" armature="0.1"/>
      <geom type="box" size="0.1 0.05 0.07" mass="2"/>
      <body name="ball_arm" pos="0.1 0 0">
        <joint name="ball_hinge" axis="0 0.6 0.8" pos="0.02 0 0"/>
        <geom type="capsule" fromto="0 0 0 0.2 0 0" size="0.02" mass="0.5"/>
      </body>
    </body>
  </worldbody>
</mujoco>
)";

inline const char* kFixedArm = R"(
<mujoco model="fixed_arm">
  <compiler angle="radian"/>
  <worldbody>
    <body name="pedestal" pos="0 0 0.5" quat="0.9 0 0.1 0.2">
      <geom type="cylinder" size="0.1 0.2" mass="3"/>
      <body name="l1" pos="0 0 0.25" quat="0.8 0.2 0.1 0.3">
        <joint name="s1" axis="0 0 1" pos="0.01 0 0" armature="0.1"/>
        <geom type="capsule" fromto="0 0 0 0 0 0.3" size="0.04" mass="2"/>
        <body name="l2" pos="0 0 0.3">
          <joint name="s2" type="slide" axis="1 0 0" armature="0.2"/>
          <joint name="s3" axis="0.6 -0.8 0" pos="0 0.02 0"/>
          <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.03" mass="1"/>
          <body name="l3" pos="0.3 0 0">
            <joint name="s4" axis="0 -1 0"/>
            <geom type="box" size="0.02 0.02 0.05" mass="0.5"/>
            <site name="tool" pos="0 0 0.06" quat="0.5 0.5 0.5 0.5"/>
          </body>
        </body>
      </body>
    </body>
  </worldbody>
</mujoco>
)";

inline std::filesystem::path write_temp_model(const std::string& name, const char* xml) {
  const auto dir = std::filesystem::temp_directory_path() / "oh_dynamics_tests";
  std::filesystem::create_directories(dir);
  const auto path = dir / (name + ".xml");
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs(xml, f);
  std::fclose(f);
  return path;
}

/// A robot under test: our Model, the dynamics Model and the MuJoCo model compiled from the same file.
struct Robot {
  std::string name;
  oh::model::Model model;
  std::shared_ptr<mjModel> mj;
  std::unique_ptr<oh::dynamics::Model> dyn;
};

/// The robots every comparison test runs on: (name, path). Paths under shared/ may be absent.
inline std::vector<std::pair<std::string, std::filesystem::path>> robot_paths() {
  const auto shared = oh::model::shared_dir();
  std::vector<std::pair<std::string, std::filesystem::path>> out = {
      {"synthetic_tree", {}},
      {"fixed_arm", {}},
      {"builtin", oh::model::builtin_robot_path()},
      {"unitree_g1", shared / "robots/unitree_g1/scene.xml"},
      {"unitree_h1", shared / "robots/unitree_h1/scene.xml"},
      {"tienkung2_lite", shared / "robots/tienkung2_lite/tienkung.xml"},
      {"tienkung2_lite_urdf", shared / "robots/tienkung2_lite/tienkung2_lite.urdf"},
      {"g1_with_hands", shared / "robots/unitree_g1/g1_with_hands.xml"},
      {"rl_gym_g1", shared / "policies/unitree_rl_gym/g1/model/scene.xml"},
      {"rl_gym_h1", shared / "policies/unitree_rl_gym/h1/model/scene.xml"},
      {"rl_gym_h1_2", shared / "policies/unitree_rl_gym/h1_2/model/scene.xml"},
  };
  return out;
}

inline std::vector<std::string> robot_names() {
  std::vector<std::string> names;
  for (const auto& [n, p] : robot_paths()) names.push_back(n);
  return names;
}

/// Loads (and caches) a robot; on failure sets `why` and returns nullptr.
Robot* get_robot(const std::string& name, std::string& why);

/// Configures MuJoCo for rigid-body comparisons: no constraints, contacts, passive or actuator forces.
inline void disable_non_rigid_body_forces(mjModel* m) {
  m->opt.disableflags |= mjDSBL_CONSTRAINT | mjDSBL_CONTACT | mjDSBL_PASSIVE | mjDSBL_ACTUATION;
}

/// Random state for a model: q from random_configuration, v and a uniform in [-scale, scale].
struct State {
  Eigen::VectorXd q, v, a, tau;
};
inline State random_state(const oh::dynamics::Model& m, unsigned seed, double vscale = 2.0, double ascale = 5.0) {
  State s;
  s.q = oh::dynamics::random_configuration(m, seed);
  std::mt19937_64 rng(seed * 7919u + 17u);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  s.v.resize(m.nv);
  s.a.resize(m.nv);
  s.tau.resize(m.nv);
  for (int k = 0; k < m.nv; ++k) {
    s.v[k] = vscale * u(rng);
    s.a[k] = ascale * u(rng);
    s.tau[k] = 20.0 * u(rng);
  }
  return s;
}

/// A MuJoCo data object that frees itself.
struct MjData {
  explicit MjData(const mjModel* m) : d(mj_makeData(m)) {}
  ~MjData() { mj_deleteData(d); }
  MjData(const MjData&) = delete;
  MjData& operator=(const MjData&) = delete;
  mjData* operator->() const { return d; }
  operator mjData*() const { return d; }
  mjData* d;
};

using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr int kStates = 100;

}  // namespace oh::dynamics::test
