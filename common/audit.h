// The tamper-evident audit log of DESIGN.md: JSON Lines, each record
// carrying `prev`, the hex SHA-256 of the previous line (64 zeros first).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace airlock {

struct AuditEvent {
  std::string event;    // keygen, pack, verify, decrypt, extract, install, refuse...
  std::string outcome;  // ok, refused, failed
  std::string detail;
  std::string bundle_id, bundle_sha256, signer_key_id, marking;
  nlohmann::json extra = nlohmann::json::object();  // more fields, merged in
};

// Path from --audit-log, else $AIRLOCK_AUDIT_LOG, else
// $XDG_STATE_HOME/airlock/audit.jsonl (~/.local/state/airlock/audit.jsonl).
std::string audit_log_path(const std::string& flag);

// Appends one record under an exclusive lock (flock). Throws Error(kUsage)
// naming the log if it cannot be written: an unlogged action is not allowed.
void audit_append(const std::string& path, const AuditEvent& ev);

struct AuditCheck {
  bool ok = true;
  size_t records = 0;
  std::string last_hash;  // SHA-256 of the last line
  std::string problem;    // what is wrong and on which line
};
AuditCheck audit_verify(const std::string& path);

}  // namespace airlock
