// packer: runs on the connected node and seals a Python environment into
// one bundle. All logic is in packer_core and common; this is the table.
#include "packer/commands.h"

int main(int argc, char** argv) {
  using namespace airlock::packer;
  const airlock::Command commands[] = {keygen_command(), check_command(), pack_command(), label_command(),
                                       split_command()};
  return airlock::run_main("packer",
                           "packer: seal a Python environment and its wheels into one signed, "
                           "encrypted bundle for an air-gapped node.\n"
                           "Start with 'packer keygen -o signing.key', then 'packer pack --help'.",
                           commands, argc, argv);
}
