#include "unpacker/checks/decrypt_keys.h"

#include "common/io.h"
#include "common/secure.h"

namespace airlock::unpacker {

age::DecryptKeys load_decrypt_keys(const std::vector<std::string>& identity_files,
                                   const std::string& passphrase_file) {
  if (identity_files.empty() == passphrase_file.empty())
    throw Error(Exit::kUsage, "give either -i IDENTITY or --passphrase-file FILE (exactly one)");
  age::DecryptKeys keys;
  for (const auto& f : identity_files) {
    SecureBytes text = read_secret_file(f);
    auto ids = age::parse_identity_file(text.view(), f);
    if (ids.empty()) throw Error(Exit::kUsage, f + ": no identity in this file");
    for (auto& id : ids) keys.identities.push_back(std::move(id));
  }
  if (!passphrase_file.empty()) keys.passphrase = read_passphrase_file(passphrase_file);
  return keys;
}

}  // namespace airlock::unpacker
