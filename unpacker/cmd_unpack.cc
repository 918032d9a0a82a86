// unpacker unpack -p PUB (-i ID | --passphrase-file F) BUNDLE -C DEST
#include "common/error.h"
#include "unpacker/commands.h"
#include "unpacker/unpack.h"

namespace airlock::unpacker {

Command unpack_command() {
  return {"unpack", "Verify, decrypt and extract a bundle into a new directory, then install its wheels offline",
          [](CLI::App& app) -> std::function<int()> {
            auto o = std::make_shared<UnpackOptions>();
            app.add_option("-p,--public-key", o->public_keys, "Trusted minisign public key (.pub); may repeat")
                ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
                ->expected(1)->allow_extra_args(false);
            app.add_option("-i,--identity", o->identities, "age identity file (may repeat)")->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->expected(1)->allow_extra_args(false);
            app.add_option("--passphrase-file", o->passphrase_file, "File whose first line is the passphrase");
            app.add_option("BUNDLE", o->bundle, "NAME.sealed (or NAME.sealed.001 for volumes)")->required();
            app.add_option("-C,--dest", o->dest, "Destination: a new directory (must not exist)")->required();
            app.add_flag("--no-install", o->no_install, "Unpack only; do not run pip");
            app.add_option("--audit-log", o->audit_log,
                           "Audit log (default $AIRLOCK_AUDIT_LOG or ~/.local/state/airlock/audit.jsonl)");
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
