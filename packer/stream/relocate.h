// Relocation decided at pack time, on the bytes the pipeline streams:
//
//  - ELF files whose RPATH/RUNPATH names directories inside the environment
//    by absolute path get those entries rewritten `$ORIGIN`-relative, in a
//    memory copy of the file (the source environment is never modified), so
//    the archive holds, and the manifest hashes, the patched bytes;
//  - other files that contain the original prefix are listed for the
//    manifest's `relocate` (mode "text" or "binary") so the unpacker can
//    replace it with the real destination.
//
// Typical use by the pipeline, per regular file:
//   PrefixScanner scan(env.prefix_strings);
//   read the first chunk; if elf::has_elf_magic(chunk):
//     patch = plan_elf_patch_file(rel, source, prefixes)   (pread of the tables)
//   for each chunk streamed: if (patch) patch->apply_at(offset, chunk);
//     scan.feed(chunk); sha.update(chunk); tar.write(chunk);
//   if (auto m = relocation_mode(rel, scan)) manifest.relocate += {path, *m}.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/elf/elf.h"

namespace airlock::packer {

// --------------------------------------------------------------------- ELF

struct ElfEdit {
  std::string tag;        // "RUNPATH" or "RPATH"
  std::string old_value;  // "/root/.pyenv/versions/3.12.1/lib"
  std::string new_value;  // "$ORIGIN/../lib"
  elf::DynString where;   // the old string's place in the file
};

struct ElfPatch {
  std::string name;  // for errors
  elf::DynamicInfo info;
  std::vector<ElfEdit> edits;
  // Applies every edit to a memory copy of the file it was planned on
  // (re-checks that the old bytes are still there).
  void apply(std::span<uint8_t> file) const;
  // Streaming form: patches whatever part of the edits falls inside `chunk`,
  // which holds the file's bytes from `offset` on. Checks those bytes are
  // the old string's (throws elf::ElfRewriteError if the file changed).
  void apply_at(uint64_t offset, std::span<uint8_t> chunk) const;
};

// Rewrites one RPATH/RUNPATH value: each ':'-separated entry that is an
// absolute path equal to or below one of `prefixes` becomes
// "$ORIGIN/<relative path from the file's directory>"; other entries
// (system directories, entries already using $ORIGIN, empty ones) are kept.
// `rel_path` is the file's path inside the environment ("bin/python3.12").
std::string relocate_search_path(std::string_view value, std::string_view rel_path,
                                 const std::vector<std::string>& prefixes);

// Plans the patch of an ELF64 LE file held in memory. Returns nullopt when
// nothing needs to change (no dynamic section, no RPATH/RUNPATH, nothing
// absolute inside the environment) or the file is not a supported ELF
// (see elf::probe). Throws elf::ElfRewriteError when a new value does not
// fit in place, elf::ElfError on a malformed file.
std::optional<ElfPatch> plan_elf_patch(std::string_view rel_path, std::span<const uint8_t> file,
                                       const std::vector<std::string>& prefixes, const std::string& name);
// Same, reading only the headers and tables of the file at `path` (pread);
// then stream the file with ElfPatch::apply_at on each chunk. With `read`,
// the tables read are handed out as well (set for every ELF64 LE file,
// patched or not): the library doctor judges them without reading again.
std::optional<ElfPatch> plan_elf_patch_file(std::string_view rel_path, const std::string& path,
                                            const std::vector<std::string>& prefixes,
                                            std::shared_ptr<const elf::DynamicInfo>* read = nullptr);

// ------------------------------------------------------------------ prefix

// Searches a stream, fed chunk by chunk, for any of a few strings (the
// prefix spellings), including occurrences that cross chunk boundaries.
// Also notes what the content looks like from its first bytes.
class PrefixScanner {
 public:
  static constexpr size_t kHeadSize = 8192;  // where a NUL means "binary"

  explicit PrefixScanner(std::vector<std::string> needles);
  void reset();  // before the next file
  void feed(std::span<const uint8_t> chunk);

  bool found() const { return found_mask_ != 0; }
  // The needles seen so far, in the order given to the constructor.
  std::vector<std::string> found_needles() const;
  bool head_has_nul() const { return head_nul_; }
  bool is_elf() const;
  bool has_shebang() const { return start_len_ >= 2 && start_[0] == '#' && start_[1] == '!'; }
  uint64_t bytes_fed() const { return fed_; }

 private:
  void search(const uint8_t* p, size_t n);

  std::vector<std::string> needles_;
  size_t max_len_ = 0;
  uint64_t found_mask_ = 0;
  uint64_t all_mask_ = 0;
  uint64_t fed_ = 0;
  bool head_nul_ = false;
  std::vector<uint8_t> carry_;  // the last max_len_-1 bytes fed
  uint8_t start_[16] = {};
  size_t start_len_ = 0;
};

enum class RelocateMode { kText, kBinary };
const char* to_string(RelocateMode m);

// Whether a file goes into the manifest's `relocate` list, given the scan
// of its (already patched) bytes. ELF files are handled by plan_elf_patch
// and never listed, nor are .pyc/.pyo files (the path in them is only
// used in tracebacks). Text: no NUL in the first 8 KiB, or a known text kind
// (shebang script, .py, .pth, .sh, .cfg, .txt, .json, .pc, ...).
std::optional<RelocateMode> relocation_mode(std::string_view path, const PrefixScanner& scan);

// Files never listed whatever they contain (bytecode, static archives and
// objects): the pipeline need not scan them at all.
bool never_relocated(std::string_view path);

}  // namespace airlock::packer
