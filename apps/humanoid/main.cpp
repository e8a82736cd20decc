// The `humanoid` command-line tool.
#include "apps/humanoid/commands.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

int main(int argc, char** argv) {
  CLI::App app{"humanoid: OpenHumanoid command-line tool (load, inspect and run humanoid robots)"};
  app.require_subcommand(1);
  // Logs go to stderr so that --json output stays clean; warnings by default, -v for the rewrite log.
  spdlog::set_default_logger(spdlog::stderr_color_mt("humanoid"));
  spdlog::set_level(spdlog::level::warn);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Log what the loader rewrites and other details (SPDLOG_LEVEL also works)");
  app.parse_complete_callback([&verbose] {
    if (verbose) spdlog::set_level(spdlog::level::info);
    spdlog::cfg::load_env_levels();
  });
  oh::app::add_inspect(app);
  oh::app::add_run(app);
  oh::app::add_policy(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return oh::app::exit_code();
}
