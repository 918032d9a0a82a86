// The unpacker's subcommands; each lives in its own cmd_*.cc.
#pragma once
#include "common/cli.h"

namespace airlock::unpacker {
Command keygen_command();
Command verify_command();
Command list_command();
Command unpack_command();
Command decrypt_command();
Command audit_verify_command();
Command probe_command();      // cmd_probe.cc
Command link_test_command();  // cmd_link_test.cc
Command verify_volume_command();  // cmd_verify_volume.cc
Command verify_tree_command();  // cmd_verify_tree.cc
}  // namespace airlock::unpacker
