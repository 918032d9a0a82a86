#include "common/elf/elf.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>

#include "common/elf/format.h"
#include "common/io.h"

namespace airlock::elf {

namespace fmt = format;

ElfError::ElfError(const std::string& path, const std::string& what)
    : Error(Exit::kUsage, "reading ELF file " + path + ": " + what) {}

ElfRewriteError::ElfRewriteError(const std::string& path, const std::string& tag, const std::string& old_value,
                                 const std::string& new_value, const std::string& why)
    : Error(Exit::kUsage,
            path + ": cannot rewrite " + tag + " in place: '" + old_value + "' -> '" + new_value + "': " + why,
            "the file keeps an absolute " + tag + "; rebuild it with -Wl,-rpath,'$ORIGIN/...' or set "
            "LD_LIBRARY_PATH on the secure side"),
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

// Random access to the file's bytes, from memory or with pread.
struct Input {
  std::string name;
  uint64_t size = 0;
  std::function<void(uint64_t, std::span<uint8_t>)> read_raw;

  // Reads [off, off+out.size()) after checking it lies inside the file.
  void read(uint64_t off, std::span<uint8_t> out, const char* what) const {
    if (off > size || out.size() > size - off)
      throw ElfError(name, std::string(what) + " at offset " + std::to_string(off) + " (+" +
                               std::to_string(out.size()) + ") lies beyond the end of the file (" +
                               std::to_string(size) + " bytes)");
    read_raw(off, out);
  }
  template <class T>
  T read_struct(uint64_t off, const char* what) const {
    T t;
    read(off, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&t), sizeof(T)), what);
    return t;
  }
};

DynamicInfo parse(const Input& in) {
  uint8_t ident[fmt::kIdentSize] = {};
  in.read(0, std::span<uint8_t>(ident, std::min<uint64_t>(fmt::kIdentSize, in.size)), "ELF identification");
  Probe p = probe(std::span<const uint8_t>(ident, std::min<uint64_t>(fmt::kIdentSize, in.size)));
  if (p.kind == Kind::kNotElf) throw ElfError(in.name, "not an ELF file (no \\x7fELF magic)");
  if (p.kind == Kind::kUnsupported) throw ElfError(in.name, p.reason);

  auto eh = in.read_struct<fmt::Ehdr>(0, "ELF header");
  DynamicInfo info;

  // Section headers are optional; when present they must be well formed.
  std::vector<fmt::Shdr> shdrs;
  if (eh.e_shoff != 0 && eh.e_shnum != 0) {
    if (eh.e_shentsize != sizeof(fmt::Shdr))
      throw ElfError(in.name, "section header size " + std::to_string(eh.e_shentsize) + ", expected 64");
    shdrs.resize(eh.e_shnum);
    in.read(eh.e_shoff, std::span<uint8_t>(reinterpret_cast<uint8_t*>(shdrs.data()), shdrs.size() * sizeof(fmt::Shdr)),
            "section headers");
  }

  uint64_t phnum = eh.e_phnum;
  if (phnum == 0xffff) {  // PN_XNUM: the real count is in section 0's sh_info
    if (shdrs.empty()) throw ElfError(in.name, "e_phnum is PN_XNUM but there are no section headers");
    phnum = shdrs[0].sh_info;
  }
  if (phnum == 0) return info;  // object file: no segments, nothing loaded
  if (eh.e_phentsize != sizeof(fmt::Phdr))
    throw ElfError(in.name, "program header size " + std::to_string(eh.e_phentsize) + ", expected 56");
  std::vector<fmt::Phdr> phdrs(phnum);
  in.read(eh.e_phoff, std::span<uint8_t>(reinterpret_cast<uint8_t*>(phdrs.data()), phdrs.size() * sizeof(fmt::Phdr)),
          "program headers");

  const fmt::Phdr* dyn_ph = nullptr;
  for (const auto& ph : phdrs)
    if (ph.p_type == fmt::kPtDynamic) {
      if (dyn_ph) throw ElfError(in.name, "more than one PT_DYNAMIC segment");
      dyn_ph = &ph;
    }
  if (!dyn_ph) return info;  // statically linked
  info.has_dynamic = true;

  uint64_t ndyn = dyn_ph->p_filesz / sizeof(fmt::Dyn);
  if (ndyn > kMaxDynEntries) throw ElfError(in.name, "PT_DYNAMIC has " + std::to_string(ndyn) + " entries");
  std::vector<fmt::Dyn> dyns(ndyn);
  in.read(dyn_ph->p_offset, std::span<uint8_t>(reinterpret_cast<uint8_t*>(dyns.data()), dyns.size() * sizeof(fmt::Dyn)),
          "dynamic section");

  std::optional<uint64_t> strtab_vaddr, strsz;
  size_t end = dyns.size();
  for (size_t i = 0; i < dyns.size(); ++i) {
    const auto& d = dyns[i];
    if (d.d_tag == fmt::kDtNull) { end = i; break; }
    if (d.d_tag == fmt::kDtStrtab) strtab_vaddr = d.d_val;
    if (d.d_tag == fmt::kDtStrsz) strsz = d.d_val;
  }
  bool uses_strings = false;
  for (size_t i = 0; i < end; ++i) {
    auto t = dyns[i].d_tag;
    if (t == fmt::kDtNeeded || t == fmt::kDtSoname || t == fmt::kDtRpath || t == fmt::kDtRunpath) uses_strings = true;
  }
  if (!uses_strings) return info;
  if (!strtab_vaddr || !strsz) throw ElfError(in.name, "dynamic entries name strings but DT_STRTAB/DT_STRSZ is missing");
  if (*strsz > kMaxTable) throw ElfError(in.name, "DT_STRSZ of " + std::to_string(*strsz) + " bytes");

  // The loader sees DT_STRTAB as a virtual address: map it through the
  // PT_LOAD segment that contains it, and require the whole table to be
  // file-backed inside that segment.
  bool mapped = false;
  for (const auto& ph : phdrs) {
    if (ph.p_type != fmt::kPtLoad) continue;
    if (*strtab_vaddr < ph.p_vaddr || *strtab_vaddr - ph.p_vaddr >= ph.p_filesz) continue;
    uint64_t delta = *strtab_vaddr - ph.p_vaddr;
    if (*strsz > ph.p_filesz - delta)
      throw ElfError(in.name, "dynamic string table runs past the end of its PT_LOAD segment");
    info.strtab_offset = ph.p_offset + delta;
    mapped = true;
    break;
  }
  if (!mapped) throw ElfError(in.name, "DT_STRTAB address 0x" + [&] {
                 char b[32];
                 std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(*strtab_vaddr));
                 return std::string(b);
               }() + " is in no PT_LOAD segment");
  info.strtab_size = *strsz;
  std::vector<uint8_t> strtab(*strsz);
  in.read(info.strtab_offset, strtab, "dynamic string table");

  auto string_at = [&](uint64_t idx, const char* tag) {
    if (idx >= strtab.size())
      throw ElfError(in.name, std::string(tag) + " string index " + std::to_string(idx) + " is outside the " +
                                  std::to_string(strtab.size()) + "-byte dynamic string table");
    auto* start = strtab.data() + idx;
    auto* nul = static_cast<const uint8_t*>(std::memchr(start, 0, strtab.size() - idx));
    if (!nul) throw ElfError(in.name, std::string(tag) + " string at index " + std::to_string(idx) + " is not NUL-terminated");
    return std::string(reinterpret_cast<const char*>(start), static_cast<size_t>(nul - start));
  };
  auto dyn_string = [&](uint64_t idx, const char* tag) {
    return DynString{string_at(idx, tag), idx, info.strtab_offset + idx};
  };

  for (size_t i = 0; i < end; ++i) {
    const auto& d = dyns[i];
    switch (d.d_tag) {
      case fmt::kDtNeeded: info.needed.push_back(string_at(d.d_val, "DT_NEEDED")); break;
      case fmt::kDtSoname: info.soname = string_at(d.d_val, "DT_SONAME"); break;
      case fmt::kDtRpath: info.rpath = dyn_string(d.d_val, "DT_RPATH"); break;
      case fmt::kDtRunpath: info.runpath = dyn_string(d.d_val, "DT_RUNPATH"); break;
      default: continue;
    }
    info.string_refs.push_back(d.d_val);
  }

  // Dynamic symbol names share the table; collect them where the section
  // headers say where .dynsym is and that it uses this string table.
  for (const auto& sh : shdrs) {
    if (sh.sh_type != fmt::kShtDynsym || sh.sh_link >= shdrs.size()) continue;
    if (shdrs[sh.sh_link].sh_offset != info.strtab_offset) continue;
    if (sh.sh_size > kMaxTable) throw ElfError(in.name, ".dynsym of " + std::to_string(sh.sh_size) + " bytes");
    std::vector<fmt::Sym> syms(sh.sh_size / sizeof(fmt::Sym));
    in.read(sh.sh_offset, std::span<uint8_t>(reinterpret_cast<uint8_t*>(syms.data()), syms.size() * sizeof(fmt::Sym)),
            ".dynsym");
    for (const auto& s : syms)
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
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno("cannot stat", path);
  Input in{path, static_cast<uint64_t>(st.st_size), [&](uint64_t off, std::span<uint8_t> out) {
             size_t got = 0;
             while (got < out.size()) {
               ssize_t n = ::pread(fd.get(), out.data() + got, out.size() - got, static_cast<off_t>(off + got));
               if (n < 0 && errno == EINTR) continue;
               if (n < 0) throw_errno("read failed", path);
               if (n == 0) throw ElfError(path, "file shrank while being read");
               got += static_cast<size_t>(n);
             }
           }};
  return parse(in);
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

void rewrite_interp_file(const std::string& path, const std::string& expected_old, const std::string& new_value) {
  (void)path, (void)expected_old, (void)new_value;
  throw ElfError(path, "PT_INTERP rewriting is not built yet");
}

}  // namespace airlock::elf
