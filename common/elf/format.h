// ELF64 little-endian wire layout: the identification bytes, the file
// header, program headers, section headers, dynamic entries and symbols, as
// the System V ABI (gABI, "ELF-64 Object File Format") lays them out, and
// the GNU extensions the loader checks (symbol versions, the ABI note). Only
// what reading DT_NEEDED / DT_RPATH / DT_RUNPATH / DT_SONAME, PT_INTERP,
// DT_VERNEED / DT_VERDEF and NT_GNU_ABI_TAG needs.
//
// The structs are read with memcpy from byte buffers (never by casting a
// pointer into the file), so alignment of the input does not matter; the
// host is required to be little-endian like the files we accept.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace airlock::elf::format {

static_assert(std::endian::native == std::endian::little,
              "ELF64 LE structs are read by memcpy: the host must be little-endian");

// e_ident
inline constexpr uint8_t kMagic[4] = {0x7f, 'E', 'L', 'F'};
inline constexpr size_t kIdentSize = 16;
inline constexpr size_t kEiClass = 4;
inline constexpr size_t kEiData = 5;
inline constexpr size_t kEiVersion = 6;
inline constexpr uint8_t kClass32 = 1;
inline constexpr uint8_t kClass64 = 2;
inline constexpr uint8_t kData2Lsb = 1;  // little-endian
inline constexpr uint8_t kData2Msb = 2;  // big-endian
inline constexpr uint8_t kVersionCurrent = 1;

// e_type
inline constexpr uint16_t kEtRel = 1;
inline constexpr uint16_t kEtExec = 2;
inline constexpr uint16_t kEtDyn = 3;
inline constexpr uint16_t kEtCore = 4;

// e_phnum: the real count is in section header 0's sh_info
inline constexpr uint16_t kPnXnum = 0xffff;

// p_type
inline constexpr uint32_t kPtLoad = 1;
inline constexpr uint32_t kPtDynamic = 2;
inline constexpr uint32_t kPtInterp = 3;
inline constexpr uint32_t kPtNote = 4;

// sh_type
inline constexpr uint32_t kShtDynsym = 11;

// d_tag
inline constexpr int64_t kDtNull = 0;
inline constexpr int64_t kDtNeeded = 1;
inline constexpr int64_t kDtStrtab = 5;
inline constexpr int64_t kDtStrsz = 10;
inline constexpr int64_t kDtSoname = 14;
inline constexpr int64_t kDtRpath = 15;
inline constexpr int64_t kDtRunpath = 29;
inline constexpr int64_t kDtVerdef = 0x6ffffffc;
inline constexpr int64_t kDtVerdefnum = 0x6ffffffd;
inline constexpr int64_t kDtVerneed = 0x6ffffffe;
inline constexpr int64_t kDtVerneednum = 0x6fffffff;

// vn_version / vd_version: the only revision there is
inline constexpr uint16_t kVerNeedCurrent = 1;
inline constexpr uint16_t kVerDefCurrent = 1;
// vd_flags: the entry names the file itself, not a version
inline constexpr uint16_t kVerFlgBase = 0x1;

// NT_GNU_ABI_TAG (.note.ABI-tag): name "GNU\0", desc = os, major, minor,
// patch as four u32; os 0 is Linux.
inline constexpr uint32_t kNtGnuAbiTag = 1;
inline constexpr char kNoteNameGnu[4] = {'G', 'N', 'U', '\0'};
inline constexpr uint32_t kGnuAbiTagLinux = 0;

struct Ehdr {
  uint8_t e_ident[kIdentSize];
  uint16_t e_type;
  uint16_t e_machine;
  uint32_t e_version;
  uint64_t e_entry;
  uint64_t e_phoff;
  uint64_t e_shoff;
  uint32_t e_flags;
  uint16_t e_ehsize;
  uint16_t e_phentsize;
  uint16_t e_phnum;
  uint16_t e_shentsize;
  uint16_t e_shnum;
  uint16_t e_shstrndx;
};
static_assert(sizeof(Ehdr) == 64);
static_assert(offsetof(Ehdr, e_phoff) == 32);
static_assert(offsetof(Ehdr, e_phnum) == 56);

struct Phdr {
  uint32_t p_type;
  uint32_t p_flags;
  uint64_t p_offset;
  uint64_t p_vaddr;
  uint64_t p_paddr;
  uint64_t p_filesz;
  uint64_t p_memsz;
  uint64_t p_align;
};
static_assert(sizeof(Phdr) == 56);

struct Shdr {
  uint32_t sh_name;
  uint32_t sh_type;
  uint64_t sh_flags;
  uint64_t sh_addr;
  uint64_t sh_offset;
  uint64_t sh_size;
  uint32_t sh_link;
  uint32_t sh_info;
  uint64_t sh_addralign;
  uint64_t sh_entsize;
};
static_assert(sizeof(Shdr) == 64);

struct Dyn {
  int64_t d_tag;
  uint64_t d_val;  // d_un: d_val or d_ptr
};
static_assert(sizeof(Dyn) == 16);

struct Sym {
  uint32_t st_name;
  uint8_t st_info;
  uint8_t st_other;
  uint16_t st_shndx;
  uint64_t st_value;
  uint64_t st_size;
};
static_assert(sizeof(Sym) == 24);

// .gnu.version_r (DT_VERNEED): one Verneed per needed file, each followed
// (at vn_aux) by vn_cnt Vernaux, one per version; both chained by byte
// offsets from the record itself, 0 ending the chain.
struct Verneed {
  uint16_t vn_version;
  uint16_t vn_cnt;
  uint32_t vn_file;  // dynamic string table index
  uint32_t vn_aux;
  uint32_t vn_next;
};
static_assert(sizeof(Verneed) == 16);

struct Vernaux {
  uint32_t vna_hash;
  uint16_t vna_flags;
  uint16_t vna_other;
  uint32_t vna_name;  // dynamic string table index
  uint32_t vna_next;
};
static_assert(sizeof(Vernaux) == 16);

// .gnu.version_d (DT_VERDEF): one Verdef per version defined; its first
// Verdaux names it, the others name its parents.
struct Verdef {
  uint16_t vd_version;
  uint16_t vd_flags;
  uint16_t vd_ndx;
  uint16_t vd_cnt;
  uint32_t vd_hash;
  uint32_t vd_aux;
  uint32_t vd_next;
};
static_assert(sizeof(Verdef) == 20);

struct Verdaux {
  uint32_t vda_name;  // dynamic string table index
  uint32_t vda_next;
};
static_assert(sizeof(Verdaux) == 8);

// A note's header; the name (namesz bytes) and the descriptor (descsz
// bytes) follow, each padded to the segment's alignment (4, or 8 for
// notes such as NT_GNU_PROPERTY_TYPE_0 in a segment aligned to 8).
struct Nhdr {
  uint32_t n_namesz;
  uint32_t n_descsz;
  uint32_t n_type;
};
static_assert(sizeof(Nhdr) == 12);

}  // namespace airlock::elf::format
