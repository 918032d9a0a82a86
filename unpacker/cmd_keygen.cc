// unpacker keygen -o FILE [--force]: a new age X25519 identity, written like
// age-keygen writes it (0600, created/public-key comments, the secret key),
// its age1... recipient printed on stdout.
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/age/age.h"
#include "common/audit.h"
#include "common/error.h"
#include "common/io.h"
#include "unpacker/commands.h"

namespace airlock::unpacker {

namespace {
struct KeygenOptions {
  std::string output;
  bool force = false;
  std::string audit_log;
  OutputOptions out;
};

int run_keygen(const KeygenOptions& o) {
  std::string log = audit_log_path(o.audit_log);
  auto id = age::X25519Identity::generate();
  std::string recipient = id.recipient().encode();
  try {
    // 0600 and O_EXCL: a secret key is never readable by others, and an
    // existing key is never replaced by accident (it may be the only copy).
    OutputFile f(o.output, 0600, o.force);
    SecureBytes text = age::format_identity_file_secure(id);
    f.write(text.span());
    f.finish();
    f.commit();
  } catch (const Error& e) {
    try {
      audit_append(log, {.event = "keygen", .outcome = "failed", .detail = o.output + ": " + e.what()});
    } catch (const Error& ae) {
      warn(ae.what());
    }
    if (std::string(e.what()).find("exists") != std::string::npos)
      throw Error(e.exit(), e.what(), "pass --force to replace it (the old key can then no longer decrypt anything)");
    throw;
  }
  audit_append(log, {.event = "keygen", .outcome = "ok",
                     .detail = "identity file " + o.output + ", recipient " + recipient,
                     .extra = {{"recipient", recipient}, {"identity_file", o.output}}});
  if (o.out.json) {
    std::cout << nlohmann::json{{"identity_file", o.output}, {"recipient", recipient}}.dump() << "\n";
  } else {
    std::cout << recipient << "\n";
    note("wrote identity " + o.output + " (keep it secret); give the recipient above to the packer", o.out);
  }
  return 0;
}
}  // namespace

Command keygen_command() {
  return {"keygen", "Create an age identity (secret key file) and print its age1... recipient",
          [](CLI::App& app) -> std::function<int()> {
            auto o = std::make_shared<KeygenOptions>();
            app.add_option("-o,--output", o->output, "Identity file to create (mode 0600)")->required();
            app.add_flag("--force", o->force, "Replace an existing file");
            app.add_option("--audit-log", o->audit_log,
                           "Audit log (default $AIRLOCK_AUDIT_LOG, else $XDG_STATE_HOME/airlock/audit.jsonl)");
            o->out.add_to(app, false);
            app.footer(
                "The file has the format of age-keygen: '# created:' and '# public key: age1...'\n"
                "comments, then the AGE-SECRET-KEY-1... line. It works with 'age -d -i FILE' too.\n"
                "The recipient printed on stdout is public: give it to whoever packs for this node.\n\n"
                "Examples:\n"
                "  unpacker keygen -o ~/node.key\n"
                "  unpacker keygen -o node.key --force      # replace an old key (irreversible)");
            return [o]() -> int { return run_keygen(*o); };
          }};
}

}  // namespace airlock::unpacker
