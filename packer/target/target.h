// The secure node's operating system, as far as the packer can know it:
// `--target` names a preset, `glibc-X.Y`, or a probe file written by
// `unpacker probe` on the node (DESIGN.md, "The secure node's operating
// system"). The doctor judges every ELF file against it: the symbol
// versions it needs from the node's C and C++ runtime, and every library
// that neither the environment nor the node provides.
//
// What a target is assumed to provide:
//  - a probe file: exactly the libraries it lists, each with the versions
//    it defines;
//  - a preset or glibc-X.Y: glibc's own libraries up to that version, the
//    C++ runtime (libstdc++, libgcc_s) of the compiler that release ships,
//    and the rest of the manylinux baseline (libz, libX11, ...) by name
//    only, as auditwheel's policy assumes.
#pragma once

#include <compare>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::packer {

// A dotted version as symbol versions spell them: "2.28", "3.4.25", "1.3.11".
struct DotVersion {
  std::vector<int> parts;
  static std::optional<DotVersion> parse(std::string_view s);
  std::string str() const;
  auto operator<=>(const DotVersion& o) const { return parts <=> o.parts; }
  bool operator==(const DotVersion& o) const = default;
  bool empty() const { return parts.empty(); }
};

// A symbol version split into its family and number: "GLIBC_2.34" ->
// {"GLIBC", 2.34}. Families judged against the node: GLIBC, GLIBCXX,
// CXXABI, GCC. nullopt for other names (GLIBC_PRIVATE, ZLIB_1.2.9 is
// {"ZLIB", 1.2.9} but not judged).
struct SymbolVersion {
  std::string family;
  DotVersion version;
  static std::optional<SymbolVersion> parse(std::string_view name);
  std::string str() const { return family + "_" + version.str(); }
};

enum class TargetSource { kPreset, kGlibc, kProbe };

struct Target {
  std::string name;   // "rhel8", "glibc-2.31", or the probe file's path
  TargetSource source = TargetSource::kPreset;
  DotVersion glibc;   // 2.28
  std::string arch = "x86_64";
  std::string kernel;  // "3.10" where known (presets, probe)
  std::string os;      // where known
  std::string host;    // a probe file's host name
  // C++ runtime assumed (presets and glibc-X.Y): the highest version of each
  // family that libstdc++.so.6 / libgcc_s.so.1 define.
  DotVersion glibcxx, cxxabi, gcc;
  // A probe file: soname -> (path, defined versions).
  struct Lib {
    std::string path;
    std::vector<std::string> versions;
  };
  std::map<std::string, Lib> libs;

  // "rhel8 (glibc 2.28)"; for a probe file: its os, glibc and path:
  // "Debian GNU/Linux 11 (bullseye) (glibc 2.31, probe file node.probe)".
  std::string label() const;
  // How findings name it: "rhel8", "glibc-2.31", "the node vm" (a probe).
  std::string who() const;

  // Whether the node provides `soname`, and which of `needed` (symbol
  // versions this bundle needs from it) it lacks.
  struct Provision {
    bool present = false;     // the node has a library of that name
    bool assumed = false;     // present by the baseline's word, not seen (presets)
    std::vector<std::string> missing_versions;
  };
  Provision provides(const std::string& soname, const std::vector<std::string>& needed) const;
};

// Parses --target: a preset name, "glibc-X.Y", or the path of a probe file
// (anything with a '/' or naming an existing file). Throws Error (exit 2)
// naming the presets for an unknown name, and the line for a bad probe file.
Target resolve_target(const std::string& spec);

// The preset names, for --help and errors.
std::vector<std::string> target_presets();

// glibc's own shared libraries (libc.so.6, libm.so.6, libpthread.so.0, ...,
// the dynamic loader): what a node's C library provides and what --portable
// carries when it carries the C runtime.
bool is_glibc_library(const std::string& soname);

}  // namespace airlock::packer
