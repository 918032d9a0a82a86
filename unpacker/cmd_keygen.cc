// PLACEHOLDER: replaced by the real subcommand.
#include "unpacker/commands.h"
#include "common/error.h"

namespace airlock::unpacker {
Command keygen_command() {
  return {"keygen", "(in progress)", [](CLI::App&) -> std::function<int()> {
            return []() -> int { throw Error(Exit::kUsage, "keygen: in progress"); };
          }};
}
}  // namespace airlock::unpacker
