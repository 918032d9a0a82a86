// PLACEHOLDER: replaced by the real subcommand.
#include "packer/commands.h"
#include "common/error.h"

namespace airlock::packer {
Command check_command() {
  return {"check", "(in progress)", [](CLI::App&) -> std::function<int()> {
            return []() -> int { throw Error(Exit::kUsage, "check: in progress"); };
          }};
}
}  // namespace airlock::packer
