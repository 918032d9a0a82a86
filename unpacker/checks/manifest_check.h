// Step 5 of the unpack order: the extracted set must equal the signed
// manifest's, and every file's size and SHA-256 must match it. The digests
// come from the extraction pass itself (each file was hashed while it was
// written), so nothing is read twice. Every failure is exit 1.
#pragma once

#include <string>

#include "common/bundle/manifest.h"
#include "unpacker/stream/extract.h"

namespace airlock::unpacker {

// Parses the manifest and checks it against what was extracted and against
// the label's bundle id. Throws Error(kVerify) listing the first problems.
bundle::Manifest check_manifest(ExtractResult& got, const std::string& bundle_id);

}  // namespace airlock::unpacker
