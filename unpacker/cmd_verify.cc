// PLACEHOLDER: replaced by the real subcommand.
#include "unpacker/commands.h"
#include "common/error.h"

namespace airlock::unpacker {
Command verify_command() {
  return {"verify", "(in progress)", [](CLI::App&) -> std::function<int()> {
            return []() -> int { throw Error(Exit::kUsage, "verify: in progress"); };
          }};
}
}  // namespace airlock::unpacker
