// unpacker verify-volume -p PUBLIC_KEY NAME.sealed.NNN...: one disc checked
// alone against the signed index beside it (unpacker/checks/volume_check.h).
// Decrypts nothing and needs no identity.
#include <sys/stat.h>

#include <exception>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/audit.h"
#include "common/error.h"
#include "common/progress.h"
#include "unpacker/cli_options.h"
#include "unpacker/commands.h"
#include "unpacker/checks/volume_check.h"

namespace airlock::unpacker {

namespace {

struct Opts {
  std::vector<std::string> keys, volumes;
  std::string audit;
  OutputOptions out;
};

std::string index_of(const std::string& volume) {
  if (!bundle::volume_number(volume))
    throw Error(Exit::kUsage, quote(volume) + ": not a volume (NAME.sealed.NNN, 001 to 999)",
                "give one of the NAME.sealed.001, .002, ... files; for a whole bundle use 'unpacker verify'");
  return bundle::index_path(volume.substr(0, volume.size() - 4));
}

int run(const Opts& o) {
  std::string log = audit_log_path(o.audit);
  TrustedKeys keys = load_trusted_keys(o.keys);
  std::map<std::string, SignedIndex> indexes;  // read once for several volumes of one set
  std::vector<std::string> failed;
  Exit worst = Exit::kOk;
  std::exception_ptr only_error;
  nlohmann::json results = nlohmann::json::array();
  for (const auto& v : o.volumes) {
    AuditEvent ev{.event = "verify-volume", .extra = {{"volume", v}}};
    try {
      std::string ix_path = index_of(v);
      ev.extra["index"] = ix_path;
      auto it = indexes.find(ix_path);
      if (it == indexes.end()) {
        it = indexes.emplace(ix_path, read_signed_index(ix_path, keys)).first;
        if (!o.out.quiet && !o.out.json)
          std::cerr << "unpacker: " << ix_path << ": signed by key " << it->second.signer_key_id << " ("
                    << it->second.signer_key_file << "), bundle-id " << it->second.bundle_id << ", "
                    << it->second.index.volumes.size() << " volumes\n";
      }
      const SignedIndex& ix = it->second;
      ev.bundle_id = ix.bundle_id;
      ev.signer_key_id = ix.signer_key_id;
      ev.extra["index_sha256"] = ix.sha256;
      struct stat st {};
      uint64_t size = ::stat(v.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
      Progress bar("checking " + v, o.out.show_progress(), 1, size);
      CheckedVolume cv = check_volume(ix, v, [&](uint64_t n) { bar.add(0, n); });
      bar.done();
      ev.outcome = "ok";
      ev.detail = "volume " + std::to_string(cv.number) + " of " + std::to_string(ix.index.volumes.size()) + ", " +
                  std::to_string(cv.bytes) + " bytes, sha256 " + cv.sha256 + " as in the signed index";
      ev.extra["sha256"] = cv.sha256;
      audit_append(log, ev);
      results.push_back({{"volume", v}, {"ok", true}, {"number", cv.number},
                         {"volumes", ix.index.volumes.size()}, {"bytes", cv.bytes}, {"sha256", cv.sha256},
                         {"index", ix.path}, {"bundle_id", ix.bundle_id}, {"signer_key_id", ix.signer_key_id}});
      if (!o.out.quiet && !o.out.json)
        std::cout << v << ": OK (volume " << cv.number << " of " << ix.index.volumes.size() << ", " << cv.bytes
                  << " bytes, SHA-256 " << cv.sha256 << ")\n"
                  << std::flush;
    } catch (const Error& e) {
      bool judged = e.exit() == Exit::kVerify;
      ev.outcome = judged ? "refused" : "failed";
      ev.detail = e.what();
      audit_append(log, ev);
      results.push_back({{"volume", v}, {"ok", false}, {"error", e.what()}});
      failed.push_back(v);
      if (worst != Exit::kVerify) worst = e.exit();
      if (o.volumes.size() == 1) {
        only_error = std::current_exception();  // reported by main() as it is
        continue;
      }
      if (!o.out.json) std::cout << v << ": FAILED\n" << std::flush;
      std::cerr << "unpacker: error: " << e.what() << "\n";
    }
  }
  if (o.out.json) std::cout << nlohmann::json{{"ok", failed.empty()}, {"volumes", results}}.dump() << "\n";
  if (only_error) std::rethrow_exception(only_error);
  if (!failed.empty()) {
    std::string names;
    for (const auto& f : failed) names += (names.empty() ? "" : ", ") + f;
    throw Error(worst, std::to_string(failed.size()) + " of " + std::to_string(o.volumes.size()) +
                           " volumes failed: " + names);
  }
  return 0;
}

}  // namespace

Command verify_volume_command() {
  return {"verify-volume", "Check one volume (disc) of a bundle alone against its signed index",
          [](CLI::App& app) -> std::function<int()> {
            auto o = std::make_shared<Opts>();
            add_trusted_keys(app, o->keys);
            app.add_option("VOLUME", o->volumes, "NAME.sealed.NNN (one or more)")->required();
            app.add_option("--audit-log", o->audit,
                           "Audit log (default $AIRLOCK_AUDIT_LOG or ~/.local/state/airlock/audit.jsonl)");
            o->out.add_to(app);
            app.footer(
                "Needs NAME.sealed.volumes and NAME.sealed.volumes.minisig beside the volume (the packer\n"
                "writes them; put both on every disc). Checks, in order: the index's signature under one\n"
                "-p key; its trusted comment names this index file, its number of volumes and a bundle-id;\n"
                "this volume is listed; its size fits the other volumes present (all but the last are\n"
                "the same size, the last may be smaller); its SHA-256 is the one listed.\n"
                "By hand, with standard tools only, in a directory holding any of the volumes:\n"
                "  minisign -V -p SIGNER.pub -m NAME.sealed.volumes && sha256sum -c --ignore-missing NAME.sealed.volumes\n"
                "Exit: 0 the volume is good; 1 it is not (the message names it and what is wrong);\n"
                "2 usage or I/O error (no index beside it). Each volume checked is recorded in the audit log.");
            return [o]() -> int { return run(*o); };
          }};
}

}  // namespace airlock::unpacker
