// The wheel tags a target accepts, as pip's options: pip is asked for
// wheels that run on the secure node, not on this host.
//
// pip's --platform takes a list of exact tags: it expands only the legacy
// chain itself (manylinux2014 -> manylinux2010 -> manylinux1, pip issue
// 10760), never manylinux_2_Y down to older glibcs. So every tag is given,
// in the order packaging.tags lists them on a glibc system of that
// version (newest first, the legacy alias right after its manylinux_2_Y).
//
// What pip accepts these options with (src/pip/_internal/cli/cmdoptions.py,
// check_dist_restriction, and pip's NEWS):
//   - any of them requires --only-binary=:all: (or --no-deps);
//   - `pip install` takes them only with --target before 23.3; since 23.3
//     also with --dry-run (pip issue 12215);
//   - repeated --platform and --abi: 20.3 and later; before, the last one
//     given wins, and manylinux_2_Y tags (PEP 600) are unknown;
//   - a dotted --python-version (3.12): 19.2 and later; before, "312".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "packer/stream/environment.h"
#include "packer/target/target.h"

namespace airlock::packer {

// manylinux_2_Y_<arch> for Y from the target's glibc down to 2_17 (2_5 on
// x86_64 and i686), each legacy alias right after its glibc:
// manylinux2014 (2.17), manylinux2010 (2.12), manylinux1 (2.5). Empty for
// a glibc that is not 2.Y.
std::vector<std::string> manylinux_platforms(const Target& t);

// Every platform tag pip on the node accepts: manylinux_platforms(), then
// linux_<arch> (a wheel built on some Linux; the node's pip takes it, and
// the doctor judges its ELF files against the target).
std::vector<std::string> target_platforms(const Target& t);

// For pip download and the rehearsal, pip 20.3 or later:
//   --only-binary=:all: --python-version X.Y --implementation cp
//   --abi <interpreter's> [--abi abi3] --abi none --platform P...
// (abi3 for CPython with the GIL; none for wheels without an ABI. For
// CPython pip adds both itself, so they change nothing there; for other
// interpreters pip takes exactly the --abi values given, plus none).
std::vector<std::string> target_pip_args(const Target& t, const PythonInfo& py);

// The same request as pip `pip_version` ("23.2.1") understands it. Before
// 20.3: one --abi (the interpreter's) and one --platform, the newest legacy
// alias that pip knows (manylinux2014 from 19.3, manylinux2010 from 19.0,
// else manylinux1), which pip expands itself; before 19.2, --python-version
// without its dot. Unchanged for 20.3 and later, and for an unknown version.
std::vector<std::string> pip_target_args_for(const std::vector<std::string>& args, std::string_view pip_version);

// Whether pip `pip_version` is at least major.minor ("" and junk: no).
bool pip_version_at_least(std::string_view pip_version, int major, int minor);

// The pip options target_pip_args() sets. A user who passes one of them
// along with --target gets an error instead of two answers.
bool is_target_pip_option(std::string_view option);

// Why pip, asked with `args` (target_pip_args), refuses the wheel named
// `filename`: "needs glibc 2.34", "is for aarch64", "is for cp311", ...;
// "" when its tags are accepted or the name is not a wheel's.
std::string wheel_tag_mismatch(const std::string& filename, const std::vector<std::string>& args);

}  // namespace airlock::packer
