// packer check: the checks `packer pack` runs before sealing, on their own.
#include <iostream>

#include "common/error.h"
#include "packer/checks/check.h"
#include "packer/commands.h"

namespace airlock::packer {

Command check_command() {
  return {"check", "Predict install failures on the secure node: offline pip rehearsal and shared-library doctor",
          [](CLI::App& app) -> std::function<int()> {
            auto opt = std::make_shared<CheckOptions>();
            auto out = std::make_shared<OutputOptions>();
            app.add_option("--env", opt->env_dir, "Python environment to check (conda env or CPython prefix)")
                ->required();
            app.add_option("-r,--requirements", opt->requirements,
                           "Requirements file (default: every wheel of the wheelhouse)");
            app.add_option("--wheelhouse", opt->wheelhouse, "Directory of wheels the secure node will install from");
            app.add_flag("--allow-sdist", opt->allow_sdist,
                         "Accept source distributions (they need a compiler on the secure node)");
            app.add_option("--target", opt->target,
                           "The secure node: a preset (rhel7, rhel8, rhel9, debian11, debian12, ubuntu20.04, "
                           "ubuntu22.04, ubuntu24.04, manylinux2014, manylinux_2_28, manylinux_2_34), glibc-X.Y, "
                           "or the file 'unpacker probe' wrote on the node");
            app.add_flag("--portable", opt->portable,
                         "Judge as if the bundle carries what the target lacks (host libraries, and this host's "
                         "C library when the target's is older); needs --target");
            out->add_to(app, false);
            app.footer(
                "Checks, without changing anything:\n"
                "  install rehearsal  the environment's own pip resolves the requirements against the\n"
                "                     wheelhouse alone (--no-index), for this interpreter's tags;\n"
                "  library doctor     every ELF file of the environment and of the wheels has each needed\n"
                "                     shared library resolved as the loader will after relocation;\n"
                "                     with --target, the glibc/C++ runtime versions each file needs and\n"
                "                     every library the node lacks (docs/targets.md).\n"
                "Exit status: 0 no errors (warnings allowed); 1 errors found (the bundle would fail on\n"
                "the secure node); 2 usage or I/O error (e.g. DIR is not a Python environment).\n"
                "See docs/check.md.");
            return [opt, out]() -> int {
              CheckReport r = run_checks(*opt);
              if (out->json) {
                std::cout << report_json(r).dump(2) << "\n";
              } else if (out->quiet) {
                std::cerr << format_errors(r);
              } else {
                std::cout << format_report(r);
              }
              std::cout.flush();
              size_t errors = r.count(Severity::kError);
              if (errors)
                throw Error(Exit::kVerify,
                            "check: " + std::to_string(errors) + " error" + (errors == 1 ? "" : "s") +
                                ": this bundle would fail on the secure node",
                            "fix the errors listed above, then run packer check again");
              return 0;
            };
          }};
}

}  // namespace airlock::packer
