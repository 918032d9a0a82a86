// unpacker probe: describes the secure node's operating system for the
// connected side (DESIGN.md, "The secure node's operating system"): its C
// library's version, architecture, kernel and OS name, and every shared
// library its dynamic loader can find with the symbol versions each defines.
//
// Everything comes from the node's own files: its ld.so.cache, the
// directories of its ld.so.conf and the loader's default directories, read
// as ELF. Never from the unpacker itself: it is statically linked, so its
// own C library says nothing about the node's (no gnu_get_libc_version, no
// confstr), and it must not need NSS or dlopen.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/target/probe_file.h"

namespace airlock::unpacker {

// What the probe takes from the running machine rather than the tree.
struct ProbeHost {
  std::string nodename;  // uname -n
  std::string release;   // uname -r
  std::string machine;   // uname -m
  std::time_t now = 0;
  static ProbeHost current();  // uname(2), time(2)
};

struct ProbeResult {
  target::ProbeFile file;
  std::string libc_path;              // the node's libc.so.6, as the node sees it
  std::vector<std::string> warnings;  // a malformed cache, unreadable files, ...
};

// Probes the tree at `root` ("" or "/" for this machine's own). Paths in
// the result are as the node sees them. The glibc version is the release
// its libc.so.6 names in its banner, checked against (and without a banner
// taken from) the highest GLIBC_2.x that glibc's libraries define: a
// release may add no symbol to libc.so.6 itself (2.31's stops at
// GLIBC_2.30). Throws Error (exit 2) when the tree has no libc.so.6 (naming
// where it looked), or its libc.so.6 defines no GLIBC_2.x version.
ProbeResult probe_node(const std::string& root, const ProbeHost& host);

// Pieces, for the tests.
// "6.1.0-18-amd64" -> "6.1.0": the leading digits and dots, without a final dot.
std::string kernel_version(std::string_view release);
// The highest GLIBC_X.Y among symbol versions, as "X.Y"; nullopt when none.
std::optional<std::string> highest_glibc(const std::vector<std::string>& versions);
// The release in libc.so.6's banner ("GNU C Library (Debian GLIBC 2.31-13)
// stable release version 2.31."): "2.31"; nullopt when there is none.
std::optional<std::string> glibc_banner_version(std::string_view libc_bytes);
// PRETTY_NAME from os-release text (shell-style quoting undone); "" when absent.
std::string os_pretty_name(std::string_view os_release);
// Whether a file name is one ldconfig would look at: "lib*" or "ld-*" with ".so" in it.
bool looks_like_library(std::string_view name);

}  // namespace airlock::unpacker
