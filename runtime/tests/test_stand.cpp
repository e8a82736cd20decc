// Stand regressions: every robot stands, rejects pushes without stepping, shifts its CoM and reaches, all with
// the same whole-body controller and the state estimator in the loop. Each test runs the scenario headless
// through runtime::run (what `humanoid run` does) and asserts on the report.
#include "model/model.hpp"
#include "runtime/runner.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <numbers>
#include <string>

namespace {

using oh::runtime::RunOptions;

struct Robot {
  const char* name;      ///< --robot argument
  const char* shared;    ///< directory under ../shared/robots it needs, or nullptr for a built-in robot
};

class Stand : public ::testing::TestWithParam<Robot> {
 protected:
  void SetUp() override {
    const Robot& r = GetParam();
    if (r.shared && !std::filesystem::exists(oh::model::shared_dir() / "robots" / r.shared))
      GTEST_SKIP() << "../shared/robots/" << r.shared << " not found; set OH_SHARED_DIR to run this test";
  }
  nlohmann::json run(const std::string& task, double duration, std::vector<std::string> pushes = {}) {
    RunOptions o;
    o.robot = GetParam().name;
    o.task = task;
    o.duration = duration;
    o.pushes = std::move(pushes);
    nlohmann::json r = oh::runtime::run(o);
    RecordProperty("report", r.dump());
    return r;
  }
};

TEST_P(Stand, Stands30sLevel) {
  const auto r = run("stand", 30.0);
  EXPECT_FALSE(r["fell"].get<bool>()) << r.dump(2);
  EXPECT_LT(r["max_tilt_rad"].get<double>(), 0.1);
  EXPECT_LT(r["com_xy_error_rms_m"].get<double>(), 0.02);
  EXPECT_LT(r["estimator_error"]["pos_rms_m"].get<double>(), 0.05);
  EXPECT_LT(r["estimator_error"]["vel_rms_mps"].get<double>(), 0.05);
  EXPECT_FALSE(r["sim_diverged"].get<bool>());
}

TEST_P(Stand, RejectsEightPushesWithoutStepping) {
  std::vector<std::string> pushes;
  for (int k = 0; k < 8; ++k) {
    const double a = k * std::numbers::pi / 4.0;
    pushes.push_back("t=" + std::to_string(2 + 2 * k) + ",dv=" + std::to_string(0.2 * std::cos(a)) + "," +
                     std::to_string(0.2 * std::sin(a)));
  }
  const auto r = run("stand", 18.0, pushes);
  EXPECT_FALSE(r["fell"].get<bool>()) << r.dump(2);
  ASSERT_EQ(r["pushes"].size(), 8u);
  for (size_t k = 0; k < 8; ++k) {
    const auto& p = r["pushes"][k];
    EXPECT_NEAR(p["magnitude"].get<double>(), 0.2, 1e-6);
    // The velocity change as given, world frame.
    EXPECT_NEAR(p["dv_mps"][0].get<double>(), 0.2 * std::cos(k * std::numbers::pi / 4.0), 1e-5);
    EXPECT_NEAR(p["dv_mps"][1].get<double>(), 0.2 * std::sin(k * std::numbers::pi / 4.0), 1e-5);
    EXPECT_TRUE(p["recovered"].get<bool>()) << "push at t=" << p["t"];
  }
  EXPECT_LT(r["task_metrics"]["max_sole_displacement_m"].get<double>(), 0.02) << "the feet moved: it stepped or slid";
}

TEST_P(Stand, ShiftsCoMFiveCentimetresAndBack) {
  const auto r = run("com-shift", 6.0);
  EXPECT_FALSE(r["fell"].get<bool>()) << r.dump(2);
  const auto& m = r["task_metrics"];
  EXPECT_NEAR(m["com_shift_max_m"].get<double>(), 0.05, 0.01);
  EXPECT_LT(m["com_return_error_m"].get<double>(), 0.01);
  EXPECT_LT(m["max_sole_displacement_m"].get<double>(), 0.01);
}

TEST_P(Stand, ReachesTwentyCentimetresForwardWithFeetFlat) {
  const auto r = run("reach", 4.0);
  EXPECT_FALSE(r["fell"].get<bool>()) << r.dump(2);
  const auto& m = r["task_metrics"];
  ASSERT_TRUE(m.contains("hand_error_m")) << "no hand found";
  EXPECT_LT(m["hand_error_m"].get<double>(), 0.03);
  EXPECT_LT(m["max_sole_displacement_m"].get<double>(), 0.01);
}

INSTANTIATE_TEST_SUITE_P(Robots, Stand,
                         ::testing::Values(Robot{"builtin", nullptr}, Robot{"g1", "unitree_g1"},
                                           Robot{"h1", "unitree_h1"}, Robot{"tienkung", "tienkung2_lite"}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
