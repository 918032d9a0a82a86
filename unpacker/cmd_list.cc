// PLACEHOLDER: replaced by the real subcommand.
#include "unpacker/commands.h"
#include "common/error.h"

namespace airlock::unpacker {
Command list_command() {
  return {"list", "(in progress)", [](CLI::App&) -> std::function<int()> {
            return []() -> int { throw Error(Exit::kUsage, "list: in progress"); };
          }};
}
}  // namespace airlock::unpacker
