#include "unpacker/install/install.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>

#include "common/bundle/format.h"
#include "common/error.h"
#include "common/io.h"

extern char** environ;

namespace airlock::unpacker {

namespace {

constexpr size_t kTailLines = 15;

bool dropped(const std::string& kv) {
  std::string name = kv.substr(0, kv.find('='));
  std::string lower;
  for (char c : name) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  // Proxies: the secure node has no network, and pip must not try one.
  static const char* proxies[] = {"http_proxy", "https_proxy", "ftp_proxy", "all_proxy", "no_proxy"};
  for (const char* p : proxies)
    if (lower == p) return true;
  // The caller's pip and Python settings (config files, index URLs,
  // PYTHONPATH, PYTHONHOME...) must not reach the install.
  return name.compare(0, 4, "PIP_") == 0 || name.compare(0, 6, "PYTHON") == 0;
}

}  // namespace

bool lock_names_anything(std::string_view lock) {
  size_t start = 0;
  while (start < lock.size()) {
    size_t end = lock.find('\n', start);
    std::string_view line = lock.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos && line[first] != '#') return true;
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return false;
}

std::vector<std::string> pip_argv(const std::string& dest, const bundle::Manifest& m) {
  return {dest + "/" + m.interpreter, "-m", "pip", "install", "--no-index", "--find-links", dest + "/wheels",
          "--require-hashes", "-r", dest + "/" + std::string(bundle::kLockPath)};
}

std::vector<std::string> pip_environment(const std::vector<std::string>& current) {
  std::vector<std::string> env;
  for (const auto& kv : current)
    if (!dropped(kv)) env.push_back(kv);
  env.push_back("PIP_CONFIG_FILE=/dev/null");
  env.push_back("PYTHONNOUSERSITE=1");
  env.push_back("PIP_NO_INPUT=1");
  env.push_back("PIP_DISABLE_PIP_VERSION_CHECK=1");
  return env;
}

InstallResult pip_install(const std::string& dest, const bundle::Manifest& m, bool echo) {
  InstallResult res;
  std::string lock = dest + "/" + std::string(bundle::kLockPath);
  if (::access(lock.c_str(), F_OK) != 0) return res;
  // Nothing to install when every line is blank or a comment (the packer
  // writes a comment line even when the bundle has no wheels): pip is not
  // started for nothing (a second or two of its own start-up).
  if (!lock_names_anything(read_file(lock))) return res;
  if (m.interpreter.empty()) throw Error(Exit::kInstall, "manifest names no interpreter to run pip with");
  res.ran = true;
  res.log_path = dest + "/airlock/install.log";

  std::vector<std::string> argv_s = pip_argv(dest, m);
  std::vector<std::string> cur;
  for (char** e = environ; *e; ++e) cur.emplace_back(*e);
  std::vector<std::string> env_s = pip_environment(cur);
  std::vector<char*> argv, envp;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);

  UniqueFd log(::open(res.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!log) throw_errno("cannot create install log", res.log_path);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw_errno("pipe failed", "pip");
  UniqueFd rd(p[0]), wr(p[1]);
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork failed", "pip");
  if (pid == 0) {
    ::dup2(wr.get(), 1);
    ::dup2(wr.get(), 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (::chdir(dest.c_str()) != 0) _exit(127);
    ::execve(argv[0], argv.data(), envp.data());
    const char* msg = "cannot run the bundled interpreter\n";
    (void)!::write(2, msg, std::strlen(msg));
    _exit(127);
  }
  wr = UniqueFd();
  FdWriter log_w(log.get(), res.log_path);
  std::string cmdline;
  for (auto& s : argv_s) cmdline += (cmdline.empty() ? "" : " ") + s;
  log_w.write("$ " + cmdline + "\n");
  std::deque<std::string> tail;
  std::string partial;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::string_view chunk(buf, static_cast<size_t>(n));
    log_w.write(chunk);
    if (echo) (void)!::write(2, buf, static_cast<size_t>(n));
    partial.append(chunk);
    for (size_t nl; (nl = partial.find('\n')) != std::string::npos;) {
      tail.push_back(partial.substr(0, nl));
      if (tail.size() > kTailLines) tail.pop_front();
      partial.erase(0, nl + 1);
    }
  }
  if (!partial.empty()) tail.push_back(partial);
  log_w.flush();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return res;
  std::string why = WIFEXITED(status) ? "pip exited with status " + std::to_string(WEXITSTATUS(status))
                                      : "pip was killed by signal " + std::to_string(WTERMSIG(status));
  std::string msg = "offline install failed: " + why + ":";
  for (const auto& l : tail) msg += "\n  " + l;
  if (interrupted()) throw Error(Exit::kInterrupted, msg);
  throw Error(Exit::kInstall, msg,
              "the environment is unpacked at " + dest + " but its packages are not installed; full output in " +
                  res.log_path);
}

}  // namespace airlock::unpacker
