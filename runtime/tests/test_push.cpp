#include "runtime/runner.hpp"

#include <gtest/gtest.h>

using oh::runtime::parse_push;
using Kind = oh::sim::Disturbance::Kind;

TEST(PushSpec, VelocityChange) {
  const auto p = parse_push("t=2.5,dv=0.2,-0.1");
  ASSERT_TRUE(p.disturbance);
  EXPECT_EQ(p.disturbance->kind, Kind::kVelocityChange);
  EXPECT_DOUBLE_EQ(p.disturbance->t, 2.5);
  EXPECT_DOUBLE_EQ(p.disturbance->value.x(), 0.2);
  EXPECT_DOUBLE_EQ(p.disturbance->value.y(), -0.1);
  EXPECT_DOUBLE_EQ(p.disturbance->value.z(), 0.0);
}

TEST(PushSpec, ForceOnBody) {
  const auto p = parse_push("t=1,f=10,0,-5,dt=0.1,body=torso_link");
  ASSERT_TRUE(p.disturbance);
  EXPECT_EQ(p.disturbance->kind, Kind::kForce);
  EXPECT_DOUBLE_EQ(p.disturbance->duration, 0.1);
  EXPECT_DOUBLE_EQ(p.disturbance->value.z(), -5.0);
  EXPECT_EQ(p.body_name, "torso_link");
}

TEST(PushSpec, Random) {
  const auto p = parse_push("random:0.6:3");
  EXPECT_FALSE(p.disturbance);
  EXPECT_DOUBLE_EQ(p.random_dv, 0.6);
  EXPECT_DOUBLE_EQ(p.random_period, 3.0);
}

TEST(PushSpec, MalformedIsRejectedWithTheText) {
  for (const char* bad : {"", "t=1", "t=1,dv=0.2", "t=x,dv=1,2", "t=1,dv=nan,0", "t=1,f=1,2,3", "t=1,f=1,2,3,dt=0",
                          "random:1", "random:1:0", "random:a:b", "t=1,dv=1,2,zz=3", "t=-1,dv=1,1",
                          "t=1,dv=1,2,f=1,2,3,dt=1", "t=1e999,dv=1,1"}) {
    try {
      parse_push(bad);
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("--push"), std::string::npos) << e.what();
    }
  }
}
