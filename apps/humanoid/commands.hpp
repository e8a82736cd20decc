// Subcommands of the `humanoid` tool. Each add_* registers one subcommand on the CLI11 app; the
// subcommand's callback runs it and records the process exit code (0 ok, 1 failure, 2 bad input).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace oh::runtime {
struct RunOptions;
}

namespace oh::app {

/// `humanoid inspect [MODEL] [--json] [--profile YAML]`: model summary and detected profile.
void add_inspect(CLI::App& app);

/// `humanoid run [--robot R] [--task stand] [--duration S] [--push SPEC]... [--report FILE]`.
void add_run(CLI::App& app);

/// Options of `humanoid run --serve`.
struct ServeOptions {
  bool serve = false;
  int port = 8080;
  std::string bind = "127.0.0.1";
  std::string token;
  double rate = 1.0;           ///< simulated seconds per wall-clock second
  bool duration_given = false; ///< without --duration, serve until Ctrl-C
};

/// `humanoid run ... --serve`: the robot in real time under the walking controller with the dashboard and API
/// (server/) on ServeOptions::bind:port. Returns the exit code. Throws std::invalid_argument for options
/// --serve does not take (policy, pushes, tasks other than stand/walk) and std::runtime_error when it cannot bind.
int serve_run(const runtime::RunOptions& run, const ServeOptions& serve);

/// `humanoid policy import DEPLOY_YAML [-o SPEC] [--robot MODEL]`: a unitree_rl_gym deploy YAML as a policy spec.
void add_policy(CLI::App& app);

/// Runs a subcommand body and records its exit code: the body's return value, or 2 for bad input
/// (ModelError, std::invalid_argument) and 1 for any other error, each printed as one line on stderr.
void run_guarded(const std::function<int()>& body);

/// The exit code recorded by the subcommand that ran.
int exit_code();
/// Records the exit code.
void set_exit_code(int code);

}  // namespace oh::app
