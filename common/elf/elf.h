// Reading the dynamic section of ELF64 little-endian files (DT_NEEDED,
// DT_RPATH, DT_RUNPATH, DT_SONAME, the symbol versions of DT_VERNEED and
// DT_VERDEF), their program interpreter (PT_INTERP) and minimum kernel
// (the NT_GNU_ABI_TAG note), and rewriting an RPATH/RUNPATH or PT_INTERP
// string in place, without external tools.
//
// The dynamic string table is found the way the dynamic loader finds it:
// PT_DYNAMIC -> DT_STRTAB (a virtual address) mapped to a file offset
// through the PT_LOAD segments. Section headers are optional (stripped or
// hand-made files have none) and are used only to find extra string
// references (dynamic symbol names) for the sharing check.
//
// 32-bit and big-endian files are recognised and reported as unsupported,
// so callers can skip them; everything else malformed is an ElfError.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"

namespace airlock::elf {

// A malformed or unreadable ELF file: "reading ELF file PATH: ...".
class ElfError : public Error {
 public:
  ElfError(const std::string& path, const std::string& what);
};

// The new RPATH/RUNPATH string does not fit where the old one is, or the old
// string's bytes are shared with another string so they cannot be changed.
class ElfRewriteError : public Error {
 public:
  ElfRewriteError(const std::string& path, const std::string& tag, const std::string& old_value,
                  const std::string& new_value, const std::string& why);
  const std::string& path() const { return path_; }
  const std::string& old_value() const { return old_; }
  const std::string& new_value() const { return new_; }

 private:
  std::string path_, old_, new_;
};

enum class Kind {
  kNotElf,       // no ELF magic
  kElf64Le,      // what we read and patch
  kUnsupported,  // ELF, but 32-bit, big-endian or an unknown class/version
};

struct Probe {
  Kind kind = Kind::kNotElf;
  std::string reason;  // for kUnsupported: "32-bit ELF is not supported", ...
};

// True when `head` starts with the four ELF magic bytes.
bool has_elf_magic(std::span<const uint8_t> head);
// Classifies a file from its first bytes (16 are enough).
Probe probe(std::span<const uint8_t> head);

// A string of the dynamic string table referenced by a dynamic entry.
struct DynString {
  std::string value;
  uint64_t index = 0;        // offset inside the dynamic string table
  uint64_t file_offset = 0;  // where its first byte is in the file
};

// One library's entry of DT_VERNEED (.gnu.version_r): the symbol versions
// this file needs from it ("libc.so.6": GLIBC_2.2.5, GLIBC_2.34, ...).
struct VersionNeed {
  std::string file;
  std::vector<std::string> versions;
};

// PT_INTERP: the program interpreter an executable asks the kernel for.
struct Interp {
  std::string value;         // "/lib64/ld-linux-x86-64.so.2"
  uint64_t file_offset = 0;  // p_offset
  uint64_t size = 0;         // p_filesz: the room in place, the NUL included
};

struct DynamicInfo {
  bool has_dynamic = false;  // false: static executable, object file, ...
  uint16_t type = 0;         // e_type (ET_EXEC, ET_DYN, ...)
  std::optional<Interp> interp;          // PT_INTERP, when the file has one
  std::vector<VersionNeed> version_needs;  // DT_VERNEED, in file order
  // DT_VERDEF: the versions this file defines, without the base entry (the
  // one flagged VER_FLG_BASE, which names the file itself).
  std::vector<std::string> version_defs;
  // The minimum kernel from the NT_GNU_ABI_TAG note ("3.2.0"), when there
  // is one (glibc's libc.so.6 and ld.so carry it).
  std::optional<std::string> abi_tag;
  std::vector<std::string> needed;
  std::optional<std::string> soname;
  std::optional<DynString> rpath;    // DT_RPATH
  std::optional<DynString> runpath;  // DT_RUNPATH
  uint64_t strtab_offset = 0;        // file offset of the dynamic string table
  uint64_t strtab_size = 0;
  // Every string-table index something in the file refers to (dynamic
  // entries, and dynamic symbol names when section headers say where they
  // are), sorted: a linker may merge a string into the tail of another, and
  // such a tail must not change when the longer string is rewritten.
  std::vector<uint64_t> string_refs;
};

// Reads the dynamic section of an ELF64 LE file held in memory, or from a
// file with pread (only the headers and tables are read). `name` is used in
// errors. Throws ElfError on a malformed file, or when probe() is not
// kElf64Le (check probe() first to skip unsupported files quietly).
DynamicInfo read_dynamic(std::span<const uint8_t> file, const std::string& name);
DynamicInfo read_dynamic_file(const std::string& path);

// Checks that `new_value` may replace `old` in place: it fits in the old
// string's bytes (the rest is NUL-padded) and no other string lives inside
// the old one. Throws ElfRewriteError naming the file, the tag ("RUNPATH" or
// "RPATH"), the old and the new string.
void check_rewrite(const DynamicInfo& info, const DynString& old, const std::string& new_value,
                   const std::string& tag, const std::string& name);

// Writes `new_value` over `old` (NUL-padded to the old length) in a memory
// copy of the file, or in the file itself with pwrite. Both call
// check_rewrite() first.
void rewrite_string(std::span<uint8_t> file, const DynamicInfo& info, const DynString& old,
                    const std::string& new_value, const std::string& tag, const std::string& name);
void rewrite_string_file(const std::string& path, const DynamicInfo& info, const DynString& old,
                         const std::string& new_value, const std::string& tag);

// Writes `new_value` (NUL-padded to the segment's size) over the PT_INTERP
// string of the file at `path`, after checking that the file still holds
// `expected_old` there. Throws ElfRewriteError (tag "PT_INTERP") when the
// new value does not fit (it needs size - 1 bytes at most) or the file
// changed, ElfError when it has no PT_INTERP.
void rewrite_interp_file(const std::string& path, const std::string& expected_old, const std::string& new_value);

}  // namespace airlock::elf
