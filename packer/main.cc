// packer: runs on the connected node and seals a Python environment into
// one bundle. All logic is in packer_core and common; this is the table.
#include <archive.h>

#include "common/build_info.h"
#include "packer/commands.h"

namespace {

// libarchive reads the wheels (zip) for the checks: the packer's alone (the
// unpacker reads its payload tar itself and links none of it).
std::string libarchive_line() {
  std::string v = ::archive_version_details();  // "libarchive 3.6.2 zlib/1.2.13 ..."
  if (v.starts_with("libarchive ")) v.erase(0, 11);
  return airlock::build_info_line("libarchive", v);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace airlock::packer;
  const airlock::Command commands[] = {keygen_command(), check_command(), pack_command(), label_command(),
                                       split_command()};
  return airlock::run_main("packer",
                           "packer: seal a Python environment and its wheels into one signed, "
                           "encrypted bundle for an air-gapped node.\n"
                           "Start with 'packer keygen -o signing.key', then 'packer pack --help'.",
                           commands, argc, argv, libarchive_line);
}
