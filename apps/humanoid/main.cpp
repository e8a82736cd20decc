// The `humanoid` command-line tool.
#include "apps/humanoid/commands.hpp"

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  CLI::App app{"humanoid: OpenHumanoid command-line tool (load, inspect and run humanoid robots)"};
  app.require_subcommand(1);
  oh::app::add_inspect(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return oh::app::exit_code();
}
