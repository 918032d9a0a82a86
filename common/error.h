// Errors and exit statuses shared by both programs.
//
// Library code throws; only main() turns an Error into an exit status
// (STYLE rule 4). Each layer derives its own kind so messages can say where
// they come from ("parsing age header: ...").
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace airlock {

// Exit statuses of DESIGN.md, "Command-line contract".
enum class Exit : int {
  kOk = 0,
  kVerify = 1,       // signature, untrusted key, hash, authentication, manifest
  kUsage = 2,        // usage or I/O error, including disk full
  kUnsafe = 3,       // unsafe content refused
  kInstall = 4,      // offline install failed
  kInterrupted = 130,
};

class Error : public std::runtime_error {
 public:
  Error(Exit exit, std::string message, std::string hint = {})
      : std::runtime_error(std::move(message)), exit_(exit), hint_(std::move(hint)) {}
  Exit exit() const { return exit_; }
  const std::string& hint() const { return hint_; }

 private:
  Exit exit_;
  std::string hint_;
};

// `s` in double quotes for an error message: control bytes, `"` and `\`
// as \xNN, cut after `max` bytes with "...". Hostile input stays one line.
std::string quote(std::string_view s, size_t max = 80);

// An I/O failure (open, read, write, rename...) on `path`: exit 2.
[[noreturn]] void throw_errno(const std::string& what, const std::string& path);
// Same, with an explicit errno value.
[[noreturn]] void throw_errno(const std::string& what, const std::string& path, int err);

// Set by the SIGINT/SIGTERM handler; long loops poll it and throw
// Error(kInterrupted) so destructors clean up partial output.
bool interrupted();
void check_interrupted();
void install_interrupt_handlers();
// Forgets an interrupt (tests that deliver one to themselves).
void clear_interrupted();

}  // namespace airlock
