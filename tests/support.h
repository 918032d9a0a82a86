// Helpers for tests: temporary directories, running the real binaries and
// standard tools, locating test data.
#pragma once

#include <filesystem>
#include <string>

namespace airlock::test {

// A fresh directory under $TMPDIR, removed (recursively) at scope exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `cmd` with /bin/sh -c, capturing stdout and stderr.
RunResult run(const std::string& cmd);

// Path of a built program (packer, unpacker) from AIRLOCK_BIN_DIR.
std::string bin(const std::string& name);
// The source tree (AIRLOCK_SOURCE_DIR).
std::string source_dir();
// Single-quotes a string for the shell.
std::string sh_quote(const std::string& s);

std::string slurp(const std::string& path);
void spit(const std::string& path, const std::string& data);
// spit() after creating the parent directories, then chmod to `mode`.
void make_file(const std::string& path, const std::string& data, unsigned mode = 0644);
// A symbolic link at `path` (parents created) to `target`.
void make_symlink(const std::string& target, const std::string& path);

}  // namespace airlock::test
