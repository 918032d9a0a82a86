// unpacker unpack -p PUB (-i ID | --passphrase-file F) BUNDLE -C DEST
#include "common/error.h"
#include "unpacker/cli_options.h"
#include "unpacker/commands.h"
#include "unpacker/runtime/link_test.h"
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
            app.add_flag("--no-link-test", o->no_link_test,
                         "Do not load the shared objects at the end (see 'unpacker link-test --help')");
            app.add_option("--link-test-skip", o->link_test_skip, kLinkTestSkipHelp)
                ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
                ->expected(1);
            app.add_option("--threads", o->threads, "File-writing threads (default 4)")->check(CLI::Range(1, 64));
            o->out.add_to(app);
            app.footer(
                "Order: verify signatures (nothing is decrypted before) -> print the label -> check\n"
                "free space -> decrypt, decompress and extract into DEST.airlock-staging-PID beside\n"
                "DEST -> check every file against the signed manifest -> rewrite the old prefix ->\n"
                "rename to DEST -> pip install --no-index --require-hashes with the bundled Python ->\n"
                "link test: every shared object under DEST/env is loaded with that Python (dlopen\n"
                "RTLD_NOW, no module initialisation) and each one that cannot load is named with the\n"
                "loader's message; plugins that load only inside their host library are exempted\n"
                "with --link-test-skip GLOB or by the bundle (packer pack --link-test-skip).\n"
                "Last, DEST/airlock/installed.json records every file of DEST (size, mode, SHA-256)\n"
                "and the audit log its SHA-256: 'unpacker verify-tree DEST' checks the tree later.\n"
                "Any failure before the rename leaves neither DEST nor the staging directory; after\n"
                "it, DEST stays (verified): fix or exempt, then 'unpacker link-test DEST'.\n"
                "Exit: 0 ok, 1 verification failed, 2 usage/I-O (disk full), 3 unsafe content,\n"
                "4 offline install or link test failed, 130 interrupted. The label goes to stdout\n"
                "(to stderr with --json); pip's output goes to stderr and DEST/airlock/install.log.");
            return [o]() -> int { return run_unpack(*o); };
          }};
}

}  // namespace airlock::unpacker
