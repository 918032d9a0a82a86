// `unpacker unpack`, in the order of DESIGN.md: verify -> print the label
// -> check free space -> decrypt + decompress + extract into a staging
// directory beside DEST -> check against the manifest -> relocate -> rename
// staging to DEST -> offline pip install -> link test (unpacker/runtime/link_test.h)
// -> record the installed tree (unpacker/install/installed_tree.h).
// Each step is audited; any failure before the rename leaves no DEST and no
// staging. A failed install or link test leaves DEST (its files verified)
// in place: exit 4.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "common/cli.h"

namespace airlock::unpacker {

struct UnpackOptions {
  std::vector<std::string> public_keys;
  std::vector<std::string> identities;
  std::string passphrase_file;
  std::string bundle, dest, audit_log;
  bool no_install = false;
  bool no_link_test = false;
  std::vector<std::string> link_test_skip;  // globs relative to DEST/env
  unsigned threads = 0;
  OutputOptions out;
};

// Returns the exit status (0); throws Error otherwise.
int run_unpack(const UnpackOptions& o);

struct ListOptions {
  std::vector<std::string> public_keys;
  std::vector<std::string> identities;
  std::string passphrase_file;
  std::string bundle, audit_log;
  bool sbom = false;
  OutputOptions out;
};

int run_list(const ListOptions& o);

}  // namespace airlock::unpacker
