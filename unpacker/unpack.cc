#include "unpacker/unpack.h"

#include <malloc.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <future>
#include <optional>
#include <set>

#include "common/age/age.h"
#include "common/bundle/format.h"
#include "unpacker/checks/audit_trail.h"
#include "unpacker/checks/decrypt_keys.h"
#include "unpacker/stream/extract.h"
#include "unpacker/install/install.h"
#include "unpacker/install/installed_tree.h"
#include "unpacker/runtime/link_test.h"
#include "unpacker/checks/manifest_check.h"
#include "unpacker/stream/payload_stream.h"
#include "unpacker/install/relocate.h"
#include "unpacker/stream/staging.h"
#include "unpacker/checks/verify.h"

namespace airlock::unpacker {

namespace {

// Runs `fn`; on failure writes the refusal to the audit log under the
// current step's name, then lets the error through to main().
template <typename F>
int audited(AuditTrail& audit, std::string& step, F&& fn) {
  try {
    return fn();
  } catch (const LinkTestFailed&) {
    throw;  // its record is written (with counts and the first failures)
  } catch (const age::AgeError& e) {
    audit.refusal("decrypt", e);
    throw;
  } catch (const Error& e) {
    audit.refusal(step, e);
    throw;
  } catch (const std::exception& e) {
    audit.record(step, "failed", e.what());
    throw;
  }
}

// What the extraction learnt of each file (its digest, checked against
// the manifest, and whether it is ELF) for the link test and the
// installed-tree record: files that the later steps rewrite
// (relocation, the carried loader's path) are left out, so they are read
// again whatever their times say; pip's files are new and read anyway.
// `candidates` gets the paths (all names, relative to DEST) of the files
// under env/ that may be shared objects: those that began as ELF, and
// the rewritten ones.
KnownFiles written_files(const ExtractResult& got, const bundle::Manifest& m, std::vector<std::string>* candidates) {
  std::set<std::string> rewritten;
  for (const auto& r : m.relocate) rewritten.insert(r.path);
  if (auto rt = m.extra.find("runtime"); rt != m.extra.end() && rt->is_object() && rt->contains("interp") &&
                                         (*rt)["interp"].is_array())
    for (const auto& p : (*rt)["interp"])
      if (p.is_string()) rewritten.insert(p.get<std::string>());
  std::set<std::pair<uint64_t, uint64_t>> left_out;  // the rewritten files, under any name
  for (const ExtractedEntry& e : got.entries)
    if (e.kind == Kind::kFile && rewritten.count(e.path)) left_out.insert({e.stamp.dev, e.stamp.ino});
  KnownFiles known;
  known.reserve(got.entries.size());
  std::set<std::string_view> maybe_objects;
  for (const ExtractedEntry& e : got.entries) {
    if (e.kind != Kind::kFile) continue;
    if (e.path.rfind("env/", 0) == 0 && (e.elf64 || rewritten.count(e.path))) maybe_objects.insert(e.path);
    if (e.stamp.ino == 0 || e.sha256.size() != 64) continue;
    if (!left_out.count({e.stamp.dev, e.stamp.ino})) known.add(e.stamp, e.sha256, e.elf64);
  }
  known.done();
  for (const ExtractedEntry& e : got.entries)
    if (maybe_objects.count(e.path) || (e.kind == Kind::kHardlink && maybe_objects.count(e.target)))
      candidates->push_back(e.path);
  return known;
}

void print_label(const VerifiedBundle& vb, bool to_stderr) {
  // The marking banner comes first: whoever reads on reads under it.
  (to_stderr ? std::cerr : std::cout) << label_text(vb) << std::flush;
}

}  // namespace

int run_unpack(const UnpackOptions& o) {
  AuditTrail audit(o.audit_log, o.bundle);
  std::string step = "verify";
  return audited(audit, step, [&]() -> int {
    if (o.dest.empty()) throw Error(Exit::kUsage, "no destination given", "pass -C DEST (a new directory)");
    std::string dest = absolute_dest(o.dest);
    audit.set_dest(dest);
    age::DecryptKeys keys = load_decrypt_keys(o.identities, o.passphrase_file);

    VerifiedBundle vb = verify_bundle(o.bundle, o.public_keys, o.out.show_progress());
    audit.set_bundle(&vb);
    audit.record("verify", "ok", "signed by " + vb.signer_key_id + " (" + vb.signer_key_file + ")");
    print_label(vb, o.out.json);

    step = "extract";
    refuse_existing_dest(dest);
    check_free_space(dest, vb.content_bytes, vb.content_files);
    step = "decrypt";
    PayloadStream payload(vb, keys);  // age header opened: wrong key fails here
    step = "extract";
    Staging staging(dest);
    ExtractOptions eo;
    eo.dirfd = staging.fd();
    eo.threads = o.threads;
    eo.progress = o.out.show_progress();
    eo.content_bytes = vb.content_bytes;
    ExtractResult got = extract_payload(payload, eo);
    audit.record("decrypt", "ok", "payload.age authenticated; " + std::to_string(vb.content_bytes) + " bytes of tar");
    bundle::Manifest m = check_manifest(got, vb.bundle_id);
    // What is left to do needs neither the manifest's list of files nor
    // the extraction's, only what the extraction learnt of each file: the
    // lists go (back to the system, since the last steps allocate on
    // other threads) before the link test and the record.
    m.files = {};
    ::malloc_trim(0);
    std::vector<std::string> candidates;  // of shared objects
    KnownFiles known = written_files(got, m, &candidates);
    const size_t extracted = got.entries.size();
    const uint64_t extracted_bytes = got.file_bytes;
    got = ExtractResult();
    ::malloc_trim(0);
    size_t relocated = apply_relocation(staging.fd(), m, dest + "/env");
    place_runtime(staging.path(), m, dest);
    staging.commit();
    audit.record("extract", "ok",
                 std::to_string(extracted) + " entries (" + std::to_string(extracted_bytes) +
                     " bytes of files) checked against the manifest; " + std::to_string(relocated) +
                     " files relocated; unpacked to " + dest);
    note(dest + ": unpacked " + std::to_string(extracted) + " entries, manifest verified", o.out);

    bool installed = false;
    std::string log;
    if (!o.no_install) {
      step = "install";
      InstallResult ir = pip_install(dest, m, !o.out.quiet && !o.out.json);
      installed = ir.ran;
      log = ir.log_path;
      audit.record("install", "ok", ir.ran ? "pip install --no-index --require-hashes succeeded; log " + log
                                            : "nothing to install (empty requirements.lock)");
      if (ir.ran) note(dest + ": offline install done (log: " + log + ")", o.out);
    }
    // The tree as it will be used, pip's extensions included, is recorded
    // last, walked once and hashed where the unpack did not write a file
    // itself. The link test changes nothing in the tree (no bytecode
    // either), so the record is made while it runs. Its objects are the
    // extraction's ELF files when pip added nothing; after pip, they are
    // found in the walk.
    ScanOptions so;
    so.known = &known;
    so.progress = o.out.show_progress() && o.no_link_test;
    std::optional<LinkTestOptions> lo;
    std::optional<WalkedTree> walked;
    if (!o.no_link_test) {
      step = "link-test";
      lo.emplace();
      lo->skip_globs = o.link_test_skip;
      for (auto& g : manifest_skip_globs(m)) lo->skip_globs.push_back(std::move(g));
      lo->progress = o.out.show_progress();
      lo->known = &known;
      if (installed) {
        walked = walk_tree(dest);
        lo->scan = find_shared_objects(*walked, dest, lo->skip_globs, &known);
      } else {
        lo->scan = find_shared_objects_among(dest, candidates, lo->skip_globs, &known);
      }
    }
    auto hashing = std::async(std::launch::async, [&dest, so, walked = std::move(walked)]() mutable {
      ScanStats stats;
      std::vector<TreeEntry> entries = hash_walked(dest, walked ? std::move(*walked) : walk_tree(dest), so, &stats);
      return std::make_pair(std::move(entries), stats);
    });
    candidates = {};
    std::optional<LinkTestResult> lt;
    if (lo) {
      lt = run_link_test(dest, m, *lo);
      audit.record("link-test", lt->ok() ? "ok" : "failed", link_test_summary(*lt));
      if (!o.out.quiet && !o.out.json)
        for (const auto& u : lt->unreadable) warn("link test: not tried, its ELF headers cannot be read: " + u);
      if (lt->ok()) note(dest + ": link test passed: " + link_test_summary(*lt), o.out);
    }
    // The tree as it will be used, recorded after the last step (also when
    // the link test failed: the files stay); the audit log keeps the
    // record's digest for 'unpacker verify-tree'.
    step = kRecordTreeEvent;
    auto [entries, stats] = hashing.get();
    RecordWritten tree =
        write_tree_record(dest, vb.bundle_id, recorded_after(!o.no_install, lt.has_value()), std::move(entries), stats);
    audit_append(audit_log_path(o.audit_log), record_tree_event(audit_event(&vb, "", "", ""), o.bundle, dest, tree));
    note(dest + ": tree recorded in " + tree.path + " (" + std::to_string(tree.entries) + " entries, sha256 " +
             tree.sha256 + ")", o.out);
    if (o.out.json) {
      nlohmann::json j{{"bundle", o.bundle},
                       {"dest", dest},
                       {"bundle_id", vb.bundle_id},
                       {"marking", vb.label.marking},
                       {"signer_key_id", vb.signer_key_id},
                       {"payload_sha256", vb.envelope.payload_sha256},
                       {"entries", extracted},
                       {"file_bytes", extracted_bytes},
                       {"relocated", relocated},
                       {"installed", installed},
                       {"install_log", log},
                       {"link_test", lt ? link_test_json(*lt) : nlohmann::json(nullptr)},
                       {"tree_record", {{"path", tree.path}, {"sha256", tree.sha256}, {"entries", tree.entries}}}};
      std::cout << j.dump() << "\n";
    }
    if (lt && !lt->ok())
      throw LinkTestFailed(link_test_error(
          *lt, dest,
          "the files are verified and stay in " + dest +
              ": install what this node lacks, or exempt plugin objects that load only inside their host "
              "library with --link-test-skip GLOB (a path under DEST/env), then run 'unpacker link-test " +
              dest + "'"));
    return 0;
  });
}

int run_list(const ListOptions& o) {
  AuditTrail audit(o.audit_log, o.bundle);
  std::string step = "verify";
  return audited(audit, step, [&]() -> int {
    age::DecryptKeys keys = load_decrypt_keys(o.identities, o.passphrase_file);
    VerifiedBundle vb = verify_bundle(o.bundle, o.public_keys, o.out.show_progress());
    audit.set_bundle(&vb);
    audit.record("verify", "ok", "signed by " + vb.signer_key_id + " (" + vb.signer_key_file + ")");
    print_label(vb, o.out.json || o.sbom);

    step = "decrypt";
    PayloadStream payload(vb, keys);
    step = "list";
    ExtractOptions eo;
    eo.progress = o.out.show_progress();
    if (o.sbom) eo.capture.emplace_back(bundle::kSbomPath);
    ExtractResult got = extract_payload(payload, eo);
    bundle::Manifest m = check_manifest(got, vb.bundle_id);
    audit.record("decrypt", "ok", "listed " + std::to_string(m.files.size()) + " entries; manifest verified");
    if (o.sbom) {
      auto it = got.captured.find(std::string(bundle::kSbomPath));
      if (it == got.captured.end())
        throw Error(Exit::kUsage, o.bundle + ": the payload carries no " + std::string(bundle::kSbomPath));
      std::cout << it->second;
      if (!it->second.empty() && it->second.back() != '\n') std::cout << "\n";
      return 0;
    }
    if (o.out.json) {
      nlohmann::json files = nlohmann::json::array();
      for (const auto& f : m.files) {
        nlohmann::json e{{"path", f.path}, {"type", to_string(f.type)}};
        if (f.type != bundle::EntryType::kHardlink) e["mode"] = bundle::mode_string(f.mode);
        if (f.type == bundle::EntryType::kFile) {
          e["size"] = f.size;
          e["sha256"] = f.sha256;
        }
        if (f.type == bundle::EntryType::kHardlink) e["target"] = f.target;
        files.push_back(std::move(e));
      }
      nlohmann::json j{{"bundle", o.bundle}, {"bundle_id", vb.bundle_id}, {"marking", vb.label.marking},
                       {"signer_key_id", vb.signer_key_id}, {"files", std::move(files)}};
      std::cout << j.dump() << "\n";
      return 0;
    }
    std::cout << "\n";
    for (const auto& f : m.files) {
      std::string mode = f.type == bundle::EntryType::kHardlink ? "    " : bundle::mode_string(f.mode);
      std::string size = f.type == bundle::EntryType::kFile ? std::to_string(f.size) : "-";
      std::cout << to_string(f.type) << "\t" << mode << "\t" << size << "\t" << f.path;
      if (f.type == bundle::EntryType::kHardlink) std::cout << " => " << f.target;
      std::cout << "\n";
    }
    return 0;
  });
}

}  // namespace airlock::unpacker
