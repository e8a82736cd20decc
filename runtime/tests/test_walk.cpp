// Walking regressions: the model-based walking controller (footstep planner, LIPM MPC, WBC) on the built-in
// robot, with the state estimator in the loop. Each test runs `humanoid run --task walk` headless through
// runtime::run and asserts on the report.
#include "runtime/runner.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace {

nlohmann::json walk(const std::string& cmd, double duration, const std::string& schedule = "") {
  oh::runtime::RunOptions o;
  o.robot = "builtin";
  o.task = "walk";
  o.cmd = cmd;
  o.cmd_schedule = schedule;
  o.duration = duration;
  return oh::runtime::run(o);
}

}  // namespace

TEST(WalkBuiltin, ForwardHalfMetrePerSecondFor20s) {
  const auto r = walk("0.5,0,0", 20.0);
  ASSERT_FALSE(r["fell"].get<bool>()) << r.dump(2);
  EXPECT_LE(r["velocity_rmse"][0].get<double>(), 0.1);
  EXPECT_GE(r["distance_m"].get<double>(), 8.5);
  EXPECT_GT(r["velocity_samples"].get<int>(), 1000);
  EXPECT_GT(r["steps_taken"].get<int>(), 20);
  EXPECT_LT(r["mpc_solve_us"]["p50"].get<double>(), 2000.0);  // sanity, not a timing test
}

TEST(WalkBuiltin, TurnsInPlaceAtHalfARadianPerSecond) {
  const auto r = walk("0,0,0.5", 10.0);
  ASSERT_FALSE(r["fell"].get<bool>()) << r.dump(2);
  EXPECT_LE(r["velocity_rmse"][2].get<double>(), 0.15);
  EXPECT_LT(r["distance_m"].get<double>(), 0.2);  // in place
}

TEST(WalkBuiltin, ScheduleStandWalkTurnStopEndsStandingFeetTogether) {
  const auto r = walk("", 14.0, std::string(OH_SOURCE_DIR) + "/runtime/tests/data/walk_schedule.csv");
  ASSERT_FALSE(r["fell"].get<bool>()) << r.dump(2);
  const auto& m = r["task_metrics"];
  EXPECT_EQ(m["final_phase"].get<std::string>(), "stand");
  const double width = m["gait"]["nominal_width_m"].get<double>();
  EXPECT_LT(std::abs(m["final_feet_offset_m"][0].get<double>()), 0.05);
  EXPECT_LT(std::abs(m["final_feet_offset_m"][1].get<double>() - width), 0.05);
  EXPECT_GT(r["distance_m"].get<double>(), 2.0);
}

TEST(WalkBuiltin, BadCommandsAreRejected) {
  EXPECT_THROW(walk("0.5,0", 1.0), std::invalid_argument);
  EXPECT_THROW(walk("nan,0,0", 1.0), std::invalid_argument);
  EXPECT_THROW(walk("", 1.0, "/nonexistent/schedule.csv"), std::invalid_argument);
  oh::runtime::RunOptions o;
  o.task = "stand";
  o.cmd = "0.1,0,0";
  EXPECT_THROW(oh::runtime::run(o), std::invalid_argument);
  o.task = "walk";
  o.terrain = "lava:3";
  EXPECT_THROW(oh::runtime::run(o), std::invalid_argument);
}
