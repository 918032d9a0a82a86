// unpacker verify -p PUBLIC_KEY... BUNDLE: checks the envelope, both
// signatures, the trusted comments and payload.age's size and hash, then
// prints the label. Decrypts nothing and needs no identity.
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/bundle/label.h"

#include "common/error.h"
#include "unpacker/checks/audit_trail.h"
#include "unpacker/cli_options.h"
#include "unpacker/commands.h"
#include "unpacker/checks/verify.h"

namespace airlock::unpacker {

Command verify_command() {
  return {"verify", "Verify a sealed bundle's signatures and print its label (decrypts nothing)",
          [](CLI::App& app) -> std::function<int()> {
            struct Opts {
              std::vector<std::string> keys;
              std::string bundle, audit;
              OutputOptions out;
            };
            auto o = std::make_shared<Opts>();
            add_trusted_keys(app, o->keys);
            add_bundle_and_log(app, o->bundle, o->audit);
            o->out.add_to(app);
            app.footer(
                "Checks, in order: the envelope holds exactly payload.age, payload.age.minisig,\n"
                "LABEL.txt and LABEL.txt.minisig; both signatures verify under one -p key; both\n"
                "trusted comments carry the label's bundle-id; payload.age matches the label's\n"
                "payload-bytes and payload-sha256. The label is printed on stdout (on stderr\n"
                "with --json, whose summary alone goes to stdout). Exit 1 if any check fails.");
            return [o]() -> int {
              AuditTrail audit(o->audit, o->bundle);
              try {
                VerifiedBundle vb = verify_bundle(o->bundle, o->keys, o->out.show_progress());
                audit.set_bundle(&vb);
                audit.record("verify", "ok", "signed by " + vb.signer_key_id + " (" + vb.signer_key_file + ")");
                (o->out.json ? std::cerr : std::cout) << label_text(vb) << std::flush;
                if (o->out.json) {
                  nlohmann::json j{{"bundle", o->bundle},          {"ok", true},
                                   {"bundle_id", vb.bundle_id},     {"marking", vb.label.marking},
                                   {"signer_key_id", vb.signer_key_id},
                                   {"payload_sha256", vb.envelope.payload_sha256},
                                   {"payload_bytes", vb.envelope.payload_size},
                                   {"content_bytes", vb.content_bytes}};
                  // The designation indicator, as the label gives it (keys
                  // missing from it are absent here too).
                  nlohmann::json designation = nlohmann::json::object();
                  for (const auto& k : bundle::kDesignationKeys)
                    if (std::string v = vb.label.get(k.key); !v.empty()) designation[std::string(k.key)] = v;
                  if (!designation.empty() || bundle::is_cui_marking(vb.label.marking)) j["designation"] = designation;
                  std::cout << j.dump() << "\n";
                } else if (!o->out.quiet) {
                  std::cerr << "unpacker: " << o->bundle << ": verified, signed by key " << vb.signer_key_id << "\n";
                }
                return 0;
              } catch (const Error& e) {
                audit.refusal("verify", e);
                throw;
              }
            };
          }};
}

}  // namespace airlock::unpacker
