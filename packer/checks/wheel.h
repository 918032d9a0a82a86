// Reading wheels (PEP 427 zip files) and installed distributions' core
// metadata (PEP 566/643 "METADATA", an RFC 822-style header block) without
// running Python: name, version, licence fields, Requires-Dist, WHEEL tags,
// and the ELF members a wheel would install, for the shared-library doctor.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace airlock::packer {

// A wheel that cannot be read: "reading wheel PATH: ...", exit 2.
class WheelError : public Error {
 public:
  WheelError(const std::string& path, const std::string& what);
};

// Core metadata fields we use. Multi-use fields keep their order.
struct Metadata {
  std::string name, version;
  std::string license;             // License: (may be a whole licence text)
  std::string license_expression;  // License-Expression: (metadata 2.4)
  std::vector<std::string> classifiers;
  std::vector<std::string> requires_dist;
};

// Parses the header block of a METADATA / PKG-INFO file; the body after the
// first empty line (the long description) is ignored.
Metadata parse_metadata(std::string_view text);

// One Requires-Dist entry, split: "b[x] (>=1) ; python_version < '3.9'".
struct Requirement {
  std::string name;       // as written
  std::string specifier;  // ">=1", may be empty
  std::string marker;     // after ';', may be empty
  bool only_for_extra() const;  // the marker names an extra: an optional dependency
};
Requirement parse_requirement(std::string_view line);

// PEP 503 normalised project name: lower case, runs of -_. become one '-'.
std::string normalize_name(std::string_view name);

// Licence strings a person would recognise, from License-Expression, else
// a one-line License field and the "License ::" classifiers.
std::vector<std::string> license_names(const Metadata& m);

struct WheelInfo {
  std::string path;      // as found
  std::string filename;  // basename
  std::string sha256;    // hex of the whole file
  uint64_t size = 0;
  Metadata metadata;
  std::vector<std::string> tags;  // WHEEL "Tag:" lines, e.g. "cp312-cp312-linux_x86_64"
  bool root_is_purelib = true;
  std::vector<std::string> elf_members;  // zip member names that start with the ELF magic
};

// Reads a wheel: hashes the file, parses NAME.dist-info/METADATA and WHEEL,
// and notes which members are ELF files. When `on_elf` is set it is called
// once per ELF member with its name and whole contents (one at a time).
using ElfVisitor = std::function<void(const std::string& member, std::span<const uint8_t> bytes)>;
WheelInfo read_wheel(const std::string& path, const ElfVisitor& on_elf = {});

// Where a wheel member lands under the install scheme, relative to the
// environment prefix: "pkg/x.so" -> "<site_packages>/pkg/x.so";
// "NAME.data/purelib|platlib/..." -> site-packages, ".../scripts/x" ->
// "bin/x", ".../data/x" -> "x", ".../headers/x" -> "include/<name>/x".
std::string install_path(const std::string& member, const std::string& site_packages,
                         const std::string& dist_name);

// The endings of the source distributions a wheelhouse may hold: the check
// finds them (an error without --allow-sdist), the pack carries them.
inline constexpr std::string_view kSdistExtensions[] = {".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip"};

// Files of a wheelhouse directory, sorted by name.
struct Wheelhouse {
  std::vector<std::string> wheels;  // *.whl
  std::vector<std::string> sdists;  // names ending in one of kSdistExtensions
};
Wheelhouse list_wheelhouse(const std::string& dir);

// The name part of an sdist or wheel file name, normalised ("Foo_Bar-1.0.tar.gz" -> "foo-bar").
std::string dist_name_from_filename(const std::string& filename);

}  // namespace airlock::packer
