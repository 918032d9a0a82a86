#include "tests/support.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace airlock::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "airlock-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  // Make everything removable first (tests create read-only trees).
  std::system(("chmod -R u+rwx " + sh_quote(path_.string()) + " 2>/dev/null").c_str());
  fs::remove_all(path_, ec);
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
  if (!f) throw std::runtime_error("cannot write " + path);
}

void make_file(const std::string& path, const std::string& data, unsigned mode) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  spit(path, data);
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) throw std::runtime_error("cannot chmod " + path);
}

void make_symlink(const std::string& target, const std::string& path) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::filesystem::create_symlink(target, path);
}

std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

RunResult run(const std::string& cmd) {
  TempDir d;
  std::string full = "( " + cmd + " ) >" + d / "out" + " 2>" + d / "err";
  int st = std::system(full.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.out = slurp(d / "out");
  r.err = slurp(d / "err");
  return r;
}

std::string bin(const std::string& name) {
  const char* d = std::getenv("AIRLOCK_BIN_DIR");
  return std::string(d && *d ? d : AIRLOCK_BIN_DIR) + "/" + name;
}

std::string source_dir() {
  const char* d = std::getenv("AIRLOCK_SOURCE_DIR");
  return d && *d ? d : AIRLOCK_SOURCE_DIR;
}

}  // namespace airlock::test
