// unpacker list -p PUB (-i ID | --passphrase-file F) BUNDLE [--sbom]
#include "common/error.h"
#include "unpacker/commands.h"
#include "unpacker/unpack.h"

namespace airlock::unpacker {

Command list_command() {
  return {"list", "Verify a bundle, then print its label and the files of its verified manifest",
          [](CLI::App& app) -> std::function<int()> {
            auto o = std::make_shared<ListOptions>();
            app.add_option("-p,--public-key", o->public_keys, "Trusted minisign public key (.pub); may repeat")
                ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
                ->expected(1)->allow_extra_args(false);
            app.add_option("-i,--identity", o->identities, "age identity file (may repeat)")->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->expected(1)->allow_extra_args(false);
            app.add_option("--passphrase-file", o->passphrase_file, "File whose first line is the passphrase");
            app.add_option("BUNDLE", o->bundle, "NAME.sealed (or NAME.sealed.001 for volumes)")->required();
            app.add_flag("--sbom", o->sbom, "Print airlock/sbom.cdx.json from the payload instead of the file list");
            app.add_option("--audit-log", o->audit_log,
                           "Audit log (default $AIRLOCK_AUDIT_LOG or ~/.local/state/airlock/audit.jsonl)");
            o->out.add_to(app);
            app.footer(
                "The whole payload is decrypted and checked (entry policy, manifest hashes) in\n"
                "memory; nothing is written to disk. Lines: TYPE MODE SIZE PATH. The label goes\n"
                "to stdout, or to stderr with --json or --sbom.");
            return [o]() -> int { return run_list(*o); };
          }};
}

}  // namespace airlock::unpacker
