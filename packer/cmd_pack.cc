// packer pack: the CLI of pack(); see packer/pack.h.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/audit.h"
#include "common/bundle/volumes.h"
#include "common/error.h"
#include "common/io.h"
#include "common/progress.h"
#include "packer/commands.h"
#include "packer/pack.h"

namespace airlock::packer {

namespace {

// After an interrupt the pack unwinds, removing its partial output. At high
// levels a zstd job can run for tens of seconds and cannot be cancelled, and
// the unwinding waits for it. If the unwinding has not finished a second
// after the interrupt, this removes the partial output (and any temporary
// wheelhouse), records the failure in the audit log and exits with 130.
class InterruptWatchdog {
 public:
  explicit InterruptWatchdog(std::string log) : log_(std::move(log)), thread_([this] { run(); }) {}
  ~InterruptWatchdog() {
    settle();
    thread_.join();
  }
  InterruptWatchdog(const InterruptWatchdog&) = delete;
  InterruptWatchdog& operator=(const InterruptWatchdog&) = delete;

  // The pack has returned or unwound: from here the normal path reports.
  // If the watchdog has already begun its exit, this waits for it.
  void settle() {
    int none = kNone;
    if (owner_.compare_exchange_strong(none, kMain) || none == kMain) return;
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));  // the watchdog is exiting the process
  }

 private:
  static constexpr int kNone = 0, kMain = 1, kWatchdog = 2;

  void run() {
    using namespace std::chrono_literals;
    while (owner_ == kNone) {
      if (interrupted()) {
        for (auto until = std::chrono::steady_clock::now() + 1s; std::chrono::steady_clock::now() < until;) {
          if (owner_ != kNone) return;
          std::this_thread::sleep_for(20ms);
        }
        int none = kNone;
        if (!owner_.compare_exchange_strong(none, kWatchdog)) return;
        remove_registered();
        std::string what = "interrupted; a compression job could not be stopped, so the partial output was removed "
                           "without waiting for it";
        try {
          audit_append(log_, {.event = "pack", .outcome = "failed", .detail = what});
        } catch (...) {
        }
        std::cerr << "packer: error: " << what << "\n" << std::flush;
        std::_Exit(static_cast<int>(Exit::kInterrupted));
      }
      std::this_thread::sleep_for(50ms);
    }
  }

  std::string log_;
  std::atomic<int> owner_{kNone};
  std::thread thread_;
};

}  // namespace

Command pack_command() {
  return {"pack", "Seal a Python environment and its wheels into one signed, encrypted bundle",
          [](CLI::App& app) -> std::function<int()> {
            auto o = std::make_shared<PackOptions>();
            app.add_option("--env", o->env_dir, "Python environment: a conda env or a standalone CPython prefix")
                ->required();
            app.add_option("-r,--requirements", o->requirements, "requirements.txt to carry (and to --download)");
            auto* wh = app.add_option("--wheelhouse", o->wheelhouse, "Directory of wheels to carry");
            auto* dl = app.add_flag("--download", o->download,
                                    "Fill a temporary wheelhouse with the environment's own 'pip download -r'");
            wh->excludes(dl);
            for (const char* opt : {"--platform", "--python-version", "--implementation", "--abi", "--only-binary",
                                    "--index-url", "--extra-index-url", "--find-links"}) {
              app.add_option_function<std::vector<std::string>>(
                     opt,
                     [o, opt](const std::vector<std::string>& vs) {
                       for (const auto& v : vs) {
                         o->pip_download_args.push_back(opt);
                         o->pip_download_args.push_back(v);
                       }
                     },
                     std::string("Passed to pip download (") + opt + ")")
                  ->group("pip download (with --download)");
            }
            app.add_flag_callback(
                   "--no-index", [o]() { o->pip_download_args.push_back("--no-index"); },
                   "Passed to pip download: use only --find-links, no package index")
                ->group("pip download (with --download)");
            app.add_option("-s,--secret-key", o->secret_key, "Signing key (minisign format, from 'packer keygen')")
                ->required();
            app.add_option("--key-passphrase-file", o->key_passphrase_file,
                           "File whose first line unlocks an encrypted signing key");
            auto* R = app.add_option("-R,--recipient", o->recipients, "Secure node's age1... recipient (repeatable)");
            auto* RF = app.add_option("--recipients-file", o->recipients_file, "File of age1... recipients, one a line");
            auto* PF = app.add_option("--passphrase-file", o->passphrase_file,
                                      "Encrypt with a passphrase (first line of the file) instead of a recipient key");
            PF->excludes(R)->excludes(RF);
            app.add_option("--marking", o->marking, "Handling marking for the label banner, e.g. CUI (default UNMARKED)");
            add_designation_options(app, o->designation);
            app.add_option("--level", o->level, "zstd level (1-19)")->check(CLI::Range(1, 19))->capture_default_str();
            app.add_option("--threads", o->threads, "Compression threads (default: one per core)")->check(CLI::Range(0, 256));
            app.add_option("-o,--output", o->out, "The bundle to write (NAME.sealed)")->required();
            app.add_option("--volume-size", o->volume_size,
                           "Write NAME.sealed.001, .002, ... of at most SIZE bytes each, with a signed index "
                           "NAME.sealed.volumes: bytes, K/M/G (powers of 1024), or dvd, dvd-dl, bd25, fat32")
                ->type_name("SIZE")
                ->check(CLI::Validator(
                    [](std::string& s) { return s.empty() ? std::string("empty; give a SIZE (see --help)") : std::string(); },
                    ""));
            app.add_flag("--force", o->force, "Replace an existing output file");
            app.add_flag("--skip-broken-links", o->skip_broken_links,
                         "Leave out dangling links, directory loops and unreadable files (recorded in the manifest)");
            app.add_flag("--no-check", o->no_check, "Seal without the checks of 'packer check' (recorded in the label)");
            app.add_flag("--allow-sdist", o->allow_sdist, "Carry source distributions (they need a compiler on the secure node)");
            app.add_option("--target", o->target,
                           "The secure node: a preset (rhel7, rhel8, rhel9, debian11, debian12, ubuntu20.04, "
                           "ubuntu22.04, ubuntu24.04, manylinux2014, manylinux_2_28, manylinux_2_34), glibc-X.Y, "
                           "or the file 'unpacker probe' wrote on the node; the checks judge every ELF file "
                           "against it");
            app.add_flag("--portable", o->portable,
                         "Carry what the target lacks: host libraries the environment uses, and this host's C "
                         "library when the target's is older (used by the environment's own programs only); "
                         "needs --target");
            app.add_option("--link-test-skip", o->link_test_skip,
                           "Glob (relative to the environment) of plugin objects the unpacker's link test leaves "
                           "out: they load only inside their host library (repeatable)");
            app.add_option("--sbom-out", o->sbom_out, "Also write the bundle's CycloneDX SBOM to this file");
            app.add_option("--audit-log", o->audit_log, "Audit log (default $AIRLOCK_AUDIT_LOG or ~/.local/state/airlock/audit.jsonl)");
            o->output.add_to(app);
            app.footer(
                "Example:\n"
                "  packer pack --env ~/.pyenv/versions/3.12.1 -r requirements.txt --wheelhouse wheels/ \\\n"
                "      -s signing.key -R age1... --marking CUI --designation-file designation.txt -o project.sealed\n"
                "With a marking that begins with CUI, the designation indicator (--controlled-by, --cui-category,\n"
                "--dissemination, --poc, or those keys in --designation-file) is required and goes into the label.\n"
                "The bundle is one file: a tar of payload.age (the environment and wheels, zstd-compressed and\n"
                "encrypted to the -R key), LABEL.txt (plaintext handling label) and their minisign signatures.\n"
                "Carry it and signing.pub to the secure node; there run 'unpacker unpack'.\n"
                "For an older secure node: run 'unpacker probe' there first, then pack with\n"
                "--target FILE (or the --target glibc-X.Y it prints) and --portable (docs/targets.md).\n"
                "For discs or FAT32 sticks, --volume-size dvd (or fat32, 4G, ...) writes NAME.sealed.001, ...\n"
                "and NAME.sealed.volumes with its .minisig: put the index and its .minisig on every disc; each\n"
                "disc is then checked alone with 'unpacker verify-volume' (docs/packing.md, \"Volumes\").\n"
                "Exit status: 0 sealed; 1 checks found errors; 2 usage or I/O error; 130 interrupted.\n"
                "On any failure no output file is left behind.");
            return [o]() -> int {
              std::string log = audit_log_path(o->audit_log);
              InterruptWatchdog watchdog(log);
              PackResult r;
              try {
                o->exiting_after = true;
                r = pack(*o);
              } catch (const Error& e) {
                watchdog.settle();
                try {
                  audit_append(log, {.event = "pack", .outcome = "failed", .detail = e.what()});
                } catch (const Error&) {
                }
                throw;
              }
              watchdog.settle();
              AuditEvent ev{.event = "pack", .outcome = "ok",
                            .detail = "sealed " + r.out + " from " + o->env_dir,
                            .bundle_id = r.bundle_id, .bundle_sha256 = r.payload_sha256,
                            .signer_key_id = r.signer_key_id,
                            .marking = o->marking.empty() ? "UNMARKED" : o->marking};
              if (!r.volumes.empty()) {
                ev.detail += " in " + std::to_string(r.volumes.size()) + " volumes of at most " +
                             std::to_string(r.volume_size) + " bytes; index " + r.volume_index + " sha256 " +
                             r.volume_index_sha256;
                ev.extra = {{"volume_index", r.volume_index}, {"volume_index_sha256", r.volume_index_sha256},
                            {"volumes", r.volumes.size()}};
              }
              audit_append(log, ev);
              if (o->output.json) {
                nlohmann::ordered_json j{{"bundle", r.out}, {"bundle_id", r.bundle_id}, {"created", r.created},
                                         {"bundle_bytes", r.bundle_bytes}, {"payload_bytes", r.payload_bytes},
                                         {"payload_sha256", r.payload_sha256}, {"content_bytes", r.content_bytes},
                                         {"content_files", r.content_files}, {"files", r.files},
                                         {"hardlinks", r.hardlinks}, {"dirs", r.dirs}, {"wheels", r.wheels},
                                         {"elf_patched", r.elf_patched}, {"relocate", r.relocate_listed},
                                         {"dereferenced", r.dereferenced}, {"skipped", r.skipped},
                                         {"signer_key_id", r.signer_key_id}, {"python", r.python},
                                         {"seconds", r.seconds}};
                if (!r.volumes.empty())
                  j["volumes"] = {{"count", r.volumes.size()}, {"volume_size", r.volume_size},
                                  {"files", r.volumes}, {"index", r.volume_index},
                                  {"index_sha256", r.volume_index_sha256}};
                std::cout << j.dump(2) << "\n";
              } else if (!o->output.quiet) {
                std::cerr << "packer: sealed " << r.out << " (" << human_bytes(r.bundle_bytes) << ", bundle-id "
                          << r.bundle_id << ")\n"
                          << "packer: " << r.files << " files, " << r.hardlinks << " hardlinks, " << r.wheels
                          << " wheels; " << human_bytes(r.content_bytes) << " before compression; "
                          << r.elf_patched << " ELF files made relocatable, " << r.relocate_listed
                          << " files to rewrite on unpack; " << r.seconds << " s\n";
                if (!r.volumes.empty())
                  std::cerr << "packer: " << r.volumes.size() << " volumes of at most "
                            << bundle::volume_size_text(r.volume_size)
                            << ": " << r.volumes.front() << (r.volumes.size() > 1 ? " ... " + r.volumes.back() : "")
                            << "; index " << r.volume_index << " (signed, .minisig beside it)\n";
              }
              return 0;
            };
          }};
}

}  // namespace airlock::packer
