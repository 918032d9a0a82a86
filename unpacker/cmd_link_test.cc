// unpacker link-test DEST [--link-test-skip GLOB]... [--audit-log FILE]
//
// The link test of `unpacker unpack` on demand: after the node changed (a
// library installed), or to try an exemption. Audited as a "link-test"
// event carrying the bundle's id from DEST/airlock/manifest.json.
#include <sys/stat.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "common/audit.h"
#include "common/bundle/format.h"
#include "common/error.h"
#include "common/io.h"
#include "unpacker/commands.h"
#include "unpacker/runtime/link_test.h"
#include "unpacker/stream/staging.h"

namespace airlock::unpacker {

namespace {

struct LinkTestCommandOptions {
  std::string dest, audit_log;
  std::vector<std::string> skip;
  OutputOptions out;
};

int run_link_test_command(const LinkTestCommandOptions& o) {
  std::string given = o.dest;
  while (given.size() > 1 && given.back() == '/') given.pop_back();
  std::string dest = absolute_dest(given);
  std::string log = audit_log_path(o.audit_log);
  AuditEvent ev;
  ev.event = "link-test";
  ev.extra["dest"] = dest;
  auto record = [&](const std::string& outcome, const std::string& detail) {
    AuditEvent e = ev;
    e.outcome = outcome;
    e.detail = detail;
    audit_append(log, e);
  };
  try {
    struct stat st;
    if (::stat(dest.c_str(), &st) != 0) throw_errno("cannot open the unpacked bundle", dest);
    std::string manifest_path = dest + "/" + std::string(bundle::kManifestPath);
    if (!S_ISDIR(st.st_mode) || ::access(manifest_path.c_str(), F_OK) != 0)
      throw Error(Exit::kUsage, dest + ": not an unpacked bundle (no " + std::string(bundle::kManifestPath) + ")",
                  "give the directory that 'unpacker unpack -C DEST' made");
    bundle::Manifest m = bundle::Manifest::parse(read_file(manifest_path));
    ev.bundle_id = m.bundle_id;

    LinkTestOptions lo;
    lo.skip_globs = o.skip;
    for (auto& g : manifest_skip_globs(m)) lo.skip_globs.push_back(std::move(g));
    lo.progress = o.out.show_progress();
    LinkTestResult r = run_link_test(dest, m, lo);
    record(r.ok() ? "ok" : "failed", link_test_summary(r));

    if (!o.out.quiet && !o.out.json)
      for (const auto& u : r.unreadable) warn("link test: not tried, its ELF headers cannot be read: " + u);
    if (o.out.json) {
      nlohmann::json j = link_test_json(r);
      j["dest"] = dest;
      j["bundle_id"] = m.bundle_id;
      std::cout << j.dump() << "\n";
    }
    if (!r.ok())
      throw LinkTestFailed(link_test_error(
          r, dest,
          "install what this node lacks, or exempt plugin objects that load only inside their host library "
          "with --link-test-skip GLOB (a path under DEST/env; 'packer pack --link-test-skip' records it in "
          "the bundle)"));
    if (!o.out.quiet && !o.out.json) std::cout << dest << ": link test passed: " << link_test_summary(r) << "\n";
    return 0;
  } catch (const LinkTestFailed&) {
    throw;  // recorded above
  } catch (const Error& e) {
    record("failed", e.what());
    throw;
  }
}

}  // namespace

Command link_test_command() {
  return {"link-test", "Load every shared object of an unpacked environment with its own interpreter",
          [](CLI::App& app) -> std::function<int()> {
            auto o = std::make_shared<LinkTestCommandOptions>();
            app.add_option("DEST", o->dest, "An unpacked bundle: the directory 'unpacker unpack -C DEST' made")
                ->required();
            app.add_option("--link-test-skip", o->skip, kLinkTestSkipHelp)
                ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
                ->expected(1);
            app.add_option("--audit-log", o->audit_log,
                           "Audit log (default $AIRLOCK_AUDIT_LOG or ~/.local/state/airlock/audit.jsonl)");
            o->out.add_to(app);
            app.footer(
                "Loads every ELF shared object under DEST/env (ET_DYN without a program interpreter;\n"
                "hardlinked names once) with DEST's own Python: dlopen(RTLD_NOW) through ctypes, each in\n"
                "a child process of its own, with no module initialisation, and a cleared environment\n"
                "(no LD_LIBRARY_PATH, no PYTHON* variables). Each object that cannot load is named with\n"
                "the loader's message (a missing library, a missing symbol version such as\n"
                "`GLIBC_2.34'); one whose initialisation crashes, exits or runs longer than 60 s is\n"
                "named too. An interpreter that cannot start at all is the first failure. This is what\n"
                "'unpacker unpack' runs after pip, before it records the tree (unless --no-link-test).\n"
                "Plugins that load only inside their host library: exempt them with --link-test-skip\n"
                "GLOB (repeatable; fnmatch on the path relative to DEST/env, '*' also matches '/'), or\n"
                "have the bundle carry the globs: 'packer pack --link-test-skip GLOB' (the manifest's\n"
                "\"link_test\": {\"skip\": [...]}); both apply. --json lists the exempt objects.\n"
                "Audited as a 'link-test' event (ok or failed, with counts and the first failures).\n"
                "Exit: 0 every object loads, 2 usage/I-O (DEST is not an unpacked bundle), 4 an object\n"
                "or the interpreter cannot load, 130 interrupted.");
            return [o]() -> int { return run_link_test_command(*o); };
          }};
}

}  // namespace airlock::unpacker
