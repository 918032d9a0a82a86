// PLACEHOLDER: replaced by the real subcommand.
#include "packer/commands.h"
#include "common/error.h"

namespace airlock::packer {
Command pack_command() {
  return {"pack", "(in progress)", [](CLI::App&) -> std::function<int()> {
            return []() -> int { throw Error(Exit::kUsage, "pack: in progress"); };
          }};
}
}  // namespace airlock::packer
