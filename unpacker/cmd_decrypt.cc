// PLACEHOLDER: replaced by the real subcommand.
#include "unpacker/commands.h"
#include "common/error.h"

namespace airlock::unpacker {
Command decrypt_command() {
  return {"decrypt", "(in progress)", [](CLI::App&) -> std::function<int()> {
            return []() -> int { throw Error(Exit::kUsage, "decrypt: in progress"); };
          }};
}
}  // namespace airlock::unpacker
