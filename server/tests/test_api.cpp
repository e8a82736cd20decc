// API tests against a real server on loopback: the built-in robot in real time, WebSocket clients over TCP.
#include "server/protocol.hpp"
#include "server/server.hpp"

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

/// A blocking WebSocket client.
class Client {
 public:
  Client(const std::string& host, std::uint16_t port, const std::string& target = "/ws") : ws_(ioc_) {
    tcp::resolver resolver(ioc_);
    net::connect(ws_.next_layer(), resolver.resolve(host, std::to_string(port)));
    ws_.handshake(host, target);
    hello = next();
  }
  json next() {
    beast::flat_buffer b;
    ws_.read(b);
    return json::parse(beast::buffers_to_string(b.data()));
  }
  /// The next message that is not a state.
  json reply() {
    for (;;) {
      json m = next();
      if (m["type"] != "state") return m;
    }
  }
  json state() {
    for (;;) {
      json m = next();
      if (m["type"] == "state") return m;
    }
  }
  void send(const std::string& text) { ws_.write(net::buffer(text)); }
  json command(const json& j) {
    send(j.dump());
    return reply();
  }
  json hello;

 private:
  net::io_context ioc_;
  websocket::stream<tcp::socket> ws_;
};

/// One session in real time behind one loopback server for the whole suite.
class Api : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    session_ = new oh::runtime::Session(oh::runtime::SessionOptions{});
    oh::server::ServerOptions o;
    o.port = 0;
    server_ = new oh::server::Server(*session_, o);
    server_->start();
    stop_ = false;
    runner_ = new std::thread([] { session_->run_realtime(1.0, 0.0, stop_); });
  }
  static void TearDownTestSuite() {
    stop_ = true;
    runner_->join();
    server_->stop();
    delete runner_;
    delete server_;
    delete session_;
  }
  void SetUp() override {
    Client c("127.0.0.1", server_->port());
    ASSERT_EQ(c.command({{"op", "reset"}})["ok"], true);
    // Wait for the reset to take effect (t restarts), then let the robot settle.
    json s = c.state();
    while (s["t"].get<double>() > 0.3) s = c.state();
    while (s["t"].get<double>() < 0.5) s = c.state();
  }
  static oh::runtime::Session* session_;
  static oh::server::Server* server_;
  static std::thread* runner_;
  static std::atomic<bool> stop_;
};
oh::runtime::Session* Api::session_ = nullptr;
oh::server::Server* Api::server_ = nullptr;
std::thread* Api::runner_ = nullptr;
std::atomic<bool> Api::stop_{false};

TEST_F(Api, StreamsStateAtLeast30HzToSeveralClients) {
  Client a("127.0.0.1", server_->port()), b("127.0.0.1", server_->port());
  EXPECT_EQ(a.hello["type"], "hello");
  EXPECT_EQ(a.hello["authorized"], true);
  EXPECT_EQ(a.hello["token_required"], false);
  const json first = a.state();
  for (const char* key : {"t", "mode", "base", "joints", "contacts", "timing", "command", "bodies", "com"})
    EXPECT_TRUE(first.contains(key)) << key;
  EXPECT_EQ(first["joints"]["q"].size(), first["joints"]["tau"].size());
  int n = 0;
  const auto t0 = Clock::now();
  double sim0 = first["t"].get<double>(), sim1 = sim0;
  while (Clock::now() - t0 < std::chrono::seconds(2)) {
    sim1 = a.state()["t"].get<double>();
    ++n;
    b.state();
  }
  const double hz = n / std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("[ stream   ] %.1f Hz to each of 2 clients, sim advanced %.2f s in 2 s wall\n", hz, sim1 - sim0);
  EXPECT_GE(hz, 30.0);
  EXPECT_NEAR(sim1 - sim0, 2.0, 0.3);  // real time
  EXPECT_EQ(server_->clients(), 3 - 1);  // a and b (the SetUp client has gone)
}

TEST_F(Api, VelocityCommandChangesMeasuredBaseVelocity) {
  Client c("127.0.0.1", server_->port());
  double before = 0.0;
  for (int i = 0; i < 25; ++i) before += c.state()["base"]["heading_vel"][0].get<double>() / 25;
  const auto t_send = Clock::now();
  const json r = c.command({{"op", "velocity"}, {"vx", 0.25}, {"vy", 0.0}, {"wz", 0.0}, {"id", 7}});
  const double reply_ms = std::chrono::duration<double, std::milli>(Clock::now() - t_send).count();
  ASSERT_EQ(r["type"], "reply") << r.dump();
  EXPECT_EQ(r["id"], 7);
  EXPECT_DOUBLE_EQ(r["command"][0].get<double>(), 0.25);
  // Latency: until the controller receives the command, as the stream reports it.
  json s = c.state();
  while (s["command"]["applied"][0].get<double>() < 0.2) s = c.state();
  const double applied_ms = std::chrono::duration<double, std::milli>(Clock::now() - t_send).count();
  // Walk for 6 s; the mean forward velocity from 2 s on (the controller is still being tuned: it is asked to
  // move forward clearly, not to track the command).
  double sum = 0.0;
  int n = 0;
  const double t_cmd = s["t"].get<double>();
  for (s = c.state(); s["t"].get<double>() < t_cmd + 6.0 && s["mode"] != "fallen"; s = c.state())
    if (s["t"].get<double>() > t_cmd + 2.0) {
      sum += s["base"]["heading_vel"][0].get<double>();
      ++n;
    }
  ASSERT_NE(s["mode"], "fallen");
  EXPECT_EQ(s["mode"], "walking");
  const double after = n ? sum / n : 0.0;
  std::printf("[ velocity ] reply %.2f ms, applied after %.1f ms; vx before %.3f, after %.3f m/s (cmd 0.25), %d steps\n",
              reply_ms, applied_ms, before, after, s["steps_taken"].get<int>());
  EXPECT_LT(std::abs(before), 0.05);
  EXPECT_GT(after, 0.06);
  // Clamping to the controller's limits.
  const json big = c.command({{"op", "velocity"}, {"vx", 1.0}});
  const double max_vx = session_->limits().max_vx;
  if (1.0 <= 4 * max_vx) {
    EXPECT_EQ(big["clamped"], true) << big.dump();
    EXPECT_DOUBLE_EQ(big["command"][0].get<double>(), max_vx);
  }
  c.command({{"op", "task"}, {"task", "stand"}});
}

TEST_F(Api, EstopLatchesDampingUntilReset) {
  Client c("127.0.0.1", server_->port());
  ASSERT_EQ(c.command({{"op", "velocity"}, {"vx", 0.2}})["ok"], true);
  ASSERT_EQ(c.command({{"op", "estop"}})["ok"], true);
  json s = c.state();
  for (int i = 0; i < 5; ++i) s = c.state();
  EXPECT_EQ(s["mode"], "estopped");
  EXPECT_EQ(s["gains"]["kp_max"].get<double>(), 0.0);
  EXPECT_GT(s["gains"]["kd_min"].get<double>(), 0.0);
  // Latched: motion commands are refused, and it stays so.
  EXPECT_EQ(c.command({{"op", "velocity"}, {"vx", 0.2}})["type"], "error");
  EXPECT_EQ(c.command({{"op", "task"}, {"task", "walk"}})["type"], "error");
  EXPECT_EQ(c.command({{"op", "push"}})["type"], "error");
  const double t0 = s["t"].get<double>();
  while (s["t"].get<double>() < t0 + 1.5) {
    s = c.state();
    ASSERT_EQ(s["mode"], "estopped");
    ASSERT_EQ(s["gains"]["kp_max"].get<double>(), 0.0);
  }
  EXPECT_EQ(c.command({{"op", "reset"}})["ok"], true);
  s = c.state();
  for (int i = 0; i < 10; ++i) s = c.state();
  EXPECT_EQ(s["mode"], "standing");
  EXPECT_LT(s["t"].get<double>(), 1.0);
}

TEST_F(Api, ThousandMalformedMessagesEachGetAnErrorAndNeverReachTheRobot) {
  Client c("127.0.0.1", server_->port());
  const std::vector<std::string> bad = {
      "", "{", "nope", "{\"op\":}", "NaN", "[1,2", "{'op':'velocity'}", "[]", "1", "\"velocity\"", "null", "true",
      R"({"op":1})", R"({"op":null})", R"({"vx":0.3})", R"({"op":"velocity","vx":"fast"})",
      R"({"op":"velocity","vx":true})", R"({"op":"velocity","vx":[1]})", R"({"op":"velocity","vx":null})",
      R"({"op":"velocity","wz":{"a":1}})", R"({"op":"push","dv":"x"})", R"({"op":"task","task":3})",
      R"({"op":"task","task":"dance"})", R"({"op":"task"})", R"({"op":"velocity","vx":NaN})",
      R"({"op":"velocity","vx":Infinity})", R"({"op":"velocity","vx":-Infinity})", R"({"op":"velocity","vx":1e999})",
      R"({"op":"velocity","vx":1e300})", R"({"op":"velocity","wz":-1e10})", R"({"op":"velocity","vy":1e6})",
      R"({"op":"velocity","vx":123456789012345678901234567890})", R"({"op":"push","dv":1e9})",
      R"({"op":"push","dv":-0.3})", R"({"op":"push","dv":0})", R"({"op":"fly"})", R"({"op":""})",
      R"({"op":"VELOCITY","vx":0.1})", R"({"cmd":"velocity"})", R"({"op":"auth"})", R"({"op":"auth","token":5})",
      "{\"op\":\"velocity\",\"vx\":0.1,\"pad\":\"" + std::string(5000, 'x') + "\"}"};
  const json s0 = c.state();
  int errors = 0;
  for (int i = 0; i < 1000; ++i) {
    std::string msg = bad[static_cast<size_t>(i) % bad.size()];
    // Vary them: trailing garbage or whitespace keeps each one malformed.
    if (i / bad.size() % 2 == 1 && !msg.empty() && msg.front() == '{') msg = " " + msg + " ";
    if (i % 7 == 3) msg += "}";
    c.send(msg);
    const json r = c.reply();
    if (r["type"] == "error" && r["error"].is_string() && !r["error"].get<std::string>().empty()) ++errors;
    else ADD_FAILURE() << "accepted: " << msg.substr(0, 80) << " -> " << r.dump();
  }
  EXPECT_EQ(errors, 1000);
  // The run goes on and nothing reached the robot.
  const json s1 = c.state();
  EXPECT_GT(s1["t"].get<double>(), s0["t"].get<double>());
  EXPECT_EQ(s1["episode"], s0["episode"]);
  EXPECT_EQ(s1["mode"], "standing");
  EXPECT_EQ(s1["command"]["requested"], json::array({0.0, 0.0, 0.0}));
  std::printf("[ malformed] %d of 1000 got an error reply; t %.2f -> %.2f s, mode %s\n", errors, s0["t"].get<double>(),
              s1["t"].get<double>(), s1["mode"].get<std::string>().c_str());
  EXPECT_EQ(c.command({{"op", "ping"}})["ok"], true);
}

TEST_F(Api, CommandsNeedTheTokenOffTheDefaultLoopback) {
  oh::server::ServerOptions o;
  o.bind = "127.0.0.2";
  o.port = 0;
  oh::server::Server remote(*session_, o);
  remote.start();
  ASSERT_FALSE(remote.token().empty());
  {
    Client c("127.0.0.2", remote.port());
    EXPECT_EQ(c.hello["token_required"], true);
    EXPECT_EQ(c.hello["authorized"], false);
    for (const json& cmd : {json{{"op", "velocity"}, {"vx", 0.2}}, json{{"op", "estop"}}, json{{"op", "reset"}},
                            json{{"op", "push"}}, json{{"op", "task"}, {"task", "walk"}}}) {
      const json r = c.command(cmd);
      EXPECT_EQ(r["type"], "error") << cmd.dump();
      EXPECT_NE(r["error"].get<std::string>().find("not authorized"), std::string::npos);
    }
    EXPECT_EQ(c.command({{"op", "velocity"}, {"vx", 0.2}, {"token", "wrong"}})["type"], "error");
    EXPECT_EQ(c.command({{"op", "auth"}, {"token", "wrong"}})["type"], "error");
    EXPECT_EQ(c.state()["mode"], "standing");  // read-only stream still flows; nothing moved the robot
    EXPECT_EQ(c.command({{"op", "auth"}, {"token", remote.token()}})["ok"], true);
    EXPECT_EQ(c.command({{"op", "task"}, {"task", "stand"}})["ok"], true);
  }
  {
    Client c("127.0.0.2", remote.port(), "/ws?token=" + remote.token());
    EXPECT_EQ(c.hello["authorized"], true);
    EXPECT_EQ(c.command({{"op", "task"}, {"task", "stand"}})["ok"], true);
  }
  remote.stop();
}

TEST(Protocol, Base64) {
  EXPECT_EQ(oh::server::base64("", 0), "");
  EXPECT_EQ(oh::server::base64("f", 1), "Zg==");
  EXPECT_EQ(oh::server::base64("fo", 2), "Zm8=");
  EXPECT_EQ(oh::server::base64("foobar", 6), "Zm9vYmFy");
}

}  // namespace
