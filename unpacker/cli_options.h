// Options that verify, list and unpack share, spelled once.
#pragma once

#include <string>
#include <vector>

#include "common/cli.h"

namespace airlock::unpacker {

// -p (repeatable): trusted minisign public keys.
inline void add_trusted_keys(CLI::App& app, std::vector<std::string>& keys) {
  app.add_option("-p,--public-key", keys, "Trusted minisign public key (.pub); may repeat")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->expected(1);
}

// -i (repeatable) or --passphrase-file: what opens payload.age.
inline void add_decryption_keys(CLI::App& app, std::vector<std::string>& identities, std::string& passphrase_file) {
  app.add_option("-i,--identity", identities, "age identity file (may repeat)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->expected(1);
  app.add_option("--passphrase-file", passphrase_file, "File whose first line is the passphrase");
}

inline void add_bundle_and_log(CLI::App& app, std::string& bundle, std::string& audit_log) {
  app.add_option("BUNDLE", bundle, "NAME.sealed (or NAME.sealed.001 for volumes)")->required();
  app.add_option("--audit-log", audit_log, "Audit log (default $AIRLOCK_AUDIT_LOG or ~/.local/state/airlock/audit.jsonl)");
}

}  // namespace airlock::unpacker
