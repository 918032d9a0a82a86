#include "common/cli.h"

#include <unistd.h>

#include <iostream>

#include "common/build_info.h"
#include "common/error.h"
#include "version.h"

namespace airlock {

namespace {
std::string g_prog = "airlock";
}

const std::string& program_name() { return g_prog; }

void warn(const std::string& message) { std::cerr << g_prog << ": warning: " << message << "\n"; }

void note(const std::string& message, const OutputOptions& out) {
  if (!out.quiet && !out.json) std::cerr << g_prog << ": " << message << "\n";
}

void OutputOptions::add_to(CLI::App& app, bool with_progress) {
  app.add_flag("-q,--quiet", quiet, "Print nothing but errors");
  app.add_flag("--json", json, "Print a machine-readable JSON summary on stdout");
  if (with_progress) app.add_flag("--progress", progress, "Show progress even when stderr is not a terminal");
}

bool OutputOptions::show_progress() const {
  if (quiet) return false;
  return progress || ::isatty(2);
}

int run_main(const char* prog, const char* description, std::span<const Command> commands, int argc, char** argv,
             std::string (*own_libraries)()) {
  g_prog = prog;
  install_interrupt_handlers();
  CLI::App app{description, prog};
  // `--version --verbose` adds what the build was made with (build_info.h).
  // The version flag's callback runs once parsing is done, so it sees
  // --verbose in either order.
  CLI::Option* verbose = app.add_flag("--verbose")->description(
      "With --version: also print the build type, compiler, linker and library versions this binary was built with");
  app.set_version_flag("--version", [prog, verbose, own_libraries]() {
    std::string v = std::string(prog) + " (airlock) " AIRLOCK_VERSION;
    if (verbose->count() > 0) {
      v += "\n" + build_info(own_libraries ? own_libraries() : "");
      v.pop_back();  // CLI11 ends the text with its own newline
    }
    return v;
  });
  app.require_subcommand(1);
  app.fallthrough(false);
  std::function<int()> handler;
  for (const Command& c : commands) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    auto h = c.setup(*sub);
    // A repeatable option (-i, -p, -R) takes one value per occurrence, so it
    // never swallows the positional argument that follows it.
    for (CLI::Option* opt : sub->get_options())
      if (!opt->get_positional() && opt->get_items_expected_max() >= 1) opt->allow_extra_args(false);
    sub->callback([&handler, h]() { handler = h; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << prog << ": error: " << e.what() << "\n";
    std::cerr << prog << ": hint: run '" << prog << " --help' or '" << prog << " COMMAND --help'\n";
    return static_cast<int>(Exit::kUsage);
  }
  try {
    return handler ? handler() : static_cast<int>(Exit::kUsage);
  } catch (const Error& e) {
    std::cerr << prog << ": error: " << e.what() << "\n";
    if (!e.hint().empty()) std::cerr << prog << ": hint: " << e.hint() << "\n";
    return static_cast<int>(e.exit());
  } catch (const std::bad_alloc&) {
    std::cerr << prog << ": error: out of memory\n";
    return static_cast<int>(Exit::kUsage);
  } catch (const std::exception& e) {
    std::cerr << prog << ": error: " << e.what() << "\n";
    return static_cast<int>(Exit::kUsage);
  }
}

}  // namespace airlock
