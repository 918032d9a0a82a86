// /etc/ld.so.conf: the directories ldconfig puts into the loader's cache,
// read the way glibc's ldconfig reads it (elf/ldconfig.c, parse_conf):
// one directory a line, '#' starts a comment, `include PATTERN...` reads
// the files a glob matches (relative to the including file's directory),
// `hwcap` lines are ignored.
#pragma once

#include <string>
#include <vector>

#include "common/target/node_root.h"

namespace airlock::target {

struct LdSoConf {
  std::vector<std::string> dirs;      // absolute, in order, without duplicates
  std::vector<std::string> warnings;  // "/etc/ld.so.conf.d/x.conf:3: ..."
};

// Reads `path` and what it includes inside `root`. A missing file is no
// directory and no warning; anything unreadable or odd is a warning, never
// an error, since the probe still has the default directories.
LdSoConf read_ld_so_conf(const NodeRoot& root, const std::string& path = "/etc/ld.so.conf");

}  // namespace airlock::target
