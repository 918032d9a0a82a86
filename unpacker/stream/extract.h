// Step 4 of the unpack order: read the plaintext payload tar (PayloadTar,
// straight from PayloadStream's blocks), pass every
// entry through the EntryPolicy, and write it into the staging directory,
// hashing each file while it is written so the manifest check needs no
// second pass. With no staging directory (`unpacker list`) nothing is
// written but every check still runs.
#pragma once

#include <cstdint>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/bundle/manifest.h"
#include "unpacker/stream/entry_policy.h"
#include "unpacker/stream/writer_pool.h"
#include "unpacker/stream/payload_stream.h"

namespace airlock::unpacker {

struct ExtractedEntry {
  std::string path;
  Kind kind = Kind::kFile;
  uint32_t perm = 0;
  uint64_t size = 0;
  std::string sha256;  // files
  std::string target;  // hardlinks
  FileStamp stamp;     // files, when written
  bool elf64 = false;  // files: begins as an ELF64 little-endian file
};

struct ExtractOptions {
  int dirfd = -1;  // staging directory; -1 writes nothing
  std::vector<std::string> capture;  // payload paths whose content to keep (e.g. the SBOM)
  unsigned threads = 0;              // writer threads; 0 = default
  bool progress = false;
  uint64_t content_bytes = 0;  // for progress only
};

struct ExtractResult {
  std::vector<ExtractedEntry> entries;  // in payload order, the manifest excluded
  std::vector<std::string> implicit_dirs;  // parents created without an entry of their own
  std::string manifest_text;            // airlock/manifest.json, the last member
  // The manifest parsed on a thread of its own while the last files were
  // still being written (or why it could not be).
  std::optional<bundle::Manifest> manifest;
  std::exception_ptr manifest_error;
  std::map<std::string, std::string> captured;
  uint64_t file_bytes = 0;
};

ExtractResult extract_payload(PayloadStream& payload, const ExtractOptions& opts);

}  // namespace airlock::unpacker
