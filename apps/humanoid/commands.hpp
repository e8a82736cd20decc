// Subcommands of the `humanoid` tool. Each add_* registers one subcommand on the CLI11 app; the
// subcommand's callback runs it and records the process exit code (0 ok, 1 failure, 2 bad input).
#pragma once

#include <CLI/CLI.hpp>

namespace oh::app {

/// `humanoid inspect [MODEL] [--json] [--profile YAML]`: model summary and detected profile.
void add_inspect(CLI::App& app);

/// The exit code recorded by the subcommand that ran.
int exit_code();
/// Records the exit code.
void set_exit_code(int code);

}  // namespace oh::app
