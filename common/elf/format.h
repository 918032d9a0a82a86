// ELF64 little-endian wire layout: the identification bytes, the file
// header, program headers, section headers, dynamic entries and symbols, as
// the System V ABI (gABI, "ELF-64 Object File Format") lays them out. Only
// what reading DT_NEEDED / DT_RPATH / DT_RUNPATH / DT_SONAME needs.
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

// p_type
inline constexpr uint32_t kPtLoad = 1;
inline constexpr uint32_t kPtDynamic = 2;

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

}  // namespace airlock::elf::format
