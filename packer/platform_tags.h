// The wheel platform tags a target accepts, as pip's options: pip is asked
// for wheels that run on the secure node, not on this host.
#pragma once

#include <string>
#include <vector>

#include "packer/environment.h"
#include "packer/target.h"

namespace airlock::packer {

// manylinux_2_Y_<arch> for Y from the target's glibc down to 17, then the
// legacy aliases (manylinux2014, manylinux2010, manylinux1) that pip does
// not expand by itself.
std::vector<std::string> manylinux_platforms(const Target& t);

// --only-binary=:all: --python-version X.Y --implementation cp --abi TAG
// --platform P (for every P above): for pip download and the rehearsal.
std::vector<std::string> target_pip_args(const Target& t, const PythonInfo& py);

}  // namespace airlock::packer
