// Reading a passphrase from the user's terminal, without echo.
#pragma once

#include <string>

#include "common/secure.h"

namespace airlock {

// Whether standard input is a terminal we may prompt on.
bool stdin_is_terminal();

// Prompts on stderr and reads one line from the terminal on stdin with echo
// off (restored on every exit path), into guarded memory. The line ending is
// not part of the passphrase. Throws Error(kUsage) on end of input and
// Error(kInterrupted) on Ctrl-C.
SecureBytes prompt_passphrase(const std::string& prompt);

}  // namespace airlock
