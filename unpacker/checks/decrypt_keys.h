// What the secure node decrypts with: age identity files (-i, as
// age-keygen or `unpacker keygen` write them) or a passphrase file.
#pragma once

#include <string>
#include <vector>

#include "common/age/age.h"

namespace airlock::unpacker {

// Exactly one of identities / passphrase_file must be given (exit 2).
age::DecryptKeys load_decrypt_keys(const std::vector<std::string>& identity_files,
                                   const std::string& passphrase_file);

}  // namespace airlock::unpacker
