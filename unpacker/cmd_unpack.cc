// PLACEHOLDER: replaced by the real subcommand.
#include "unpacker/commands.h"
#include "common/error.h"

namespace airlock::unpacker {
Command unpack_command() {
  return {"unpack", "(in progress)", [](CLI::App&) -> std::function<int()> {
            return []() -> int { throw Error(Exit::kUsage, "unpack: in progress"); };
          }};
}
}  // namespace airlock::unpacker
