#include "common/error.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

namespace airlock {

std::string quote(std::string_view s, size_t max) {
  std::string q = "\"";
  for (char c : s.substr(0, max)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", u);
      q += b;
    } else {
      q += c;
    }
  }
  return q + (s.size() > max ? "...\"" : "\"");
}

void throw_errno(const std::string& what, const std::string& path) {
  throw_errno(what, path, errno);
}

void throw_errno(const std::string& what, const std::string& path, int err) {
  std::string hint;
  if (err == ENOSPC || err == EDQUOT) hint = "free some space on the file system that holds " + path + ", or choose another place";
  throw Error(Exit::kUsage, path + ": " + what + ": " + std::strerror(err), hint);
}

namespace {
std::atomic<int> g_signal{0};
extern "C" void on_signal(int sig) { g_signal.store(sig); }
}  // namespace

bool interrupted() { return g_signal.load() != 0; }

void check_interrupted() {
  if (interrupted()) throw Error(Exit::kInterrupted, "interrupted by signal " + std::to_string(g_signal.load()));
}

void clear_interrupted() { g_signal.store(0); }

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace airlock
