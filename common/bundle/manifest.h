// airlock/manifest.json: the signed inventory of the payload, its LAST
// member. `files` lists every other member. Readers ignore unknown fields.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace airlock::bundle {

class ManifestError : public Error {
 public:
  explicit ManifestError(std::string message) : Error(Exit::kVerify, "manifest: " + std::move(message)) {}
};

enum class EntryType : uint8_t { kDir, kFile, kHardlink };
const char* to_string(EntryType t);

struct FileEntry {
  std::string path;  // "env/bin/python3.12"
  EntryType type = EntryType::kFile;
  uint32_t mode = 0644;  // permission bits only
  uint64_t size = 0;     // files
  std::string sha256;    // files, lowercase hex
  std::string target;    // hardlinks: an earlier file's path
};

struct PythonInfo {
  std::string version;         // "3.12.1"
  std::string tag;             // "cp312"
  std::string platform;        // "linux_x86_64"
  std::string implementation;  // "cpython"
  std::string abi;             // "cp312"
};

struct Dereferenced {
  std::string path;
  std::string was_link_to;
};

struct RelocateEntry {
  std::string path;
  std::string mode;  // "text" or "binary"
};

struct WheelEntry {
  std::string path;  // "wheels/six-1.16.0-py2.py3-none-any.whl"
  std::string name;
  std::string version;
  std::string sha256;
};

struct Skipped {
  std::string path;
  std::string reason;
};

struct Manifest {
  std::string format = "airlock-bundle/1";
  std::string bundle_id;
  std::string created;
  std::string source_prefix;
  std::string interpreter;  // "env/bin/python3.12"
  PythonInfo python;
  std::vector<FileEntry> files;
  std::vector<Dereferenced> dereferenced;
  std::vector<RelocateEntry> relocate;
  std::vector<WheelEntry> wheels;
  std::vector<Skipped> skipped;
  nlohmann::json extra = nlohmann::json::object();  // e.g. "check", "tool"

  std::string dump() const;  // compact JSON + "\n"
  // The same with `files` ignored and "files" given as its entries already
  // rendered by append_file_json, comma-separated: the packer renders each
  // entry as its file is streamed, not all of them after the last one.
  std::string dump(std::string_view files_json) const;
  // What dump(files_json) writes before the files' entries (up to and with
  // `"files":[`) and after them: the packer writes its rendered entries in
  // between, piece by piece, without ever holding the whole text twice.
  std::pair<std::string, std::string> dump_around_files() const;
  // Strict on the fields it knows (types, modes "0755", hex digests,
  // relative paths); ignores unknown ones.
  static Manifest parse(std::string_view text);
};

std::string mode_string(uint32_t mode);  // 0755 -> "0755"

// Appends one entry of "files" as Manifest::dump() writes it.
void append_file_json(std::string& out, std::string_view path, EntryType type, uint32_t mode, uint64_t size = 0,
                      std::string_view sha256 = {}, std::string_view target = {});

}  // namespace airlock::bundle
