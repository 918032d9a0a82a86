// unpacker: the only airlock program on the secure node. Statically linked.
// All logic is in unpacker_core and common; this is the table.
#include "unpacker/commands.h"

int main(int argc, char** argv) {
  using namespace airlock::unpacker;
  const airlock::Command commands[] = {keygen_command(),  verify_command(),  verify_volume_command(), list_command(),
                                       unpack_command(),  decrypt_command(), audit_verify_command(),
                                       link_test_command(), probe_command(),
                                       verify_tree_command()};
  return airlock::run_main("unpacker",
                           "unpacker: verify, decrypt and install an airlock bundle on the secure node.\n"
                           "Start with 'unpacker keygen -o node.key' and give the printed age1... "
                           "recipient to whoever packs for you.",
                           commands, argc, argv);
}
