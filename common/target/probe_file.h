// The probe file: what `unpacker probe` read on the secure node itself, for
// `packer check|pack --target FILE` on the connected side.
//
// Text, UTF-8, LF, `key: value` lines (DESIGN.md, "The secure node's
// operating system"):
//
//   format: airlock-probe/1
//   created: 2026-12-01T16:00:00Z
//   host: node7
//   os: Debian GNU/Linux 11 (bullseye)
//   kernel: 5.10.0
//   arch: x86_64
//   glibc: 2.31
//   lib: libc.so.6 /lib/x86_64-linux-gnu/libc.so.6 GLIBC_2.2.5 GLIBC_2.2.6 ... GLIBC_PRIVATE
//   lib: libz.so.1 /lib/x86_64-linux-gnu/libz.so.1 ZLIB_1.2.0 ...
//
// One `lib:` line per shared library the node's loader finds (its
// ld.so.cache and default directories): the soname, the path, then the
// symbol versions it defines (none for an unversioned library). Unknown
// keys are ignored, so later probes can say more.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace airlock::target {

inline constexpr std::string_view kProbeFormat = "airlock-probe/1";

struct ProbeLib {
  std::string soname;
  std::string path;
  std::vector<std::string> versions;  // defined symbol versions
};

struct ProbeFile {
  std::string created;  // RFC 3339 UTC
  std::string host;
  std::string os;       // PRETTY_NAME of /etc/os-release, or "unknown"
  std::string kernel;   // "5.10.0" (uname release, up to the first non-version character)
  std::string arch;     // "x86_64"
  std::string glibc;    // "2.31": the release the node's libc.so.6 names, at least the highest GLIBC_2.x glibc's libraries define
  std::vector<ProbeLib> libs;
};

// "reading probe file NAME: line N: ...", exit 2.
class ProbeFileError : public Error {
 public:
  ProbeFileError(const std::string& name, const std::string& what);
};

std::string format_probe(const ProbeFile& p);
// Strict: the first line must be `format: airlock-probe/1`; glibc, arch,
// kernel and os are required; malformed lines are errors naming the line.
ProbeFile parse_probe(std::string_view text, const std::string& name);
// One line a person can read off the node's screen and type on the
// connected side, e.g.
// "glibc 2.31, x86_64, kernel 5.10.0, Debian GNU/Linux 11 (bullseye), 112 libraries: use --target glibc-2.31 (or carry this file and use --target FILE)"
std::string probe_summary(const ProbeFile& p);

}  // namespace airlock::target
