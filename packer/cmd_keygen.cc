// PLACEHOLDER: replaced by the real subcommand.
#include "packer/commands.h"
#include "common/error.h"

namespace airlock::packer {
Command keygen_command() {
  return {"keygen", "(in progress)", [](CLI::App&) -> std::function<int()> {
            return []() -> int { throw Error(Exit::kUsage, "keygen: in progress"); };
          }};
}
}  // namespace airlock::packer
