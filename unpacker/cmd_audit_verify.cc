#include <iostream>
#include <nlohmann/json.hpp>

#include "common/audit.h"
#include "common/error.h"
#include "unpacker/commands.h"

namespace airlock::unpacker {

Command audit_verify_command() {
  return {"audit-verify", "Check the hash chain of an audit log; print the last record's hash",
          [](CLI::App& app) -> std::function<int()> {
            auto path = std::make_shared<std::string>();
            auto out = std::make_shared<OutputOptions>();
            app.add_option("FILE", *path, "Audit log (JSON Lines) to check")->required();
            out->add_to(app, false);
            app.footer(
                "Each record carries the SHA-256 of the line before it, so an edited, removed or\n"
                "reordered record breaks the chain (exit 1). Note the printed last hash: a log\n"
                "whose tail was cut off later ends on a different hash.");
            return [path, out]() -> int {
              AuditCheck c = audit_verify(*path);
              if (out->json) {
                nlohmann::json j{{"file", *path}, {"ok", c.ok}, {"records", c.records},
                                 {"last_hash", c.last_hash}, {"problem", c.problem}};
                std::cout << j.dump() << "\n";
              }
              if (!c.ok) throw Error(Exit::kVerify, *path + ": audit log chain broken: " + c.problem,
                                     "keep this copy as evidence and compare it with a backup of the log");
              if (!out->json && !out->quiet)
                std::cout << *path << ": " << c.records << " records, chain intact\nlast record sha256: "
                          << c.last_hash << "\n";
              return 0;
            };
          }};
}

}  // namespace airlock::unpacker
