// `humanoid run`: a headless scenario in simulation, with a summary and an optional JSON report.
#include "apps/humanoid/commands.hpp"
#include "model/model.hpp"
#include "runtime/runner.hpp"

#include <cmath>
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <numbers>

namespace oh::app {

void add_run(CLI::App& app) {
  auto opts = std::make_shared<runtime::RunOptions>();
  auto report = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("run", "Run a robot headless in a MuJoCo scene and score it");
  cmd->add_option("--robot", opts->robot, "Robot name (g1, h1, ...), directory or MJCF/URDF file (default: built-in)");
  cmd->add_option("--profile", opts->profile, "Profile YAML overriding the auto-detected profile");
  cmd->add_option("--task", opts->task, "Task: stand, com-shift, reach or walk")->capture_default_str();
  cmd->add_option("--cmd", opts->cmd, "Walk: constant velocity command vx,vy,wz [m/s, m/s, rad/s]");
  cmd->add_option("--policy", opts->policy,
                  "Learned policy in place of the WBC: spec YAML, unitree_rl_gym deploy YAML or policy directory "
                  "(the robot defaults to DIR/model/scene.xml; command default: the spec's)");
  cmd->add_option("--cmd-schedule", opts->cmd_schedule, "Walk: command schedule, CSV t,vx,vy,wz or YAML [{t, cmd}]");
  cmd->add_option("--terrain", opts->terrain, "Terrain: flat, slope:<deg> or steps:<height_m>")->capture_default_str();
  cmd->add_flag("--terrain-known", opts->terrain_known,
                "Walk: give the controller the terrain's surface normals (swing soles land parallel to the ground); default blind");
  cmd->add_option("--duration", opts->duration, "Simulated duration [s]")->capture_default_str();
  cmd->add_option("--push", opts->pushes,
                  "Disturbance: t=<s>,dv=<vx>,<vy> | t=<s>,f=<fx>,<fy>,<fz>,dt=<s>[,body=<name>] | random:<dv>:<period>")
      ->allow_extra_args(false);
  cmd->add_option("--seed", opts->seed, "Random seed")->capture_default_str();
  cmd->add_option("--control-rate", opts->control_rate, "Controller rate [Hz]")->capture_default_str();
  cmd->add_flag("--ground-truth", opts->ground_truth, "Feed the controller ground truth instead of the estimate");
  cmd->add_option("--report", *report, "Write the JSON report to this file");
  auto serve = std::make_shared<ServeOptions>();
  cmd->add_flag("--serve", serve->serve, "Run in real time with the web dashboard and API (docs/api.md)");
  cmd->add_option("--port", serve->port, "--serve: TCP port (0: any free one)")->capture_default_str();
  cmd->add_option("--bind", serve->bind, "--serve: address to listen on (other than loopback needs a token)")
      ->capture_default_str();
  cmd->add_option("--token", serve->token, "--serve: token for commands (default: random, off on loopback)");
  cmd->add_option("--rate", serve->rate, "--serve: simulated seconds per wall-clock second")->capture_default_str();
  cmd->callback([opts, report, serve, cmd] {
    run_guarded([&] {
      serve->duration_given = cmd->count("--duration") > 0;
      if (serve->serve) return serve_run(*opts, *serve);
      if (cmd->count("--port") + cmd->count("--bind") + cmd->count("--token") + cmd->count("--rate") > 0)
        throw std::invalid_argument("--port, --bind, --token and --rate need --serve");
      const nlohmann::json r = runtime::run(*opts);
      if (!report->empty()) {
        std::ofstream f(*report);
        if (!f) throw std::runtime_error(fmt::format("cannot write report '{}'", *report));
        f << r.dump(2) << "\n";
      }
      std::cout << fmt::format("{} / {} / {}: {:.1f} s simulated, {}, max tilt {:.3f} rad, CoM xy rms {:.4f} m, "
                               "tick p50 {:.1f} us, {:.1f}x real time\n",
                               r["robot"].get<std::string>(), r["task"].get<std::string>(),
                               r["controller"].get<std::string>(), r["simulated_s"].get<double>(),
                               r["fell"].get<bool>() ? "FELL" : "no fall", r["max_tilt_rad"].get<double>(),
                               r["com_xy_error_rms_m"].get<double>(), r["controller_tick_us"]["p50"].get<double>(),
                               r["real_time_factor"].get<double>());
      for (const auto& p : r["pushes"]) {
        const auto& v = p.contains("dv_mps") ? p["dv_mps"] : p["force_n"];
        std::string outcome = p["recovered"].get<bool>() ? "recovered" : "NOT recovered";
        if (p.value("steps_to_recover", nlohmann::json()).is_number()) {
          const int n = p["steps_to_recover"].get<int>();
          outcome += fmt::format(" in {} step{}", n, n == 1 ? "" : "s");
        }
        if (p.value("capturable_in_steps", nlohmann::json()).is_number()) {
          const int n = p["capturable_in_steps"].get<int>();
          outcome += n < 0 ? std::string(" (pendulum model: cannot come to rest within 3 steps)")
                           : fmt::format(" (pendulum model: could come to rest in {} step{})", n, n == 1 ? "" : "s");
        }
        std::cout << fmt::format("  push t={:.2f} s |{:.2f}| toward {:.0f} deg: {}\n", p["t"].get<double>(),
                                 p["magnitude"].get<double>(),
                                 std::atan2(v[1].get<double>(), v[0].get<double>()) * 180.0 / std::numbers::pi,
                                 outcome);
      }
      if (r.contains("distance_m"))
        std::cout << fmt::format("  walked {:.2f} m in {} steps, mean velocity [{:.3f} {:.3f} {:.3f}], rmse [{:.3f} {:.3f} {:.3f}]\n",
                                 r["distance_m"].get<double>(), (r["steps_taken"].is_number() ? r["steps_taken"].get<int>() : -1), r["mean_base_velocity"][0].get<double>(),
                                 r["mean_base_velocity"][1].get<double>(), r["mean_base_velocity"][2].get<double>(),
                                 r["velocity_rmse"][0].get<double>(), r["velocity_rmse"][1].get<double>(),
                                 r["velocity_rmse"][2].get<double>());
      if (r.contains("terrain_completed"))
        std::cout << fmt::format("  terrain {}: {}\n", r["terrain"].get<std::string>(),
                                 r["terrain_completed"].get<bool>() ? "completed" : "NOT completed");
      if (r["task_metrics"].contains("touchdown_tilt_error_rad")) {
        const auto& e = r["task_metrics"]["touchdown_tilt_error_rad"];
        std::cout << fmt::format("  soles landed {:.1f} deg off the ground on average (max {:.1f} deg)\n",
                                 e["mean"].get<double>() * 180.0 / std::numbers::pi,
                                 e["max"].get<double>() * 180.0 / std::numbers::pi);
      }
      for (const auto& w : r["sim_warnings"]) std::cout << "  warning: " << w.get<std::string>() << "\n";
      return r["fell"].get<bool>() ? 1 : 0;
    });
  });
}

}  // namespace oh::app
