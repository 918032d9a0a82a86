// The packer's subcommands; each lives in its own cmd_*.cc.
#pragma once
#include "common/cli.h"

namespace airlock::packer {
Command keygen_command();
Command pack_command();
Command check_command();
Command split_command();  // cmd_split.cc
Command label_command();
}  // namespace airlock::packer
