// unpacker unpack -p PUB (-i ID | --passphrase-file F) BUNDLE -C DEST
#include "common/error.h"
#include "unpacker/cli_options.h"
#include "unpacker/commands.h"
#include "unpacker/unpack.h"

namespace airlock::unpacker {

Command unpack_command() {
  return {"unpack", "Verify, decrypt and extract a bundle into a new directory, then install its wheels offline",
          [](CLI::App& app) -> std::function<int()> {
            auto o = std::make_shared<UnpackOptions>();
            add_trusted_keys(app, o->public_keys);
            add_decryption_keys(app, o->identities, o->passphrase_file);
            add_bundle_and_log(app, o->bundle, o->audit_log);
            app.add_option("-C,--dest", o->dest, "Destination: a new directory (must not exist)")->required();
            app.add_flag("--no-install", o->no_install, "Unpack only; do not run pip");
            app.add_option("--threads", o->threads, "File-writing threads (default 4)")->check(CLI::Range(1, 64));
            o->out.add_to(app);
            app.footer(
                "Order: verify signatures (nothing is decrypted before) -> print the label -> check\n"
                "free space -> decrypt, decompress and extract into DEST.airlock-staging-PID beside\n"
                "DEST -> check every file against the signed manifest -> rewrite the old prefix ->\n"
                "rename to DEST -> pip install --no-index --require-hashes with the bundled Python.\n"
                "Any failure before the rename leaves neither DEST nor the staging directory.\n"
                "Exit: 0 ok, 1 verification failed, 2 usage/I-O (disk full), 3 unsafe content,\n"
                "4 offline install failed, 130 interrupted. The label goes to stdout (to stderr\n"
                "with --json); pip's output goes to stderr and DEST/airlock/install.log.");
            return [o]() -> int { return run_unpack(*o); };
          }};
}

}  // namespace airlock::unpacker
