#include "packer/platform_tags.h"

namespace airlock::packer {

std::vector<std::string> manylinux_platforms(const Target&) { return {}; }
std::vector<std::string> target_pip_args(const Target&, const PythonInfo&) { return {}; }

}  // namespace airlock::packer
