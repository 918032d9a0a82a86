// Shared command-line plumbing: a table of subcommands (name, one-line help,
// setup) run by run_main(), which alone turns errors into exit statuses and
// prints them as "PROG: error: ..." / "PROG: hint: ...".
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <span>
#include <string>

namespace airlock {

// setup() adds the subcommand's options to `app` and returns the handler
// that runs once parsing succeeded; the handler returns the exit status.
struct Command {
  const char* name;
  const char* help;
  std::function<std::function<int()>(CLI::App& app)> setup;
};

// `own_libraries`, when given, returns build_info lines (build_info.h) for
// the libraries only this program links, for `--version --verbose`.
int run_main(const char* prog, const char* description, std::span<const Command> commands, int argc, char** argv,
             std::string (*own_libraries)() = nullptr);

// Output style shared by subcommands.
struct OutputOptions {
  bool quiet = false;
  bool json = false;
  bool progress = false;  // force progress even when stderr is not a terminal
  void add_to(CLI::App& app, bool with_progress = true);
  bool show_progress() const;
};

// The program name for messages ("packer" or "unpacker").
const std::string& program_name();
void warn(const std::string& message);
void note(const std::string& message, const OutputOptions& out);

}  // namespace airlock
