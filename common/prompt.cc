#include "common/prompt.h"

#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace airlock {

namespace {

// Turns terminal echo off for its lifetime.
class NoEcho {
 public:
  explicit NoEcho(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) != 0) throw_errno("cannot read terminal settings", "stdin");
    termios t = saved_;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    t.c_lflag |= ICANON;
    if (::tcsetattr(fd_, TCSANOW, &t) != 0) throw_errno("cannot turn off terminal echo", "stdin");
  }
  ~NoEcho() { ::tcsetattr(fd_, TCSANOW, &saved_); }
  NoEcho(const NoEcho&) = delete;
  NoEcho& operator=(const NoEcho&) = delete;

 private:
  int fd_;
  termios saved_{};
};

void say(const std::string& s) {
  ssize_t ignored = ::write(2, s.data(), s.size());
  (void)ignored;
}

}  // namespace

bool stdin_is_terminal() { return ::isatty(0) == 1; }

SecureBytes prompt_passphrase(const std::string& prompt) {
  constexpr size_t kMax = 4096;
  SecureBytes buf(kMax);
  size_t n = 0;
  bool eof = false;
  {
    NoEcho guard(0);
    say(prompt);
    for (;;) {
      uint8_t c = 0;
      ssize_t r = ::read(0, &c, 1);
      if (r < 0 && errno == EINTR) {
        check_interrupted();
        continue;
      }
      if (r < 0) throw_errno("cannot read the passphrase", "stdin");
      if (r == 0) {
        eof = true;
        break;
      }
      if (c == '\n') break;
      if (n == kMax) throw Error(Exit::kUsage, "passphrase too long (over 4096 bytes)");
      buf.data()[n++] = c;
    }
  }
  say("\n");
  check_interrupted();
  if (eof && n == 0) throw Error(Exit::kUsage, "no passphrase entered (end of input)");
  if (n > 0 && buf.data()[n - 1] == '\r') --n;
  return SecureBytes(buf.span().subspan(0, n));
}

}  // namespace airlock
