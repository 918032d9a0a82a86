// unpacker decrypt (-i IDENTITY... | --passphrase-file F) [-o OUT] FILE.age:
// a plain age v1 decryptor (binary or armored input) for files from any age
// tool. Nothing partial is left at -o on failure.
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "common/age/age.h"
#include "common/audit.h"
#include "common/error.h"
#include "common/io.h"
#include "unpacker/commands.h"

namespace airlock::unpacker {

namespace {
struct DecryptOptions {
  std::vector<std::string> identities;
  std::string passphrase_file;
  std::string output;
  std::string input;
  bool force = false;
  unsigned threads = 0;
  std::string audit_log;
  OutputOptions out;
};

age::DecryptKeys load_keys(const DecryptOptions& o) {
  age::DecryptKeys keys;
  for (const auto& path : o.identities) {
    SecureBytes text = read_secret_file(path);
    for (auto& id : age::parse_identity_file(text.view(), path)) keys.identities.push_back(std::move(id));
  }
  if (!o.passphrase_file.empty()) keys.passphrase = read_passphrase_file(o.passphrase_file);
  return keys;
}

int run_decrypt(const DecryptOptions& o) {
  if (o.identities.empty() == o.passphrase_file.empty())
    throw Error(Exit::kUsage, "give either -i IDENTITY (one or more) or --passphrase-file F",
                "files encrypted to an age1... recipient need -i; files encrypted with a passphrase need "
                "--passphrase-file");
  std::string log = audit_log_path(o.audit_log);
  std::string target = o.output.empty() ? "<stdout>" : o.output;
  auto audit_failure = [&](const std::string& what) {
    try {
      audit_append(log, {.event = "decrypt", .outcome = "failed", .detail = o.input + " -> " + target + ": " + what});
    } catch (const Error& ae) {
      warn(ae.what());
    }
  };
  age::DecryptSummary summary;
  uint64_t bytes = 0;
  try {
    age::DecryptKeys keys = load_keys(o);
    FileReader in(o.input);
    age::Decryptor dec(in, keys, o.threads);
    if (o.output.empty()) {
      FdWriter w(STDOUT_FILENO, "<stdout>");
      bytes = dec.copy_to(w);
      w.finish();
    } else {
      // Removed unless committed: a failed or interrupted run leaves nothing.
      OutputFile f(o.output, 0600, o.force);
      bytes = dec.copy_to(f);
      f.finish();
      f.commit();
    }
    summary = dec.summary();
  } catch (const Error& e) {
    audit_failure(e.what());
    throw;
  }
  std::string stanzas;
  for (const auto& s : summary.stanza_types) stanzas += (stanzas.empty() ? "" : ",") + s;
  audit_append(log, {.event = "decrypt", .outcome = "ok",
                     .detail = o.input + " -> " + target + ": " + std::to_string(bytes) + " bytes",
                     .extra = {{"input", o.input}, {"output", target}, {"bytes", bytes}, {"stanzas", stanzas}}});
  if (o.out.json) {
    nlohmann::json j{{"input", o.input}, {"output", target}, {"bytes", bytes}, {"armored", summary.armored},
                     {"stanzas", summary.stanza_types}};
    (o.output.empty() ? std::cerr : std::cout) << j.dump() << "\n";
  } else if (!o.output.empty()) {
    note("decrypted " + o.input + " to " + o.output + " (" + std::to_string(bytes) + " bytes)", o.out);
  }
  return 0;
}
}  // namespace

Command decrypt_command() {
  return {"decrypt", "Decrypt an age file (binary or armored) with an identity or a passphrase",
          [](CLI::App& app) -> std::function<int()> {
            auto o = std::make_shared<DecryptOptions>();
            app.add_option("-i,--identity", o->identities,
                           "Identity file (AGE-SECRET-KEY-1... lines, from 'unpacker keygen' or age-keygen); repeatable")
                ->expected(1)
                ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
            app.add_option("--passphrase-file", o->passphrase_file,
                           "File whose first line is the passphrase (for files made with 'age -p')");
            app.add_option("-o,--output", o->output, "Write the plaintext here (mode 0600) instead of stdout");
            app.add_flag("--force", o->force, "Replace an existing output file");
            app.add_option("--threads", o->threads, "Threads opening payload chunks (default 0: up to 2)");
            app.add_option("--audit-log", o->audit_log,
                           "Audit log (default $AIRLOCK_AUDIT_LOG, else $XDG_STATE_HOME/airlock/audit.jsonl)");
            app.add_option("FILE", o->input, "The age file ('-' for stdin)")->required();
            o->out.add_to(app, false);
            app.footer(
                "Exit status: 0 decrypted; 1 the file did not decrypt (no identity matched, incorrect\n"
                "passphrase, damaged or altered header or payload, bad armor); 2 usage or I/O error.\n"
                "On failure nothing is left at -o. With no -o, the plaintext goes to stdout and may be\n"
                "incomplete on failure: check the exit status.\n\n"
                "Examples:\n"
                "  unpacker decrypt -i ~/node.key -o payload.tar.zst payload.age\n"
                "  unpacker decrypt -i old.key -i new.key secret.txt.age > secret.txt\n"
                "  unpacker decrypt --passphrase-file pass.txt -o notes.txt notes.txt.age");
            return [o]() -> int { return run_decrypt(*o); };
          }};
}

}  // namespace airlock::unpacker
