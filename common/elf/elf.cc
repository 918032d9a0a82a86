#include "common/elf/elf.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string_view>

#include "common/elf/format.h"
#include "common/io.h"

namespace airlock::elf {

namespace fmt = format;

ElfError::ElfError(const std::string& path, const std::string& what)
    : Error(Exit::kUsage, "reading ELF file " + path + ": " + what) {}

namespace {
std::string rewrite_hint(const std::string& tag) {
  if (tag == "PT_INTERP")
    return "the program keeps its old interpreter; it can still be started as 'LOADER PROGRAM ARGS...'";
  return "the file keeps an absolute " + tag + "; rebuild it with -Wl,-rpath,'$ORIGIN/...' or set "
         "LD_LIBRARY_PATH on the secure side";
}
// A value in single quotes, escaped and cut like quote(): a NUL or an
// escape sequence must not cut or garble the message.
std::string shown(const std::string& v) {
  std::string q = quote(v, 256);
  return "'" + q.substr(1, q.size() - 2) + "'";
}
}  // namespace

ElfRewriteError::ElfRewriteError(const std::string& path, const std::string& tag, const std::string& old_value,
                                 const std::string& new_value, const std::string& why)
    : Error(Exit::kUsage,
            path + ": cannot rewrite " + tag + " in place: " + shown(old_value) + " -> " + shown(new_value) + ": " + why,
            rewrite_hint(tag)),
      path_(path), old_(old_value), new_(new_value) {}

bool has_elf_magic(std::span<const uint8_t> head) {
  return head.size() >= 4 && std::memcmp(head.data(), fmt::kMagic, 4) == 0;
}

Probe probe(std::span<const uint8_t> head) {
  if (!has_elf_magic(head)) return {Kind::kNotElf, {}};
  if (head.size() < fmt::kIdentSize) return {Kind::kUnsupported, "truncated ELF identification"};
  uint8_t cls = head[fmt::kEiClass], data = head[fmt::kEiData];
  if (cls == fmt::kClass32) return {Kind::kUnsupported, "32-bit ELF is not supported"};
  if (cls != fmt::kClass64) return {Kind::kUnsupported, "unknown ELF class " + std::to_string(cls)};
  if (data == fmt::kData2Msb) return {Kind::kUnsupported, "big-endian ELF is not supported"};
  if (data != fmt::kData2Lsb) return {Kind::kUnsupported, "unknown ELF data encoding " + std::to_string(data)};
  if (head[fmt::kEiVersion] != fmt::kVersionCurrent)
    return {Kind::kUnsupported, "unknown ELF version " + std::to_string(head[fmt::kEiVersion])};
  return {Kind::kElf64Le, {}};
}

namespace {

// Caps against hostile headers: nothing legitimate comes close.
constexpr uint64_t kMaxTable = 256ull << 20;  // bytes of any one table we read
constexpr uint64_t kMaxDynEntries = 1u << 16;
// The kernel refuses a PT_INTERP longer than PATH_MAX (fs/binfmt_elf.c).
constexpr uint64_t kMaxInterp = 4096;
// Version chains and notes are read through a window of this size.
constexpr uint64_t kWindow = 4096;

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

template <class T>
std::span<uint8_t> as_bytes(T& t) {
  return std::span<uint8_t>(reinterpret_cast<uint8_t*>(&t), sizeof(T));
}

// Random access to the file's bytes, from memory or with pread.
struct Input {
  std::string name;
  uint64_t size = 0;
  std::function<void(uint64_t, std::span<uint8_t>)> read_raw;

  bool fits(uint64_t off, uint64_t len) const { return off <= size && len <= size - off; }

  // Reads [off, off+out.size()) after checking it lies inside the file.
  void read(uint64_t off, std::span<uint8_t> out, const char* what) const {
    if (!fits(off, out.size()))
      throw ElfError(name, std::string(what) + " at offset " + std::to_string(off) + " (+" +
                               std::to_string(out.size()) + ") lies beyond the end of the file (" +
                               std::to_string(size) + " bytes)");
    // An empty table has no buffer, and memcpy with a null pointer is
    // undefined even for zero bytes.
    if (!out.empty()) read_raw(off, out);
  }
  template <class T>
  T read_struct(uint64_t off, const char* what) const {
    T t;
    read(off, as_bytes(t), what);
    return t;
  }
  // `count` records at `off`. A header's count is only a claim: it is
  // checked against the file's size before anything is allocated.
  template <class T>
  std::vector<T> read_table(uint64_t off, uint64_t count, const char* what) const {
    if (off > size || count > (size - off) / sizeof(T))
      throw ElfError(name, std::string(what) + ": " + std::to_string(count) + " entries of " +
                               std::to_string(sizeof(T)) + " bytes at offset " + std::to_string(off) +
                               " run beyond the end of the file (" + std::to_string(size) + " bytes)");
    std::vector<T> v(count);
    read(off, std::span<uint8_t>(reinterpret_cast<uint8_t*>(v.data()), v.size() * sizeof(T)), what);
    return v;
  }
};

Input fd_input(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno("cannot stat", path);
  return Input{path, static_cast<uint64_t>(st.st_size), [fd, path](uint64_t off, std::span<uint8_t> out) {
                 size_t got = 0;
                 while (got < out.size()) {
                   ssize_t n = ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(off + got));
                   if (n < 0 && errno == EINTR) continue;
                   if (n < 0) throw_errno("read failed", path);
                   if (n == 0) throw ElfError(path, "file shrank while being read");
                   got += static_cast<size_t>(n);
                 }
               }};
}

// Records reached by offsets rather than by index (version chains, notes):
// `base` is the table's file offset, `room` the bytes after it that belong
// to its segment. Read through a small window, so a chain costs a pread or
// two rather than one per record.
class Records {
 public:
  Records(const Input& in, uint64_t base, uint64_t room, std::string what)
      : in_(in), base_(base), room_(room), what_(std::move(what)) {}
  uint64_t room() const { return room_; }

  template <class T>
  T at(uint64_t rel) {
    if (rel > room_ || sizeof(T) > room_ - rel)
      throw ElfError(in_.name, what_ + ": the entry at offset " + std::to_string(rel) + " of the table (file offset " +
                                   hex(base_ + rel) + ") runs past the end of its segment");
    uint64_t off = base_ + rel;
    if (off < win_off_ || off - win_off_ + sizeof(T) > win_.size()) {
      win_.resize(static_cast<size_t>(std::min<uint64_t>(kWindow, room_ - rel)));
      in_.read(off, win_, what_.c_str());
      win_off_ = off;
    }
    T t;
    std::memcpy(&t, win_.data() + (off - win_off_), sizeof(T));
    return t;
  }

 private:
  const Input& in_;
  uint64_t base_, room_;
  std::string what_;
  std::vector<uint8_t> win_;
  uint64_t win_off_ = 0;
};

// The loader sees a dynamic entry's address as a virtual address: map it
// through the PT_LOAD segment that contains it, to a file offset and the
// file-backed bytes from there to the end of that segment (and the file).
struct Mapped {
  uint64_t offset = 0;
  uint64_t room = 0;
};

Mapped map_vaddr(const Input& in, const std::vector<fmt::Phdr>& phdrs, uint64_t vaddr, const char* tag) {
  for (const auto& ph : phdrs) {
    if (ph.p_type != fmt::kPtLoad) continue;
    if (vaddr < ph.p_vaddr || vaddr - ph.p_vaddr >= ph.p_filesz) continue;
    uint64_t delta = vaddr - ph.p_vaddr;
    if (!in.fits(ph.p_offset, ph.p_filesz))
      throw ElfError(in.name, std::string("the PT_LOAD segment holding ") + tag + " (offset " + hex(ph.p_offset) +
                                  ", " + std::to_string(ph.p_filesz) + " bytes) runs beyond the end of the file");
    return {ph.p_offset + delta, ph.p_filesz - delta};
  }
  throw ElfError(in.name, std::string(tag) + " address " + hex(vaddr) + " is in no PT_LOAD segment");
}

// The dynamic string table, and a budget for the strings we copy out of it:
// a hostile file can point thousands of entries at its longest string.
class StringTable {
 public:
  StringTable(const Input& in, std::vector<uint8_t> bytes) : in_(in), bytes_(std::move(bytes)), budget_(in.size) {}

  std::string_view view(uint64_t idx, const char* tag) const {
    if (idx >= bytes_.size())
      throw ElfError(in_.name, std::string(tag) + " string index " + std::to_string(idx) + " is outside the " +
                                   std::to_string(bytes_.size()) + "-byte dynamic string table");
    auto* start = bytes_.data() + idx;
    auto* nul = static_cast<const uint8_t*>(std::memchr(start, 0, bytes_.size() - idx));
    if (!nul)
      throw ElfError(in_.name, std::string(tag) + " string at index " + std::to_string(idx) + " is not NUL-terminated");
    return std::string_view(reinterpret_cast<const char*>(start), static_cast<size_t>(nul - start));
  }
  std::string at(uint64_t idx, const char* tag) {
    auto s = view(idx, tag);
    if (s.size() > budget_)
      throw ElfError(in_.name, "the dynamic entries name more string bytes than the file holds (" +
                                   std::to_string(in_.size) + ")");
    budget_ -= s.size();
    return std::string(s);
  }

 private:
  const Input& in_;
  std::vector<uint8_t> bytes_;
  uint64_t budget_;
};

fmt::Ehdr read_ehdr(const Input& in) {
  uint8_t ident[fmt::kIdentSize] = {};
  auto head = std::span<uint8_t>(ident, static_cast<size_t>(std::min<uint64_t>(fmt::kIdentSize, in.size)));
  in.read(0, head, "ELF identification");
  Probe p = probe(head);
  if (p.kind == Kind::kNotElf) throw ElfError(in.name, "not an ELF file (no \\x7fELF magic)");
  if (p.kind == Kind::kUnsupported) throw ElfError(in.name, p.reason);
  return in.read_struct<fmt::Ehdr>(0, "ELF header");
}

// Section header 0, which holds the real counts when they do not fit the
// ELF header (e_phnum PN_XNUM, e_shnum 0).
fmt::Shdr section0(const Input& in, const fmt::Ehdr& eh) {
  if (eh.e_shentsize != sizeof(fmt::Shdr))
    throw ElfError(in.name, "section header size " + std::to_string(eh.e_shentsize) + ", expected 64");
  return in.read_struct<fmt::Shdr>(eh.e_shoff, "section header 0");
}

// Section headers are optional; when present they must be well formed.
std::vector<fmt::Shdr> read_shdrs(const Input& in, const fmt::Ehdr& eh) {
  if (eh.e_shoff == 0) return {};
  uint64_t n = eh.e_shnum != 0 ? eh.e_shnum : section0(in, eh).sh_size;
  if (n == 0) return {};
  if (eh.e_shentsize != sizeof(fmt::Shdr))
    throw ElfError(in.name, "section header size " + std::to_string(eh.e_shentsize) + ", expected 64");
  return in.read_table<fmt::Shdr>(eh.e_shoff, n, "section headers");
}

std::vector<fmt::Phdr> read_phdrs(const Input& in, const fmt::Ehdr& eh) {
  uint64_t n = eh.e_phnum;
  if (n == fmt::kPnXnum) {
    if (eh.e_shoff == 0) throw ElfError(in.name, "e_phnum is PN_XNUM but there are no section headers");
    n = section0(in, eh).sh_info;
  }
  if (n == 0) return {};  // object file: no segments, nothing loaded
  if (eh.e_phentsize != sizeof(fmt::Phdr))
    throw ElfError(in.name, "program header size " + std::to_string(eh.e_phentsize) + ", expected 56");
  return in.read_table<fmt::Phdr>(eh.e_phoff, n, "program headers");
}

std::optional<Interp> read_interp(const Input& in, const std::vector<fmt::Phdr>& phdrs) {
  std::optional<Interp> interp;
  for (const auto& ph : phdrs) {
    if (ph.p_type != fmt::kPtInterp) continue;
    // One answer only: what the checks judge must be what the kernel runs.
    if (interp) throw ElfError(in.name, "more than one PT_INTERP segment");
    if (ph.p_filesz < 2 || ph.p_filesz > kMaxInterp)
      throw ElfError(in.name, "PT_INTERP of " + std::to_string(ph.p_filesz) + " bytes (the kernel runs 2 to " +
                                  std::to_string(kMaxInterp) + ")");
    auto b = in.read_table<uint8_t>(ph.p_offset, ph.p_filesz, "PT_INTERP");
    std::string s(b.begin(), b.end());
    // The kernel refuses an interpreter not ending in NUL, and opens it up
    // to its first NUL.
    if (b.back() != 0) throw ElfError(in.name, "PT_INTERP " + quote(s) + " is not NUL-terminated");
    interp = Interp{s.substr(0, s.find('\0')), ph.p_offset, ph.p_filesz};
  }
  return interp;
}

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

// The minimum kernel of the first NT_GNU_ABI_TAG note, found the way
// glibc's loader finds it (open_verify in elf/dl-load.c).
std::optional<std::string> read_abi_tag(const Input& in, const std::vector<fmt::Phdr>& phdrs) {
  // Each segment is scanned note by note: segments that overlap would be
  // scanned once each, quadratic in the file's size. A linker's PT_NOTE
  // segments are disjoint, so together they fit in the file.
  uint64_t budget = in.size;
  for (const auto& ph : phdrs) {
    if (ph.p_type != fmt::kPtNote) continue;
    // The loader reads notes only from segments aligned to 4 or 8; 8 means
    // each name and descriptor is padded to 8 (NT_GNU_PROPERTY_TYPE_0).
    if (ph.p_align != 4 && ph.p_align != 8) continue;
    if (!in.fits(ph.p_offset, ph.p_filesz))
      throw ElfError(in.name, "PT_NOTE at offset " + hex(ph.p_offset) + " (+" + std::to_string(ph.p_filesz) +
                                  ") lies beyond the end of the file (" + std::to_string(in.size) + " bytes)");
    if (ph.p_filesz > budget)
      throw ElfError(in.name, "the PT_NOTE segments overlap: together they hold more than the file's " +
                                  std::to_string(in.size) + " bytes");
    budget -= ph.p_filesz;
    Records notes(in, ph.p_offset, ph.p_filesz, "PT_NOTE");
    // Each step moves at least a header forward: bounded by p_filesz. The
    // last note's padding may lie past the segment's end.
    for (uint64_t rel = 0; rel <= notes.room() && notes.room() - rel >= sizeof(fmt::Nhdr);) {
      auto nh = notes.at<fmt::Nhdr>(rel);
      uint64_t desc = rel + align_up(sizeof(fmt::Nhdr) + nh.n_namesz, ph.p_align);
      if (desc > notes.room() || nh.n_descsz > notes.room() - desc)
        throw ElfError(in.name, "PT_NOTE at offset " + hex(ph.p_offset) + ": the note at +" + std::to_string(rel) +
                                    " (name " + std::to_string(nh.n_namesz) + " bytes, descriptor " +
                                    std::to_string(nh.n_descsz) + " bytes) runs past the end of its segment");
      if (nh.n_type == fmt::kNtGnuAbiTag && nh.n_namesz == 4 && nh.n_descsz == 16) {
        auto name = notes.at<std::array<char, 4>>(rel + sizeof(fmt::Nhdr));
        auto d = notes.at<std::array<uint32_t, 4>>(desc);
        // Only Linux's tag says which kernel the node needs; glibc refuses
        // to load a file tagged for another OS anyway.
        if (std::memcmp(name.data(), fmt::kNoteNameGnu, 4) == 0 && d[0] == fmt::kGnuAbiTagLinux)
          return std::to_string(d[1]) + "." + std::to_string(d[2]) + "." + std::to_string(d[3]);
      }
      rel = align_up(desc + nh.n_descsz, ph.p_align);
    }
  }
  return std::nullopt;
}

// Counts the steps of a chain so that overlapping records can never be
// visited more often than records fit in the table's segment.
struct StepBudget {
  const Input& in;
  const char* tag;
  uint64_t left;
  void step() {
    if (left == 0)
      throw ElfError(in.name,
                     std::string(tag) + " chain has more entries than fit in its segment (its records overlap)");
    --left;
  }
};

// The loader (glibc's _dl_check_map_versions) follows vn_next / vna_next
// until a 0 and ignores the counts; readelf believes the counts. A file on
// which the two disagree could hide a need from one of them: refuse it.
void check_count(const Input& in, const char* what, uint64_t count, uint64_t chain) {
  if (count != chain)
    throw ElfError(in.name, std::string(what) + " says " + std::to_string(count) + " but its chain has " +
                                std::to_string(chain) + " entries");
}

std::vector<VersionNeed> read_version_needs(const Input& in, const std::vector<fmt::Phdr>& phdrs, uint64_t vaddr,
                                            std::optional<uint64_t> num, StringTable& strtab,
                                            std::vector<uint64_t>& refs) {
  auto m = map_vaddr(in, phdrs, vaddr, "DT_VERNEED");
  Records recs(in, m.offset, m.room, "DT_VERNEED");
  StepBudget budget{in, "DT_VERNEED", m.room / sizeof(fmt::Verneed)};
  std::vector<VersionNeed> needs;
  for (uint64_t rel = 0;;) {
    budget.step();
    auto vn = recs.at<fmt::Verneed>(rel);
    if (vn.vn_version != fmt::kVerNeedCurrent)
      throw ElfError(in.name, "DT_VERNEED entry at +" + std::to_string(rel) + " has version " +
                                  std::to_string(vn.vn_version) + ", expected 1");
    VersionNeed need{strtab.at(vn.vn_file, "DT_VERNEED file"), {}};
    refs.push_back(vn.vn_file);
    uint64_t aux = rel + vn.vn_aux, chain = 0;
    for (;;) {
      budget.step();
      auto a = recs.at<fmt::Vernaux>(aux);
      need.versions.push_back(strtab.at(a.vna_name, "DT_VERNEED version"));
      refs.push_back(a.vna_name);
      ++chain;
      if (a.vna_next == 0) break;
      aux += a.vna_next;
    }
    check_count(in, ("vn_cnt of the DT_VERNEED entry for " + quote(need.file)).c_str(), vn.vn_cnt, chain);
    needs.push_back(std::move(need));
    if (vn.vn_next == 0) break;
    rel += vn.vn_next;
  }
  if (num) check_count(in, "DT_VERNEEDNUM", *num, needs.size());
  return needs;
}

std::vector<std::string> read_version_defs(const Input& in, const std::vector<fmt::Phdr>& phdrs, uint64_t vaddr,
                                           std::optional<uint64_t> num, StringTable& strtab,
                                           std::vector<uint64_t>& refs) {
  auto m = map_vaddr(in, phdrs, vaddr, "DT_VERDEF");
  Records recs(in, m.offset, m.room, "DT_VERDEF");
  StepBudget budget{in, "DT_VERDEF", m.room / sizeof(fmt::Verdaux)};
  std::vector<std::string> defs;
  uint64_t entries = 0;
  for (uint64_t rel = 0;;) {
    budget.step();
    auto vd = recs.at<fmt::Verdef>(rel);
    if (vd.vd_version != fmt::kVerDefCurrent)
      throw ElfError(in.name, "DT_VERDEF entry at +" + std::to_string(rel) + " has version " +
                                  std::to_string(vd.vd_version) + ", expected 1");
    // The first Verdaux names the version; the others name its parents.
    uint64_t aux = rel + vd.vd_aux, chain = 0;
    std::string name;
    for (;;) {
      budget.step();
      auto a = recs.at<fmt::Verdaux>(aux);
      // Parents too must be valid strings. Through at(), their bytes count
      // against the file's size: a chain naming one long string again and
      // again would otherwise scan it once per entry.
      std::string s = strtab.at(a.vda_name, "DT_VERDEF version");
      if (chain == 0) name = std::move(s);
      refs.push_back(a.vda_name);
      ++chain;
      if (a.vda_next == 0) break;
      aux += a.vda_next;
    }
    check_count(in, ("vd_cnt of the DT_VERDEF entry " + quote(name)).c_str(), vd.vd_cnt, chain);
    // The base entry names the file itself (its soname), not a version.
    if (!(vd.vd_flags & fmt::kVerFlgBase)) defs.push_back(std::move(name));
    ++entries;
    if (vd.vd_next == 0) break;
    rel += vd.vd_next;
  }
  if (num) check_count(in, "DT_VERDEFNUM", *num, entries);
  return defs;
}

DynamicInfo parse(const Input& in) {
  auto eh = read_ehdr(in);
  DynamicInfo info;
  info.type = eh.e_type;
  auto shdrs = read_shdrs(in, eh);
  auto phdrs = read_phdrs(in, eh);
  info.interp = read_interp(in, phdrs);
  info.abi_tag = read_abi_tag(in, phdrs);

  const fmt::Phdr* dyn_ph = nullptr;
  for (const auto& ph : phdrs)
    if (ph.p_type == fmt::kPtDynamic) {
      if (dyn_ph) throw ElfError(in.name, "more than one PT_DYNAMIC segment");
      dyn_ph = &ph;
    }
  if (!dyn_ph) return info;  // statically linked, or an object file
  info.has_dynamic = true;

  uint64_t ndyn = dyn_ph->p_filesz / sizeof(fmt::Dyn);
  if (ndyn > kMaxDynEntries) throw ElfError(in.name, "PT_DYNAMIC has " + std::to_string(ndyn) + " entries");
  auto dyns = in.read_table<fmt::Dyn>(dyn_ph->p_offset, ndyn, "dynamic section");

  std::optional<uint64_t> strtab_vaddr, strsz, verneed, verneednum, verdef, verdefnum;
  bool uses_strings = false;
  for (const auto& d : dyns) {
    if (d.d_tag == fmt::kDtNull) break;
    switch (d.d_tag) {
      case fmt::kDtStrtab: strtab_vaddr = d.d_val; break;
      case fmt::kDtStrsz: strsz = d.d_val; break;
      case fmt::kDtVerneed: verneed = d.d_val; break;
      case fmt::kDtVerneednum: verneednum = d.d_val; break;
      case fmt::kDtVerdef: verdef = d.d_val; break;
      case fmt::kDtVerdefnum: verdefnum = d.d_val; break;
      case fmt::kDtNeeded: case fmt::kDtSoname: case fmt::kDtRpath: case fmt::kDtRunpath: uses_strings = true; break;
      default: break;
    }
  }
  if (!uses_strings && !verneed && !verdef) return info;
  if (!strtab_vaddr || !strsz)
    throw ElfError(in.name, "dynamic entries name strings but DT_STRTAB/DT_STRSZ is missing");
  if (*strsz > kMaxTable) throw ElfError(in.name, "DT_STRSZ of " + std::to_string(*strsz) + " bytes");

  // The whole table must be file-backed inside the segment holding it.
  auto m = map_vaddr(in, phdrs, *strtab_vaddr, "DT_STRTAB");
  if (*strsz > m.room) throw ElfError(in.name, "dynamic string table runs past the end of its PT_LOAD segment");
  info.strtab_offset = m.offset;
  info.strtab_size = *strsz;
  StringTable strtab(in, in.read_table<uint8_t>(info.strtab_offset, *strsz, "dynamic string table"));
  auto dyn_string = [&](uint64_t idx, const char* tag) {
    return DynString{strtab.at(idx, tag), idx, info.strtab_offset + idx};
  };

  for (const auto& d : dyns) {
    if (d.d_tag == fmt::kDtNull) break;
    switch (d.d_tag) {
      case fmt::kDtNeeded: info.needed.push_back(strtab.at(d.d_val, "DT_NEEDED")); break;
      case fmt::kDtSoname: info.soname = strtab.at(d.d_val, "DT_SONAME"); break;
      case fmt::kDtRpath: info.rpath = dyn_string(d.d_val, "DT_RPATH"); break;
      case fmt::kDtRunpath: info.runpath = dyn_string(d.d_val, "DT_RUNPATH"); break;
      default: continue;
    }
    info.string_refs.push_back(d.d_val);
  }
  if (verneed) info.version_needs = read_version_needs(in, phdrs, *verneed, verneednum, strtab, info.string_refs);
  if (verdef) info.version_defs = read_version_defs(in, phdrs, *verdef, verdefnum, strtab, info.string_refs);

  // Dynamic symbol names share the table; collect them where the section
  // headers say where .dynsym is and that it uses this string table.
  // A file has one .dynsym; many sections over the same bytes would each
  // be read, quadratic in the file's size: together they must fit in it.
  uint64_t dynsym_budget = in.size;
  for (const auto& sh : shdrs) {
    if (sh.sh_type != fmt::kShtDynsym || sh.sh_link >= shdrs.size()) continue;
    if (shdrs[sh.sh_link].sh_offset != info.strtab_offset) continue;
    if (sh.sh_size > kMaxTable) throw ElfError(in.name, ".dynsym of " + std::to_string(sh.sh_size) + " bytes");
    if (sh.sh_size > dynsym_budget)
      throw ElfError(in.name, "the SHT_DYNSYM sections overlap: together they hold more than the file's " +
                                  std::to_string(in.size) + " bytes");
    dynsym_budget -= sh.sh_size;
    for (const auto& s : in.read_table<fmt::Sym>(sh.sh_offset, sh.sh_size / sizeof(fmt::Sym), ".dynsym"))
      if (s.st_name != 0) info.string_refs.push_back(s.st_name);
  }
  std::sort(info.string_refs.begin(), info.string_refs.end());
  info.string_refs.erase(std::unique(info.string_refs.begin(), info.string_refs.end()), info.string_refs.end());
  return info;
}

}  // namespace

DynamicInfo read_dynamic(std::span<const uint8_t> file, const std::string& name) {
  Input in{name, file.size(), [file](uint64_t off, std::span<uint8_t> out) {
             std::memcpy(out.data(), file.data() + off, out.size());
           }};
  return parse(in);
}

DynamicInfo read_dynamic_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno("cannot open", path);
  return parse(fd_input(fd.get(), path));
}

void check_rewrite(const DynamicInfo& info, const DynString& old, const std::string& new_value,
                   const std::string& tag, const std::string& name) {
  if (new_value.find('\0') != std::string::npos)
    throw ElfRewriteError(name, tag, old.value, new_value, "the new value contains a NUL byte");
  if (new_value.size() > old.value.size())
    throw ElfRewriteError(name, tag, old.value, new_value,
                          "the new value (" + std::to_string(new_value.size()) + " bytes) is longer than the old (" +
                              std::to_string(old.value.size()) + " bytes)");
  if (old.index + old.value.size() >= info.strtab_size || old.file_offset != info.strtab_offset + old.index)
    throw ElfRewriteError(name, tag, old.value, new_value, "the string does not belong to this file's string table");
  // A linker may store a shorter string as the tail of a longer one (suffix
  // merging); rewriting the longer one would silently change the shorter.
  auto it = std::upper_bound(info.string_refs.begin(), info.string_refs.end(), old.index);
  if (it != info.string_refs.end() && *it < old.index + old.value.size())
    throw ElfRewriteError(name, tag, old.value, new_value,
                          "another string (at index " + std::to_string(*it) + ") shares its bytes");
}

namespace {
std::vector<uint8_t> padded(const DynString& old, const std::string& new_value) {
  std::vector<uint8_t> bytes(old.value.size() + 1, 0);
  std::memcpy(bytes.data(), new_value.data(), new_value.size());
  return bytes;
}
}  // namespace

void rewrite_string(std::span<uint8_t> file, const DynamicInfo& info, const DynString& old,
                    const std::string& new_value, const std::string& tag, const std::string& name) {
  check_rewrite(info, old, new_value, tag, name);
  auto bytes = padded(old, new_value);
  if (old.file_offset > file.size() || bytes.size() > file.size() - old.file_offset)
    throw ElfRewriteError(name, tag, old.value, new_value, "the string lies beyond the end of the buffer");
  // Read-modify-write: the bytes must still be the string we planned on.
  if (std::memcmp(file.data() + old.file_offset, old.value.c_str(), old.value.size() + 1) != 0)
    throw ElfRewriteError(name, tag, old.value, new_value, "the file changed since it was read");
  std::memcpy(file.data() + old.file_offset, bytes.data(), bytes.size());
}

void rewrite_string_file(const std::string& path, const DynamicInfo& info, const DynString& old,
                         const std::string& new_value, const std::string& tag) {
  check_rewrite(info, old, new_value, tag, path);
  auto bytes = padded(old, new_value);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) throw_errno("cannot open for writing", path);
  std::vector<uint8_t> cur(bytes.size());
  ssize_t n = ::pread(fd.get(), cur.data(), cur.size(), static_cast<off_t>(old.file_offset));
  if (n < 0) throw_errno("read failed", path);
  if (static_cast<size_t>(n) != cur.size() || std::memcmp(cur.data(), old.value.c_str(), cur.size()) != 0)
    throw ElfRewriteError(path, tag, old.value, new_value, "the file changed since it was read");
  n = ::pwrite(fd.get(), bytes.data(), bytes.size(), static_cast<off_t>(old.file_offset));
  if (n < 0) throw_errno("write failed", path);
  if (static_cast<size_t>(n) != bytes.size()) throw Error(Exit::kUsage, path + ": short write while patching " + tag);
  if (::close(fd.release()) != 0) throw_errno("close failed", path);
}

namespace {
void pwrite_all(int fd, std::span<const uint8_t> bytes, uint64_t off, const std::string& path, const std::string& tag) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("write failed", path);
    if (n == 0) throw Error(Exit::kUsage, path + ": short write while patching " + tag);
    done += static_cast<size_t>(n);
  }
}
}  // namespace

void rewrite_interp_file(const std::string& path, const std::string& expected_old, const std::string& new_value) {
  const std::string tag = "PT_INTERP";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) throw_errno("cannot open for writing", path);
  Input in = fd_input(fd.get(), path);
  auto interp = read_interp(in, read_phdrs(in, read_ehdr(in)));
  if (!interp) throw ElfError(path, "no PT_INTERP segment to rewrite");
  // Read-modify-write: the segment must still hold the string we planned on.
  if (interp->value != expected_old)
    throw ElfRewriteError(path, tag, expected_old, new_value,
                          "the file changed since it was read (its PT_INTERP is now " + quote(interp->value) + ")");
  if (new_value.find('\0') != std::string::npos)
    throw ElfRewriteError(path, tag, expected_old, new_value, "the new value contains a NUL byte");
  if (new_value.size() + 1 > interp->size)
    throw ElfRewriteError(path, tag, expected_old, new_value,
                          "the new value (" + std::to_string(new_value.size()) +
                              " bytes) does not fit: PT_INTERP holds " + std::to_string(interp->size - 1) +
                              " bytes and a NUL");
  // The kernel reads the interpreter up to its first NUL: pad the rest.
  std::vector<uint8_t> bytes(interp->size, 0);
  std::memcpy(bytes.data(), new_value.data(), new_value.size());
  pwrite_all(fd.get(), bytes, interp->file_offset, path, tag);
  if (::close(fd.release()) != 0) throw_errno("close failed", path);
}

}  // namespace airlock::elf
