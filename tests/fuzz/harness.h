// Shared helpers of the libFuzzer harnesses (tests/fuzz/*_fuzz.cc).
//
// Each harness feeds one input to a parser through the entry point the
// programs call. A clean refusal is a thrown airlock::Error (or the
// parser's own subclass, where the caller catches only that); anything
// else - a crash, a sanitizer report, another exception escaping, more than
// 10 s or 2 GB - is a finding. Built only with -DAIRLOCK_FUZZ=ON (clang);
// scripts/fuzz.sh builds and runs them.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "common/error.h"

namespace airlock::fuzz {

inline std::string_view text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A private directory for inputs that the parser reads from a file (the
// envelope, a wheel, the audit log): one per process, under $TMPDIR, which
// scripts/fuzz.sh points at a directory it removes after the run.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/airlock-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl.data())) std::abort();
    return tmpl;
  }();
  return dir;
}

// Writes `bytes` to scratch_dir()/name (replacing it) and returns the path.
inline std::string write_scratch(const std::string& name, std::span<const uint8_t> bytes) {
  std::string path = scratch_dir() + "/" + name;
  ::unlink(path.c_str());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  for (size_t done = 0; done < bytes.size();) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) std::abort();
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return path;
}
inline std::string write_scratch(const std::string& name, std::string_view s) {
  return write_scratch(name, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

}  // namespace airlock::fuzz
