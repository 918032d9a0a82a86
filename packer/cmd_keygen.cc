// packer keygen: a minisign signing key pair. FILE gets the secret key
// (0600), and the public key goes beside it: `-o signing.key` writes
// signing.key + signing.pub; a name not ending in ".key" gets ".pub" added
// (`-o id` writes id + id.pub).
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/audit.h"
#include "common/error.h"
#include "common/io.h"
#include "common/minisign/minisign.h"
#include "common/prompt.h"
#include "common/secure.h"
#include "packer/commands.h"

namespace airlock::packer {

namespace {

struct KeygenOptions {
  std::string out;
  std::string passphrase_file;
  std::string audit_log;
  bool unencrypted = false;
  bool force = false;
  OutputOptions output;
};

std::string public_key_path(const std::string& secret_path) {
  const std::string suffix = ".key";
  if (secret_path.size() > suffix.size() && secret_path.ends_with(suffix) &&
      secret_path[secret_path.size() - suffix.size() - 1] != '/')
    return secret_path.substr(0, secret_path.size() - suffix.size()) + ".pub";
  return secret_path + ".pub";
}

// The passphrase to encrypt with, or none for --unencrypted.
std::unique_ptr<SecureBytes> obtain_passphrase(const KeygenOptions& o) {
  if (o.unencrypted) return nullptr;
  if (!o.passphrase_file.empty()) return std::make_unique<SecureBytes>(read_passphrase_file(o.passphrase_file));
  if (!stdin_is_terminal())
    throw Error(Exit::kUsage, "no passphrase for the new secret key, and stdin is not a terminal to ask on",
                "pass --passphrase-file FILE (passphrase on its first line), or --unencrypted for a key "
                "protected only by its file permissions");
  auto first = std::make_unique<SecureBytes>(prompt_passphrase("Passphrase for the new secret key: "));
  if (first->empty())
    throw Error(Exit::kUsage, "empty passphrase", "type a passphrase, or pass --unencrypted for an unencrypted key");
  SecureBytes again = prompt_passphrase("Passphrase (again): ");
  if (again.size() != first->size() || sodium_memcmp(again.data(), first->data(), first->size()) != 0)
    throw Error(Exit::kUsage, "the two passphrases differ; no key was written");
  return first;
}

int run_keygen(const KeygenOptions& o) {
  const std::string pub_path = public_key_path(o.out);
  const std::string log = audit_log_path(o.audit_log);
  auto pass = obtain_passphrase(o);

  // Create (or, with --force, stage) both files before the slow scrypt
  // step, so a name clash is reported at once. Neither is left behind if
  // anything below fails.
  OutputFile secret_file(o.out, 0600, o.force);
  OutputFile public_file(pub_path, 0644, o.force);

  auto sk = minisign::SecretKey::generate();
  if (pass && !o.output.quiet && !o.output.json)
    std::cerr << program_name() << ": deriving the key-encryption key with scrypt (as minisign does)...\n";
  SecureBytes text = sk.file_text(pass.get());
  // Written straight from guarded memory (no buffered copy of the secret).
  for (size_t done = 0; done < text.size();) {
    ssize_t w = ::write(secret_file.fd(), text.data() + done, text.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw_errno("cannot write", o.out);
    done += static_cast<size_t>(w);
  }
  const auto pk = sk.public_key();
  public_file.write(pk.file_text());
  secret_file.commit();
  public_file.commit();

  const std::string id = minisign::key_id_hex(pk.key_id);
  AuditEvent ev;
  ev.event = "keygen";
  ev.outcome = "ok";
  ev.signer_key_id = id;
  ev.detail = std::string("minisign signing key pair, ") + (pass ? "scrypt-encrypted" : "unencrypted") +
              " secret key " + o.out + ", public key " + pub_path;
  audit_append(log, ev);

  if (o.output.json) {
    nlohmann::json j{{"secret_key", o.out}, {"public_key_file", pub_path}, {"public_key", pk.base64()},
                     {"key_id", id}, {"encrypted", pass != nullptr}};
    std::cout << j.dump() << "\n";
  } else if (!o.output.quiet) {
    std::cout << "secret key: " << o.out << (pass ? " (encrypted)" : " (UNENCRYPTED)") << " - keep it secret\n"
              << "public key: " << pub_path << "\n"
              << "key id: " << id << "\n"
              << pk.base64() << "\n";
  }
  return 0;
}

}  // namespace

Command keygen_command() {
  return {"keygen", "Create a minisign signing key pair (FILE and its .pub)",
          [](CLI::App& app) -> std::function<int()> {
            auto o = std::make_shared<KeygenOptions>();
            app.add_option("-o,--output", o->out, "Secret key file to write (mode 0600); the public key goes "
                                                  "beside it, FILE.key -> FILE.pub")
                ->required();
            auto* unenc = app.add_flag("--unencrypted", o->unencrypted,
                                       "Do not encrypt the secret key (like minisign -G -W)");
            app.add_option("--passphrase-file", o->passphrase_file,
                           "Encrypt the secret key with the passphrase on this file's first line")
                ->excludes(unenc);
            app.add_flag("-f,--force", o->force, "Replace existing key files");
            app.add_option("--audit-log", o->audit_log, "Audit log (default $AIRLOCK_AUDIT_LOG or "
                                                        "$XDG_STATE_HOME/airlock/audit.jsonl)");
            o->output.add_to(app, false);
            app.footer(
                "The secret key is encrypted as minisign does it (scrypt, then XOR, BLAKE2b checksum);\n"
                "without --passphrase-file or --unencrypted the passphrase is asked for twice on the terminal.\n"
                "Both files work with minisign itself (minisign -S -s FILE, minisign -V -p FILE.pub).\n\n"
                "Examples:\n"
                "  packer keygen -o signing.key                       # asks for a passphrase\n"
                "  packer keygen -o signing.key --passphrase-file pw.txt\n"
                "  packer keygen -o ci.key --unencrypted --force      # replaces ci.key and ci.pub\n"
                "Exit status: 0 written, 2 usage or I/O error (existing file without --force).");
            return [o]() -> int { return run_keygen(*o); };
          }};
}

}  // namespace airlock::packer
