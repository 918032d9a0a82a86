// unpacker list -p PUB (-i ID | --passphrase-file F) BUNDLE [--sbom]
#include "common/error.h"
#include "unpacker/cli_options.h"
#include "unpacker/commands.h"
#include "unpacker/unpack.h"

namespace airlock::unpacker {

Command list_command() {
  return {"list", "Verify a bundle, then print its label and the files of its verified manifest",
          [](CLI::App& app) -> std::function<int()> {
            auto o = std::make_shared<ListOptions>();
            add_trusted_keys(app, o->public_keys);
            add_decryption_keys(app, o->identities, o->passphrase_file);
            add_bundle_and_log(app, o->bundle, o->audit_log);
            app.add_flag("--sbom", o->sbom, "Print airlock/sbom.cdx.json from the payload instead of the file list");
            o->out.add_to(app);
            app.footer(
                "The whole payload is decrypted and checked (entry policy, manifest hashes) in\n"
                "memory; nothing is written to disk. Lines: TYPE MODE SIZE PATH. The label goes\n"
                "to stdout, or to stderr with --json or --sbom.");
            return [o]() -> int { return run_list(*o); };
          }};
}

}  // namespace airlock::unpacker
