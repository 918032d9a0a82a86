// The audit records one unpacker command writes (DESIGN.md, "Audit log"):
// one per step (verify, decrypt, extract, install) and one for every
// refusal, each carrying the bundle's identity once it is verified.
#pragma once

#include <string>

#include "common/audit.h"
#include "common/error.h"
#include "unpacker/checks/verify.h"

namespace airlock::unpacker {

class AuditTrail {
 public:
  AuditTrail(std::string log_flag, std::string bundle_path)
      : path_(audit_log_path(log_flag)), bundle_(std::move(bundle_path)) {}

  // Copies the bundle's identity: records written while an error unwinds
  // must not refer to the (destroyed) VerifiedBundle.
  void set_bundle(const VerifiedBundle* vb) { id_ = audit_event(vb, "", "", ""); }
  void record(const std::string& event, const std::string& outcome, const std::string& detail) {
    AuditEvent ev = id_;
    ev.event = event;
    ev.outcome = outcome;
    ev.detail = detail;
    ev.extra["bundle"] = bundle_;
    if (!dest_.empty()) ev.extra["dest"] = dest_;
    audit_append(path_, ev);
  }
  void set_dest(std::string d) { dest_ = std::move(d); }

  // A refusal: exit 1 and 3 are "refused" (the bundle was judged), other
  // failures (I/O, interrupted, install) are "failed".
  void refusal(const std::string& event, const Error& e) {
    bool judged = e.exit() == Exit::kVerify || e.exit() == Exit::kUnsafe;
    record(event, judged ? "refused" : "failed", e.what());
  }

 private:
  std::string path_, bundle_, dest_;
  AuditEvent id_;
};

}  // namespace airlock::unpacker
