// unpacker link-test
#include "common/error.h"
#include "unpacker/commands.h"

namespace airlock::unpacker {

Command link_test_command() {
  return {"link-test", "Load every shared object of an unpacked environment", [](CLI::App&) -> std::function<int()> {
            return []() -> int { throw Error(Exit::kUsage, "link-test: not built yet"); };
          }};
}

}  // namespace airlock::unpacker
