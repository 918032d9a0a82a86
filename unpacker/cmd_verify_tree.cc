// unpacker verify-tree DEST [--audit-log FILE] [--json] [--quiet]
//                            [--ignore-bytecode] [--threads N]
//
// Is the installed tree still what the unpack recorded? First the record:
// the audit log's chain is checked, then the SHA-256 of
// DEST/airlock/installed.json must equal the one in the last "record-tree"
// audit record for DEST. Then the tree is walked and hashed again and every
// entry modified, added or removed, and every mode or type change, is
// named. Audited as a "verify-tree" event.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <future>
#include <optional>
#include <tuple>

#include "common/audit.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/io.h"
#include "common/progress.h"
#include "unpacker/commands.h"
#include "unpacker/install/installed_tree.h"
#include "unpacker/stream/staging.h"

namespace airlock::unpacker {

namespace {

struct VerifyTreeOptions {
  std::string dest, audit_log;
  unsigned threads = 0;
  bool ignore_bytecode = false;
  OutputOptions out;
};

// A path as it is, unless it holds bytes a terminal would act on.
std::string shown(const std::string& p) {
  for (unsigned char c : p)
    if (c < 0x20 || c == 0x7f) return quote(p, 4096);
  return p;
}

std::string entry_text(const TreeEntry& e) {
  switch (e.type) {
    case NodeType::kSymlink: return "symlink to " + quote(e.target, 4096);
    case NodeType::kHardlink: return "hardlink to " + shown(e.target);
    default: return to_string(e.type);
  }
}

std::string mode_text(uint32_t m) {
  char b[8];
  std::snprintf(b, sizeof b, "%04o", m);
  return b;
}

std::string drift_line(const Drift& d, bool tolerated) {
  std::string kind = to_string(d.kind);
  if (tolerated) kind.insert(kind.size() - 1, ", tolerated");  // "added (bytecode cache, tolerated)"
  std::string l = kind + ": " + shown(d.path);
  if (d.kind == DriftKind::kModeChanged) l += " (" + mode_text(d.recorded->mode) + " -> " + mode_text(d.found->mode) + ")";
  if (d.kind == DriftKind::kTypeChanged) l += " (" + entry_text(*d.recorded) + " -> " + entry_text(*d.found) + ")";
  if ((d.kind == DriftKind::kModified) && d.recorded->type == NodeType::kSymlink)
    l += " (" + entry_text(*d.recorded) + " -> " + entry_text(*d.found) + ")";
  return l;
}

nlohmann::ordered_json name_json(const std::string& p) {
  nlohmann::ordered_json j = entry_json(TreeEntry{p, NodeType::kDir});
  j.erase("type");
  j.erase("mode");
  return j;  // "path" and, when it is not UTF-8, "path_hex"
}

// The record's bytes: a regular file, never through a symlink.
bool read_record(const std::string& path, std::string& text) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    if (errno == ENOENT) return false;
    if (errno == ELOOP) throw Error(Exit::kVerify, path + ": is a symbolic link, not the record the unpack wrote");
    throw_errno("cannot open", path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throw_errno("cannot read", path);
  if (!S_ISREG(st.st_mode)) throw Error(Exit::kVerify, path + ": is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kMaxTreeRecordBytes)
    throw Error(Exit::kVerify, path + ": larger than " + std::to_string(kMaxTreeRecordBytes) + " bytes");
  FileReader r(fd.release(), path);
  VectorWriter w;
  copy_stream(r, w);
  text = w.str();
  return true;
}

int run_verify_tree(const VerifyTreeOptions& o) {
  std::string given = o.dest;
  while (given.size() > 1 && given.back() == '/') given.pop_back();
  // The unpack recorded DEST with its parent resolved (absolute_dest); a
  // DEST reached through a symlink of its own is also tried resolved.
  std::string dest = given, real;
  try {
    dest = absolute_dest(given);
  } catch (const Error&) {
    char b[PATH_MAX];  // "." or "..": the resolved form
    if (::realpath(given.c_str(), b)) dest = b;
  }
  std::string log = audit_log_path(o.audit_log);
  std::string record_path = dest + "/" + std::string(kTreeRecordPath);

  AuditEvent ev;
  ev.event = "verify-tree";
  ev.extra["dest"] = dest;
  ev.extra["record"] = record_path;
  bool recorded = false;
  auto record = [&](const std::string& outcome, const std::string& detail) {
    recorded = true;
    AuditEvent e = ev;
    e.outcome = outcome;
    e.detail = detail;
    audit_append(log, e);
  };
  try {
    char buf[PATH_MAX];
    struct stat st;
    if (!::realpath(given.c_str(), buf)) throw_errno("cannot open the installed tree", given);
    real = buf;
    if (::stat(real.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      throw Error(Exit::kUsage, dest + ": not a directory", "give the directory that 'unpacker unpack -C DEST' made");

    // 1. The record, and what the audit log says of it.
    std::string text;
    bool have = read_record(record_path, text);
    std::string sha = have ? sha256_hex(text) : "";
    if (have) ev.extra["record_sha256"] = sha;
    AuditCheck chain;
    try {
      chain = audit_verify(log);
    } catch (const Error& e) {
      throw Error(e.exit(), e.what(),
                  "the record's SHA-256 is in the audit log the unpack wrote: pass it with --audit-log FILE "
                  "(or $AIRLOCK_AUDIT_LOG)");
    }
    if (!chain.ok)
      throw Error(Exit::kVerify, log + ": audit log chain broken: " + chain.problem + "; it cannot vouch for " + record_path,
                  "keep this copy as evidence; check the tree against a backup of the log");
    std::string log_text = read_file(log);
    AuditedRecord a = find_record_event(log_text, dest);
    if (!a.found && real != dest) a = find_record_event(log_text, real);
    std::string at = log + " line " + std::to_string(a.line) + " (" + a.time + ", " + a.user + "@" + a.host + ")";
    if (!have && !a.found)
      throw Error(Exit::kUsage, dest + ": no installed-tree record (" + std::string(kTreeRecordPath) +
                                    ") and no record-tree audit record for it in " + log,
                  "give a directory that 'unpacker unpack -C DEST' made, and the audit log it wrote (--audit-log FILE)");
    std::string problem;  // the record cannot be trusted: exit 1
    if (!have) {
      problem = record_path + " is missing; the record-tree audit record at " + at + " gives its SHA-256 as " +
                a.record_sha256;
    } else if (!a.found) {
      problem = "no record-tree audit record for " + dest + " in " + log + ": nothing vouches for " + record_path;
    } else if (a.record_sha256 != sha) {
      problem = record_path + " was changed after it was recorded: its SHA-256 is " + sha +
                ", the record-tree audit record at " + at + " says " + a.record_sha256;
    }
    ev.bundle_id = a.bundle_id;

    // 2. The tree against the record (also when the record is in doubt:
    //    what differs from it is still worth seeing).
    //    The tree is walked and hashed while the record is read: both
    //    take a while, and the reading is one thread's work.
    ScanOptions so;
    so.threads = o.threads;
    so.progress = o.out.show_progress();
    std::future<std::pair<std::vector<TreeEntry>, ScanStats>> scanning;
    if (have)
      scanning = std::async(std::launch::async, [&dest, so] {
        ScanStats scanned;
        std::vector<TreeEntry> v = scan_tree(dest, so, &scanned);
        return std::make_pair(std::move(v), scanned);
      });
    std::optional<TreeRecord> rec;
    if (have) {
      try {
        rec = TreeRecord::parse(text);
        ev.bundle_id = rec->bundle_id;
      } catch (const TreeRecordError& e) {
        problem += (problem.empty() ? "" : "; ") + std::string(record_path + ": ") + e.what();
      }
    }
    std::vector<TreeEntry> found;
    std::vector<Drift> drift;
    ScanStats stats;
    if (rec) {
      std::tie(found, stats) = scanning.get();
      drift = compare_trees(rec->entries, found);
    }  // else the scan is waited for and left unread, as if it had not run
    std::array<size_t, kDriftKinds> counts{};
    size_t failing = 0, tolerated = 0;
    for (const auto& d : drift) {
      ++counts[static_cast<size_t>(d.kind)];
      (o.ignore_bytecode && is_bytecode(d.kind) ? tolerated : failing)++;
    }
    std::string summary;
    for (size_t k = 0; k < kDriftKinds; ++k)
      if (counts[k]) summary += (summary.empty() ? "" : ", ") + std::to_string(counts[k]) + " " + to_string(DriftKind(k));
    if (tolerated) summary += " (" + std::to_string(tolerated) + " tolerated: --ignore-bytecode)";
    bool ok = problem.empty() && failing == 0;
    std::string checked = std::to_string(found.size()) + " entries, " + std::to_string(stats.files) + " files (" +
                          human_bytes(stats.bytes) + ") hashed on " + std::to_string(stats.threads) + " threads";

    if (o.out.json) {
      nlohmann::ordered_json classes = nlohmann::ordered_json::object(), n = nlohmann::ordered_json::object();
      for (size_t k = 0; k < kDriftKinds; ++k) {
        classes[json_key(DriftKind(k))] = nlohmann::ordered_json::array();
        n[json_key(DriftKind(k))] = counts[k];
      }
      for (const auto& d : drift) {
        nlohmann::ordered_json item = name_json(d.path);
        item["recorded"] = d.recorded ? entry_json(*d.recorded) : nlohmann::ordered_json(nullptr);
        item["found"] = d.found ? entry_json(*d.found) : nlohmann::ordered_json(nullptr);
        classes[json_key(d.kind)].push_back(std::move(item));
      }
      nlohmann::ordered_json j;
      j["dest"] = dest;
      j["ok"] = ok;
      j["record"] = record_path;
      j["record_sha256"] = have ? nlohmann::ordered_json(sha) : nlohmann::ordered_json(nullptr);
      j["audit_log"] = log;
      j["audit_record"] = a.found ? nlohmann::ordered_json{{"line", a.line}, {"time", a.time}, {"user", a.user},
                                                           {"host", a.host}, {"record_sha256", a.record_sha256}}
                                  : nlohmann::ordered_json(nullptr);
      j["record_ok"] = problem.empty();
      j["record_problem"] = problem.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(problem);
      j["bundle_id"] = ev.bundle_id;
      j["ignore_bytecode"] = o.ignore_bytecode;
      j["entries"] = found.size();
      j["files"] = stats.files;
      j["bytes"] = stats.bytes;
      j["threads"] = stats.threads;
      j["seconds"] = stats.seconds;
      j["counts"] = std::move(n);
      j["tolerated"] = tolerated;
      j["drift"] = rec ? std::move(classes) : nlohmann::ordered_json(nullptr);
      std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else if (!o.out.quiet) {
      for (const auto& d : drift) std::cout << drift_line(d, o.ignore_bytecode && is_bytecode(d.kind)) << "\n";
      if (rec) {
        char secs[32];
        std::snprintf(secs, sizeof secs, "%.2f", stats.seconds);
        std::cout << dest << ": " << checked << " in " << secs << " s";
        if (problem.empty()) std::cout << "; record sha256 " << sha << " matches the record-tree audit record at " << at;
        std::cout << "\n";
      }
    }

    std::string detail = rec ? checked : "";
    if (!problem.empty()) {
      std::string msg = problem;
      if (failing) msg += "; and the tree differs from the record: " + summary;
      record("refused", msg);
      throw Error(Exit::kVerify, msg,
                  !a.found && have ? "verify against the audit log the unpack wrote: --audit-log FILE (or "
                                     "$AIRLOCK_AUDIT_LOG); 'grep record-tree LOG' lists the trees a log recorded"
                                   : "the tree cannot be shown to be what arrived; keep the log and the tree as they are");
    }
    if (failing) {
      record("refused", "the tree differs from its record: " + summary + "; " + detail);
      throw Error(Exit::kVerify, dest + ": the installed tree differs from its record: " + summary,
                  o.out.quiet ? "run without --quiet, or with --json, for the list"
                              : "each change is listed above; bytecode caches are what Python writes on import "
                                "(--ignore-bytecode tolerates them)");
    }
    record("ok", "as recorded: " + detail + (summary.empty() ? "" : "; " + summary));
    return 0;
  } catch (const Error& e) {
    // Exit 1: the tree or its record was judged; anything else failed.
    if (!recorded) record(e.exit() == Exit::kVerify ? "refused" : "failed", e.what());
    throw;
  }
}

}  // namespace

Command verify_tree_command() {
  return {"verify-tree", "Check an installed tree against the record the unpack made of it",
          [](CLI::App& app) -> std::function<int()> {
            auto o = std::make_shared<VerifyTreeOptions>();
            app.add_option("DEST", o->dest, "An installed tree: the directory 'unpacker unpack -C DEST' made")
                ->required();
            app.add_option("--audit-log", o->audit_log,
                           "The audit log the unpack wrote (default $AIRLOCK_AUDIT_LOG or "
                           "~/.local/state/airlock/audit.jsonl)");
            app.add_flag("--ignore-bytecode", o->ignore_bytecode,
                         "Do not fail on bytecode caches (__pycache__/*.pyc) added, modified or removed; they are "
                         "still listed");
            app.add_option("--threads", o->threads, "Hashing threads (default: one per CPU, at most 8)")
                ->check(CLI::Range(1, 64));
            o->out.add_to(app);
            app.footer(
                "After the last step of 'unpacker unpack' (pip and the link test; with --no-install\n"
                "after relocation) DEST/airlock/installed.json lists every entry under DEST: path,\n"
                "type, mode, size and SHA-256 (symlinks with their text, never followed; further\n"
                "names of one file as hardlinks), and a 'record-tree' audit record holds its SHA-256.\n"
                "verify-tree checks the audit log's chain, finds the last record-tree record for\n"
                "DEST and compares the record's SHA-256 with it (a record edited after the fact, or\n"
                "removed, is named), then hashes the tree again on several threads and names every\n"
                "entry modified, added or removed, and every mode or type change, one a line:\n"
                "  modified: env/lib/python3.12/site-packages/six.py\n"
                "  mode changed: env/bin/tool (0755 -> 0777)\n"
                "Python writes bytecode caches (__pycache__/NAME.cpython-312.pyc) when it imports a\n"
                "module whose cache is missing or stale; they are listed as 'added (bytecode cache)'\n"
                "(or modified, removed) and fail the check like any other change, since Python runs\n"
                "a cache without reading its source. --ignore-bytecode tolerates them (still listed).\n"
                "Audited as a 'verify-tree' event. Exit: 0 the tree is as recorded, 1 it differs, or\n"
                "the record does not match the audit log (or the log has none for DEST), 2 usage or\n"
                "I/O (DEST or the audit log cannot be read), 130 interrupted.");
            return [o]() -> int { return run_verify_tree(*o); };
          }};
}

}  // namespace airlock::unpacker
