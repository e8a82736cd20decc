// `humanoid run ... --serve`: the interactive session in real time with the dashboard server.
#include "apps/humanoid/commands.hpp"
#include "model/model.hpp"
#include "runtime/runner.hpp"
#include "runtime/session.hpp"
#include "server/server.hpp"

#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <cmath>
#include <iostream>
#include <stdexcept>

namespace oh::app {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop = true; }

}  // namespace

int serve_run(const runtime::RunOptions& run, const ServeOptions& serve) {
  if (!run.policy.empty()) throw std::invalid_argument("--serve runs the walking controller; --policy is not supported yet");
  if (run.task != "stand" && run.task != "walk")
    throw std::invalid_argument(fmt::format("--serve: --task '{}': the session stands or walks (--task stand|walk)", run.task));
  if (!run.pushes.empty()) throw std::invalid_argument("--serve: use the dashboard's push button (or the push command), not --push");
  if (!run.cmd.empty() && !run.cmd_schedule.empty()) throw std::invalid_argument("give either --cmd or --cmd-schedule, not both");
  if (!(serve.rate > 0) || !std::isfinite(serve.rate) || serve.rate > 100)
    throw std::invalid_argument("--rate must be in (0, 100]");
  if (serve.port < 0 || serve.port > 65535) throw std::invalid_argument("--port must be in [0, 65535]");
  if (serve.duration_given && (!(run.duration > 0) || !std::isfinite(run.duration)))
    throw std::invalid_argument("--duration must be positive");

  runtime::SessionOptions so;
  so.robot = run.robot;
  so.profile = run.profile;
  so.terrain = run.terrain;
  so.terrain_known = run.terrain_known;
  so.seed = run.seed;
  so.control_rate = run.control_rate;
  so.ground_truth = run.ground_truth;
  if (!run.cmd.empty()) so.schedule = {{0.0, runtime::parse_command(run.cmd)}};
  if (!run.cmd_schedule.empty()) so.schedule = runtime::load_command_schedule(run.cmd_schedule);
  runtime::Session session(so);
  if (run.task == "walk" && !so.schedule.empty()) session.set_task("walk");

  server::ServerOptions o;
  o.bind = serve.bind;
  o.port = static_cast<std::uint16_t>(serve.port);
  o.token = serve.token;
  server::Server srv(session, o);
  srv.start();
  std::cout << fmt::format("dashboard: {}{}\n", srv.url(), srv.token().empty() ? "" : "?token=" + srv.token());
  if (!srv.token().empty()) std::cout << fmt::format("token: {} (commands need it; without it the stream is read-only)\n", srv.token());
  std::cout << fmt::format("robot {} at {:g}x real time; Ctrl-C to stop\n", session.model().name, serve.rate) << std::flush;

  g_stop = false;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  session.run_realtime(serve.rate, serve.duration_given ? run.duration : 0.0, g_stop);
  srv.stop();
  const runtime::SessionSnapshot s = session.snapshot();
  std::cout << fmt::format("stopped at t = {:.2f} s, mode {}, {} steps\n", s.t, runtime::mode_name(s.mode), s.steps_taken);
  return 0;
}

}  // namespace oh::app
