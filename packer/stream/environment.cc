#include "packer/stream/environment.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/io.h"

namespace airlock::packer {

const char* to_string(EnvKind k) { return k == EnvKind::kConda ? "conda" : "cpython-prefix"; }

// ---------------------------------------------------------------- processes

ProcessResult run_process(const std::vector<std::string>& argv, int timeout_ms) {
  if (argv.empty()) throw Error(Exit::kUsage, "run_process: empty command");
  const std::string& prog = argv[0];
  int out_p[2], err_p[2], exec_p[2];
  if (::pipe2(out_p, O_CLOEXEC) != 0) throw_errno("cannot create pipe to run", prog);
  UniqueFd out_r(out_p[0]), out_w(out_p[1]);
  if (::pipe2(err_p, O_CLOEXEC) != 0) throw_errno("cannot create pipe to run", prog);
  UniqueFd err_r(err_p[0]), err_w(err_p[1]);
  if (::pipe2(exec_p, O_CLOEXEC) != 0) throw_errno("cannot create pipe to run", prog);
  UniqueFd exec_r(exec_p[0]), exec_w(exec_p[1]);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) throw_errno("cannot fork to run", prog);
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(out_w.get(), 1);
    ::dup2(err_w.get(), 2);
    ::execv(prog.c_str(), args.data());
    int e = errno;
    [[maybe_unused]] ssize_t w = ::write(exec_w.get(), &e, sizeof e);
    ::_exit(127);
  }
  out_w = UniqueFd();
  err_w = UniqueFd();
  exec_w = UniqueFd();

  ProcessResult r;
  int exec_errno = 0;
  ssize_t en = ::read(exec_r.get(), &exec_errno, sizeof exec_errno);  // EOF when exec succeeded
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  constexpr size_t kCap = 16u << 20;
  pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  char buf[65536];
  while (en <= 0 && open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) { r.timed_out = true; break; }
    int pr = ::poll(fds, 2, static_cast<int>(std::min<long long>(left.count(), INT_MAX)));
    if (pr < 0 && errno == EINTR) {
      if (interrupted()) break;
      continue;
    }
    if (pr < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        if (sinks[i]->size() < kCap) sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  if (r.timed_out || interrupted()) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (en > 0) throw_errno("cannot run", prog, exec_errno);
  check_interrupted();
  if (r.timed_out)
    throw Error(Exit::kUsage, prog + ": did not finish within " + std::to_string(timeout_ms / 1000) + " s; killed it");
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// --------------------------------------------------------------- inspection

namespace {

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}
bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string absolute(const std::string& p) {
  if (!p.empty() && p[0] == '/') return std::filesystem::path(p).lexically_normal().string();
  char cwd[PATH_MAX];
  if (!::getcwd(cwd, sizeof cwd)) throw_errno("cannot get the current directory for", p);
  return (std::filesystem::path(cwd) / p).lexically_normal().string();
}

// Strips trailing slashes ("/a/b/" -> "/a/b"), keeping "/".
std::string trim_slashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

// bin/python3.X with lib/python3.X/os.py; the highest X when several.
std::optional<std::string> find_interpreter(const std::string& prefix) {
  DIR* d = ::opendir((prefix + "/bin").c_str());
  if (!d) return std::nullopt;
  int best = -1;
  std::string best_name;
  while (dirent* e = ::readdir(d)) {
    const char* n = e->d_name;
    if (std::strncmp(n, "python3.", 8) != 0) continue;
    char* endp = nullptr;
    long minor = std::strtol(n + 8, &endp, 10);
    if (endp == n + 8 || *endp != '\0' || minor < 0 || minor > 999) continue;
    std::string name = n;
    if (!is_file(prefix + "/bin/" + name) || ::access((prefix + "/bin/" + name).c_str(), X_OK) != 0) continue;
    if (!is_file(prefix + "/lib/" + name + "/os.py")) continue;
    if (minor > best) { best = static_cast<int>(minor); best_name = name; }
  }
  ::closedir(d);
  if (best < 0) return std::nullopt;
  return "bin/" + best_name;
}

std::string pyvenv_home(const std::string& cfg) {
  std::ifstream f(cfg);
  std::string line;
  while (std::getline(f, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    if (key != "home") continue;
    std::string v = line.substr(eq + 1);
    size_t s = v.find_first_not_of(" \t");
    return s == std::string::npos ? "" : trim_slashes(v.substr(s));
  }
  return "";
}

// Computes the tags the way the `packaging` library does, with the
// standard library only (the interpreter runs with -I -S: no site-packages).
constexpr const char* kProbeScript = R"PY(
import json, os, sys, sysconfig
impl = sys.implementation.name
abbr = {'cpython': 'cp', 'pypy': 'pp', 'ironpython': 'ip', 'jython': 'jy'}.get(impl, impl)
soabi = sysconfig.get_config_var('SOABI') or ''
if impl == 'cpython' and soabi.startswith('cpython-'):
    abi = 'cp' + soabi.split('-')[1]
elif soabi:
    abi = soabi.replace('.', '_').replace('-', '_')
else:
    abi = 'none'
try:
    libc = os.confstr('CS_GNU_LIBC_VERSION') or ''
except (AttributeError, ValueError, OSError):
    libc = ''
print(json.dumps({
    'version': sys.version.split()[0],
    'implementation': impl,
    'interpreter_tag': abbr + '%d%d' % sys.version_info[:2],
    'abi_tag': abi,
    'platform_tag': sysconfig.get_platform().replace('-', '_').replace('.', '_'),
    'soabi': soabi,
    'glibc': libc.split()[1] if libc.startswith('glibc ') else '',
    'sys_prefix': sys.prefix,
    'executable': sys.executable or '',
}))
)PY";

PythonInfo query_interpreter(const std::string& python, int timeout_ms) {
  ProcessResult r = run_process({python, "-I", "-S", "-B", "-c", kProbeScript}, timeout_ms);
  if (r.exit_code != 0) {
    std::string err = r.err.size() > 2000 ? r.err.substr(r.err.size() - 2000) : r.err;
    throw EnvironmentError(Exit::kUsage,
                           python + ": asking the interpreter for its version and tags failed (exit " +
                               std::to_string(r.exit_code) + "): " + err,
                           "check that the environment's interpreter runs here (Python 3 is required)");
  }
  try {
    auto j = nlohmann::json::parse(r.out);
    PythonInfo p;
    p.version = j.at("version");
    p.implementation = j.at("implementation");
    p.interpreter_tag = j.at("interpreter_tag");
    p.abi_tag = j.at("abi_tag");
    p.platform_tag = j.at("platform_tag");
    p.soabi = j.at("soabi");
    p.glibc = j.at("glibc");
    p.sys_prefix = j.at("sys_prefix");
    p.executable = j.at("executable");
    return p;
  } catch (const nlohmann::json::exception& e) {
    throw EnvironmentError(Exit::kUsage, python + ": unexpected answer from the interpreter: '" +
                                             r.out.substr(0, 200) + "' (" + e.what() + ")");
  }
}

}  // namespace

Environment inspect_environment(const std::string& dir, int timeout_ms) {
  Environment env;
  env.given = dir;
  std::string d = trim_slashes(dir);
  if (!exists(d)) throw_errno("cannot use as environment", dir, ENOENT);
  if (!is_dir(d)) throw EnvironmentError(Exit::kUsage, dir + ": is not a directory", "pass the environment's top directory");

  if (exists(d + "/pyvenv.cfg")) {
    std::string home = pyvenv_home(d + "/pyvenv.cfg");
    std::string base = home.empty() ? "its base interpreter" : home;
    // A venv holds only site-packages and links to an interpreter and
    // standard library that live elsewhere: copied alone, it cannot run.
    throw EnvironmentError(
        Exit::kUsage,
        dir + ": is a virtual environment (it has pyvenv.cfg): a venv points at a base interpreter elsewhere (" +
            base + "), so it is not self-contained and would not run on the secure node",
        "pack the base Python prefix" +
            (home.empty() ? std::string() : " (" + home.substr(0, home.rfind('/') == 0 ? 1 : home.rfind('/')) + ")") +
            " or a conda env instead, and put the venv's packages in the wheelhouse "
            "(pip freeze > requirements.txt, then -r requirements.txt with --download or --wheelhouse)");
  }

  char real[PATH_MAX];
  if (!::realpath(d.c_str(), real)) throw_errno("cannot resolve", dir);
  env.prefix = real;

  bool conda = is_dir(d + "/conda-meta");
  auto interp = find_interpreter(env.prefix);
  if (conda) {
    env.kind = EnvKind::kConda;
    if (!interp)
      throw EnvironmentError(Exit::kUsage,
                             dir + ": is a conda environment without a Python interpreter (looked for bin/python3.X "
                                   "with lib/python3.X/os.py)",
                             "install python into it (conda install -p " + dir + " python) or pack another env");
  } else if (interp) {
    env.kind = EnvKind::kCPythonPrefix;
  } else {
    throw EnvironmentError(Exit::kUsage,
                           dir + ": is not a Python environment: found neither conda-meta/ (a conda env) nor "
                                 "bin/python3.X with lib/python3.X/os.py (a standalone CPython prefix)",
                           "pass the top directory of a conda env or of a CPython installation "
                           "(the one holding bin/ and lib/)");
  }
  env.interpreter = *interp;
  env.python = query_interpreter(env.prefix + "/" + env.interpreter, timeout_ms);

  auto add_prefix = [&](std::string p) {
    p = trim_slashes(std::move(p));
    if (p.size() < 2 || p[0] != '/') return;  // never "/" or a relative path
    for (const auto& q : env.prefix_strings)
      if (q == p) return;
    env.prefix_strings.push_back(p);
  };
  add_prefix(env.prefix);
  add_prefix(absolute(d));
  add_prefix(env.python.sys_prefix);
  return env;
}

}  // namespace airlock::packer
