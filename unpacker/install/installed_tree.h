// The installed-tree record (DESIGN.md, "Designation and installed trees"):
// after the last step of an unpack, DEST/airlock/installed.json lists every
// entry under DEST - path, type, mode, size and SHA-256, symlinks with their
// text (never followed), further names of one file as hardlinks - and the
// audit record of that step ("record-tree") carries the record's SHA-256.
// `unpacker verify-tree` walks and hashes the tree again and names what
// changed; a record edited afterwards no longer matches the audit log.
//
// Format: docs/format.md, "The installed-tree record".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/audit.h"
#include "common/error.h"
#include "unpacker/stream/writer_pool.h"

namespace airlock::unpacker {

inline constexpr std::string_view kTreeRecordFormat = "airlock-installed/1";
inline constexpr std::string_view kTreeRecordPath = "airlock/installed.json";  // relative to DEST
inline constexpr uint64_t kMaxTreeRecordBytes = 512ull << 20;                   // as the manifest
inline constexpr const char* kRecordTreeEvent = "record-tree";                  // its audit event

// A record that is not one `unpack` writes: exit 1 (what is being verified
// cannot be read as what was recorded).
class TreeRecordError : public Error {
 public:
  explicit TreeRecordError(std::string message)
      : Error(Exit::kVerify, "not a valid installed-tree record: " + std::move(message)) {}
};

enum class NodeType : uint8_t { kDir, kFile, kHardlink, kSymlink, kSpecial };
const char* to_string(NodeType t);

struct TreeEntry {
  std::string path;  // relative to DEST: "env/bin/python3.12"; any bytes but NUL
  NodeType type = NodeType::kFile;
  uint32_t mode = 0;    // permission bits (07777); 0 for symlinks
  uint64_t size = 0;    // file, hardlink
  std::string sha256;   // file, hardlink: lowercase hex
  std::string target;   // hardlink: the first name of the file; symlink: its text
  bool operator==(const TreeEntry&) const = default;
};

// "__pycache__" itself, or a *.pyc file directly in one: what Python
// writes when it imports a module (PEP 3147).
bool is_bytecode_cache(std::string_view path);

struct ScanOptions {
  unsigned threads = 0;  // hashing threads; 0: one per CPU, at most 8
  bool progress = false;
  // A file whose stamp (device, inode, size, mtime, ctime) is still the one
  // recorded here takes this digest instead of being read again: any write
  // since, or a replacement, changes its ctime or its inode. Null: every
  // file is read (what verify-tree does, always).
  const KnownFiles* known = nullptr;
};

struct ScanStats {
  uint64_t files = 0;  // distinct regular files (hardlinked names once)
  uint64_t bytes = 0;
  uint64_t reused = 0;  // of them, digests taken from ScanOptions::known
  unsigned threads = 0;
  double seconds = 0;  // walk and hash
};

// The identity of a regular file as a walk saw it.
struct TreeFileId {
  dev_t dev = 0;
  ino_t ino = 0;
  nlink_t nlink = 0;
  FileStamp stamp;
  bool operator<(const TreeFileId& o) const { return dev != o.dev ? dev < o.dev : ino < o.ino; }
};

// scan_tree's first half, the walk: every entry with its path, type, mode,
// size and a symlink's text (no digest yet), sorted by path, and the
// identity of each regular file (`ids`, parallel). An unpack walks once
// and gives the walk to the link test and to the record.
struct WalkedTree {
  std::vector<TreeEntry> entries;
  std::vector<TreeFileId> ids;
  dev_t dev = 0;  // the walked directory itself
  ino_t ino = 0;
  double seconds = 0;
};
// With `skip_record`, DEST/airlock/installed.json is left out.
WalkedTree walk_tree(const std::string& dest, bool skip_record = true);
// The second half: the digests, as scan_tree gives them. `dest` must still
// be the directory that was walked.
std::vector<TreeEntry> hash_walked(const std::string& dest, WalkedTree w, const ScanOptions& o,
                                   ScanStats* stats = nullptr);

// Every entry under `dest` but DEST/airlock/installed.json, sorted by path
// (bytewise). Never follows a symlink; does not descend into another file
// system mounted below DEST. Regular files are hashed on several threads;
// a file seen under several names is hashed once and its later names (in
// path order) are hardlinks to the first. Throws Error(kUsage) naming what
// cannot be read, or what changed while it was read.
std::vector<TreeEntry> scan_tree(const std::string& dest, const ScanOptions& o, ScanStats* stats = nullptr);

struct TreeRecord {
  std::string bundle_id;
  std::string dest;     // absolute DEST when recorded
  std::string created;  // RFC 3339 UTC
  std::vector<std::string> recorded_after;  // the unpack's steps: "extract", "relocate", "install", "link-test"
  std::vector<TreeEntry> entries;           // sorted by path, unique

  // The record's text: the top-level fields, then one entry per line.
  std::string dump() const;
  // Strict: a JSON object with no key twice, format airlock-installed/1,
  // entries sorted and unique, safe relative paths, hardlinks to earlier
  // files, 64-hex digests, counts that add up. Throws TreeRecordError.
  static TreeRecord parse(std::string_view text);
};

// One entry as JSON (the record's form, also used by --json): "path" (and
// "path_hex" when the path is not UTF-8), "type", "mode", "size",
// "sha256", "target" (and "target_hex").
nlohmann::ordered_json entry_json(const TreeEntry& e);
// The same entry's text as the record holds it (entry_json, dumped on one
// line), appended to `out`.
void append_entry_json(std::string& out, const TreeEntry& e);

enum class DriftKind : uint8_t {
  kModified,          // content (or a symlink's text) differs
  kAdded,             // not in the record
  kRemoved,           // in the record, gone
  kModeChanged,       // permission bits differ
  kTypeChanged,       // file <-> dir <-> symlink, hardlink made or broken or moved
  kBytecodeAdded,     // the same three for is_bytecode_cache() paths
  kBytecodeModified,
  kBytecodeRemoved,
};
inline constexpr size_t kDriftKinds = 8;
const char* to_string(DriftKind k);  // "modified", "added (bytecode cache)", ...
const char* json_key(DriftKind k);   // "modified", "bytecode_added", ...
bool is_bytecode(DriftKind k);

struct Drift {
  DriftKind kind;
  std::string path;
  const TreeEntry* recorded = nullptr;  // into the compared vectors
  const TreeEntry* found = nullptr;
};

// Both sorted by path. A path may drift in several ways at once (modified
// and mode changed); a changed type is reported alone.
std::vector<Drift> compare_trees(const std::vector<TreeEntry>& recorded, const std::vector<TreeEntry>& found);

// Scans `dest`, writes DEST/airlock/installed.json (new, mode 0444,
// fsynced) and returns its SHA-256 and counts.
struct RecordWritten {
  std::string path, sha256;
  size_t entries = 0;
  ScanStats stats;
};
RecordWritten write_tree_record(const std::string& dest, const std::string& bundle_id,
                                const std::vector<std::string>& recorded_after, const ScanOptions& o);
// The same with the tree already scanned (scan_tree and its stats), for an
// unpack that scans while its read-only link test runs.
RecordWritten write_tree_record(const std::string& dest, const std::string& bundle_id,
                                const std::vector<std::string>& recorded_after, std::vector<TreeEntry> scanned,
                                const ScanStats& stats);

// What the unpack's tree was recorded after, in order: "extract",
// "relocate", then "install" and "link-test" when they ran.
std::vector<std::string> recorded_after(bool installed, bool link_tested);

// The unpack's "record-tree" audit record: `identity` (the bundle's) with
// "bundle", "dest", "record" (the record's path) and "record_sha256".
AuditEvent record_tree_event(AuditEvent identity, const std::string& bundle, const std::string& dest,
                             const RecordWritten& w);

// The last "record-tree" audit record with outcome ok for `dest`, from the
// text of an audit log (its chain checked by the caller).
struct AuditedRecord {
  bool found = false;
  size_t line = 0;  // 1-based
  std::string time, user, host, record_sha256, bundle_id;
};
AuditedRecord find_record_event(std::string_view log_text, const std::string& dest);

}  // namespace airlock::unpacker
