// unpacker probe
#include "common/error.h"
#include "unpacker/commands.h"

namespace airlock::unpacker {

Command probe_command() {
  return {"probe", "Describe this node (glibc, libraries) for packer --target", [](CLI::App&) -> std::function<int()> {
            return []() -> int { throw Error(Exit::kUsage, "probe: not built yet"); };
          }};
}

}  // namespace airlock::unpacker
