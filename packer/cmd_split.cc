// packer split BUNDLE --volume-size SIZE -s SECRET_KEY [-o DIR]: the CLI of
// split(); see packer/handling/split.h.
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/audit.h"
#include "common/bundle/volumes.h"
#include "common/error.h"
#include "common/progress.h"
#include "packer/commands.h"
#include "packer/handling/split.h"

namespace airlock::packer {

Command split_command() {
  return {"split", "Split a sealed bundle into volumes for discs or sticks, with a signed per-volume index",
          [](CLI::App& app) -> std::function<int()> {
            auto o = std::make_shared<SplitOptions>();
            auto audit_flag = std::make_shared<std::string>();
            app.add_option("BUNDLE", o->bundle, "The sealed bundle (NAME.sealed); it is only read")->required();
            app.add_option("--volume-size", o->volume_size,
                           "At most SIZE bytes a volume: bytes, K/M/G (powers of 1024), or dvd (4,700,000,000), "
                           "dvd-dl (8,500,000,000), bd25 (25,000,000,000), fat32 (4,294,967,295)")
                ->type_name("SIZE")
                ->check(CLI::Validator(
                    [](std::string& s) { return s.empty() ? std::string("empty; give a SIZE (see --help)") : std::string(); },
                    ""))
                ->required();
            app.add_option("-s,--secret-key", o->secret_key, "Signing key for the index (minisign format)")->required();
            app.add_option("--key-passphrase-file", o->key_passphrase_file,
                           "File whose first line unlocks an encrypted signing key");
            app.add_option("-o,--output-dir", o->out_dir, "Directory for the volumes (default: the bundle's)");
            app.add_flag("--force", o->force, "Replace existing volumes and index of the same name");
            app.add_option("--audit-log", *audit_flag,
                           "Audit log (default $AIRLOCK_AUDIT_LOG or ~/.local/state/airlock/audit.jsonl)");
            o->output.add_to(app);
            app.footer(
                "Example:\n"
                "  packer split project.sealed --volume-size dvd -s signing.key -o /media/burn\n"
                "writes project.sealed.001, .002, ... (none larger than SIZE; together, byte for byte, the\n"
                "bundle), project.sealed.volumes (sha256sum format) and project.sealed.volumes.minisig.\n"
                "Put the index and its .minisig on every disc. Each disc is then checked alone:\n"
                "  minisign -V -p signing.pub -m project.sealed.volumes && sha256sum -c --ignore-missing project.sealed.volumes\n"
                "or 'unpacker verify-volume -p signing.pub project.sealed.002'.\n"
                "Before writing, the bundle is checked (structure, label, payload hash; signatures too when\n"
                "-s is the key that sealed it); after, every volume is read back and compared with the bundle.\n"
                "Exit status: 0 split; 1 the bundle is damaged; 2 usage or I/O error; 130 interrupted.\n"
                "On any failure no volume and no index is left behind; the bundle is never changed.");
            return [o, audit_flag]() -> int {
              std::string log = audit_log_path(*audit_flag);
              SplitResult r;
              try {
                r = split(*o);
              } catch (const Error& e) {
                try {
                  audit_append(log, {.event = "split", .outcome = e.exit() == Exit::kVerify ? "refused" : "failed",
                                     .detail = e.what(), .extra = {{"bundle", o->bundle}}});
                } catch (const Error&) {
                }
                throw;
              }
              audit_append(log, {.event = "split", .outcome = "ok",
                                 .detail = "split " + r.bundle + " (sha256 " + r.bundle_sha256 + ") into " +
                                           std::to_string(r.volumes.size()) + " volumes of at most " +
                                           std::to_string(r.volume_size) + " bytes; index " + r.index + " sha256 " +
                                           r.index_sha256,
                                 .bundle_id = r.bundle_id, .bundle_sha256 = r.payload_sha256,
                                 .signer_key_id = r.signer_key_id, .marking = r.marking,
                                 .extra = {{"bundle", r.bundle}, {"volume_index", r.index},
                                           {"volume_index_sha256", r.index_sha256}, {"volumes", r.volumes.size()}}});
              if (!r.same_signer && !o->output.quiet)
                warn(r.bundle + " was sealed by key " + r.bundle_signer_key_id + "; its index is signed by " +
                     r.signer_key_id + ": the unpacker must trust both (-p for each)");
              if (o->output.json) {
                nlohmann::ordered_json j{{"bundle", r.bundle},          {"bundle_id", r.bundle_id},
                                         {"bundle_bytes", r.bundle_bytes}, {"bundle_sha256", r.bundle_sha256},
                                         {"volume_size", r.volume_size}, {"volumes", r.volumes},
                                         {"index", r.index},            {"index_sha256", r.index_sha256},
                                         {"signer_key_id", r.signer_key_id},
                                         {"bundle_signer_key_id", r.bundle_signer_key_id},
                                         {"seconds", r.seconds}};
                std::cout << j.dump(2) << "\n";
              } else if (!o->output.quiet) {
                std::cerr << "packer: split " << r.bundle << " (" << human_bytes(r.bundle_bytes) << ", bundle-id "
                          << r.bundle_id << ") into " << r.volumes.size() << " volumes of at most "
                          << bundle::volume_size_text(r.volume_size) << ": " << r.volumes.front()
                          << (r.volumes.size() > 1 ? " ... " + r.volumes.back() : "") << "\n"
                          << "packer: index " << r.index << " signed by key " << r.signer_key_id
                          << "; volumes read back equal the bundle; " << r.bundle << " unchanged; " << r.seconds
                          << " s\n";
              }
              return 0;
            };
          }};
}

}  // namespace airlock::packer
