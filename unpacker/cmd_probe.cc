// unpacker probe [-o FILE] [--force] [--root DIR]: describes this node's
// operating system (glibc, architecture, kernel, OS, the shared libraries
// its loader finds) so the connected side can pack for it.
#include <sys/stat.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/io.h"
#include "unpacker/commands.h"
#include "unpacker/runtime/probe.h"

namespace airlock::unpacker {

namespace {

struct ProbeOptions {
  std::string output, root;
  bool force = false;
  OutputOptions out;
};

constexpr size_t kMaxWarnings = 20;

int run_probe(const ProbeOptions& o) {
  // Refused before any work: the operator may be about to lose an older probe.
  struct stat st {};
  if (!o.output.empty() && !o.force && ::lstat(o.output.c_str(), &st) == 0)
    throw Error(Exit::kUsage, o.output + ": already exists; not overwriting it",
                "remove it first, choose another name, or pass --force");

  ProbeResult r = probe_node(o.root, ProbeHost::current());
  if (!o.out.quiet) {
    for (size_t i = 0; i < r.warnings.size() && i < kMaxWarnings; ++i) warn(r.warnings[i]);
    if (r.warnings.size() > kMaxWarnings)
      warn("... and " + std::to_string(r.warnings.size() - kMaxWarnings) + " more warnings");
  }
  std::string text = target::format_probe(r.file);
  if (!o.output.empty()) {
    write_new_file(o.output, text, 0644, o.force);
  } else {
    // With --json the summary alone is on stdout, as in the other commands.
    std::ostream& to = o.out.json ? std::cerr : std::cout;
    to << text << std::flush;
    if (!to) throw Error(Exit::kUsage, std::string(o.out.json ? "stderr" : "stdout") + ": write failed");
  }
  std::string summary = target::probe_summary(r.file);
  if (o.out.json) {
    std::string xy = r.file.glibc.substr(0, r.file.glibc.find('.', r.file.glibc.find('.') + 1));
    nlohmann::json j{{"glibc", r.file.glibc},
                     {"arch", r.file.arch},
                     {"kernel", r.file.kernel},
                     {"os", r.file.os},
                     {"host", r.file.host},
                     {"libraries", r.file.libs.size()},
                     {"libc", r.libc_path},
                     {"target", "glibc-" + xy},
                     {"output", o.output.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.output)},
                     {"warnings", r.warnings.size()},
                     {"summary", summary}};
    std::cout << j.dump() << "\n" << std::flush;
    if (!std::cout) throw Error(Exit::kUsage, "stdout: write failed");
  } else if (!o.out.quiet) {
    std::cerr << program_name() << ": " << summary << "\n";
    if (!o.output.empty()) std::cerr << program_name() << ": wrote " << o.output << "\n";
  }
  return 0;
}

}  // namespace

Command probe_command() {
  return {"probe", "Describe this node (glibc, libraries) for packer --target",
          [](CLI::App& app) -> std::function<int()> {
            auto o = std::make_shared<ProbeOptions>();
            app.add_option("-o,--output", o->output, "Write the probe file here (a new file) instead of stdout")
                ->type_name("FILE");
            app.add_flag("--force", o->force, "Replace an existing -o file");
            app.add_option("--root", o->root,
                           "Probe the system tree mounted at DIR instead of this machine's / (an image, a chroot)")
                ->type_name("DIR");
            o->out.add_to(app, false);
            app.footer(
                "Run this on the secure node before anything is packed for it. A Python environment\n"
                "built elsewhere runs here only if this node's C library is at least as new as the\n"
                "one it was built against, and every library it needs is here. The probe reads this\n"
                "node's own files (nothing is installed, nothing is sent anywhere): its glibc\n"
                "version (the release its libc.so.6 names, checked against the GLIBC_2.x versions\n"
                "glibc's libraries define), architecture, kernel, OS name, and every shared\n"
                "library the dynamic loader finds (/etc/ld.so.cache, the directories of\n"
                "/etc/ld.so.conf, /lib64, /usr/lib64, /lib/x86_64-linux-gnu, /usr/lib/x86_64-linux-gnu,\n"
                "/lib, /usr/lib) with the symbol versions each defines.\n\n"
                "Output: a text file (format: airlock-probe/1, 'key: value' lines) on stdout or in\n"
                "-o FILE, and on stderr one summary line such as\n"
                "  unpacker: glibc 2.31, x86_64, kernel 5.10.0, Debian GNU/Linux 11 (bullseye), 112 libraries: use --target glibc-2.31 (or carry this file and use --target FILE)\n\n"
                "Then, on the connected side, either carry the file there (it holds no secrets) and\n"
                "  packer pack ... --target node.probe\n"
                "which checks every library the bundle needs against this node, or type what the\n"
                "summary says:\n"
                "  packer pack ... --target glibc-2.31\n"
                "which checks the C library version only.\n\n"
                "With --json a JSON summary is printed on stdout (the probe file then goes to stderr\n"
                "unless -o is given). An existing -o FILE is refused (exit 2) unless --force.\n\n"
                "Examples:\n"
                "  unpacker probe -o node.probe\n"
                "  unpacker probe --root /mnt/node-image -o node.probe");
            return [o]() -> int { return run_probe(*o); };
          }};
}

}  // namespace airlock::unpacker
