#include "unpacker/runtime/link_test.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "common/elf/format.h"
#include "common/io.h"
#include "common/progress.h"
#include "unpacker/runtime/link_test_script.h"

namespace airlock::unpacker {

namespace {

constexpr size_t kStderrCap = 64 * 1024;
constexpr size_t kSummaryFailures = 5;

std::string env_rel(const std::string& rel) { return "env/" + rel; }

std::string objects(size_t n) { return std::to_string(n) + (n == 1 ? " object" : " objects"); }

// The last `n` lines of `s` (n >= 1), without trailing white space.
std::string tail_lines(const std::string& s, size_t n) {
  size_t end = s.find_last_not_of(" \t\r\n");
  if (end == std::string::npos) return {};
  size_t pos = end;
  for (size_t k = 1;; ++k) {
    size_t nl = s.rfind('\n', pos);
    if (nl == std::string::npos) return s.substr(0, end + 1);
    if (k == n || nl == 0) return s.substr(nl + 1, end - nl);
    pos = nl - 1;
  }
}

// Child side of the fork: only async-signal-safe calls until execve.
[[noreturn]] void exec_child(int in, int out, int err, const char* dir, char* const* argv, char* const* envp) {
  ::setpgid(0, 0);
  ::dup2(in, 0);
  ::dup2(out, 1);
  ::dup2(err, 2);
  if (::chdir(dir) != 0) _exit(127);
  ::execve(argv[0], argv, envp);
  const char* msg = "cannot run the environment's interpreter: ";
  const char* why = ::strerror(errno);
  (void)!::write(2, msg, std::strlen(msg));
  (void)!::write(2, why, std::strlen(why));
  (void)!::write(2, "\n", 1);
  _exit(127);
}

// The interpreter's process: its group (its children, the objects being
// loaded) is killed if the test is left early.
class Interpreter {
 public:
  explicit Interpreter(pid_t pid) : pid_(pid) {}
  ~Interpreter() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);  // the leader is not reaped yet: the group id is still its own
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;
  // Stops the whole group (overall timeout).
  void kill_group() {
    if (pid_ > 0) ::kill(-pid_, SIGKILL);
  }
  int wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_;
};

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = ::sigabbrev_np(WTERMSIG(status));
    return std::string("killed by signal ") + (name ? std::string("SIG") + name : std::to_string(WTERMSIG(status)));
  }
  return "status " + std::to_string(status);
}

}  // namespace

bool is_loadable_object(const elf::DynamicInfo& info) {
  return info.type == elf::format::kEtDyn && !info.interp.has_value();
}

bool skip_matches(std::span<const std::string> globs, const std::string& rel) {
  for (const auto& g : globs)
    if (::fnmatch(g.c_str(), rel.c_str(), 0) == 0) return true;
  return false;
}

namespace {

// The objects among the walked entries under `prefix` ("" or "env/"),
// named relative to it; `base` is the absolute directory the walk's
// paths are relative to.
ObjectScan objects_in(const WalkedTree& w, const std::string& base, std::string_view prefix,
                      std::span<const std::string> skip_globs, const KnownFiles* known_files) {
  struct Found {
    std::vector<std::string> names;
    uint64_t size = 0;
  };
  std::map<std::pair<dev_t, ino_t>, Found> files;
  ObjectScan scan;
  for (size_t i = 0; i < w.entries.size(); ++i) {
    const TreeEntry& e = w.entries[i];
    if (e.type != NodeType::kFile || e.size < 64 || e.path.compare(0, prefix.size(), prefix) != 0) continue;
    check_interrupted();
    const TreeFileId& id = w.ids[i];
    std::string rel = e.path.substr(prefix.size());
    auto known = files.find({id.dev, id.ino});
    if (known != files.end()) {
      known->second.names.push_back(std::move(rel));
      continue;
    }
    if (known_files) {
      const KnownFile* k = known_files->find(id.stamp);
      if (k && !k->elf64) continue;
    }
    const std::string path = base + "/" + e.path;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
      scan.unreadable.push_back(rel + ": " + std::strerror(errno));
      continue;
    }
    uint8_t head[16];
    ssize_t n = ::pread(fd.get(), head, sizeof head, 0);
    if (n < 0) throw_errno("cannot read", path);
    if (elf::probe(std::span<const uint8_t>(head, static_cast<size_t>(n))).kind != elf::Kind::kElf64Le) continue;
    bool loadable = false;
    try {
      elf::DynamicInfo info = elf::read_dynamic_file(path);
      loadable = is_loadable_object(info);
    } catch (const elf::ElfError& err) {
      std::string why = err.what(), named = "reading ELF file " + path + ": ";
      if (why.compare(0, named.size(), named) == 0) why.erase(0, named.size());
      scan.unreadable.push_back(rel + ": " + why);
      continue;
    }
    if (loadable) files[{id.dev, id.ino}] = Found{{std::move(rel)}, e.size};
  }
  for (auto& [id, f] : files) {
    std::sort(f.names.begin(), f.names.end());
    bool skip = std::any_of(f.names.begin(), f.names.end(), [&](const auto& n) { return skip_matches(skip_globs, n); });
    if (skip)
      scan.skipped.push_back(f.names.front());
    else
      scan.objects.push_back({f.names.front(), f.size});
  }
  std::sort(scan.objects.begin(), scan.objects.end(), [](const auto& a, const auto& b) { return a.rel < b.rel; });
  std::sort(scan.skipped.begin(), scan.skipped.end());
  std::sort(scan.unreadable.begin(), scan.unreadable.end());
  return scan;
}

}  // namespace

ObjectScan find_shared_objects(const std::string& env_dir, std::span<const std::string> skip_globs,
                               const KnownFiles* known_files) {
  WalkedTree w = walk_tree(env_dir, /*skip_record=*/false);
  return objects_in(w, env_dir, "", skip_globs, known_files);
}

ObjectScan find_shared_objects(const WalkedTree& dest_walk, const std::string& dest,
                               std::span<const std::string> skip_globs, const KnownFiles* known_files) {
  return objects_in(dest_walk, dest, "env/", skip_globs, known_files);
}

ObjectScan find_shared_objects_among(const std::string& dest, std::span<const std::string> paths,
                                     std::span<const std::string> skip_globs, const KnownFiles* known_files) {
  UniqueFd root(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_errno("cannot open directory", dest);
  WalkedTree w;
  for (const std::string& p : paths) {
    if (p.rfind("env/", 0) != 0) continue;
    struct stat st;
    if (::fstatat(root.get(), p.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("cannot stat", dest + "/" + p);
    if (!S_ISREG(st.st_mode)) continue;
    TreeEntry e;
    e.path = p;
    e.type = NodeType::kFile;
    e.size = static_cast<uint64_t>(st.st_size);
    w.entries.push_back(std::move(e));
    w.ids.push_back({st.st_dev, st.st_ino, st.st_nlink, FileStamp::of(st)});
  }
  return objects_in(w, dest, "env/", skip_globs, known_files);
}

std::vector<std::string> manifest_skip_globs(const bundle::Manifest& m) {
  std::vector<std::string> globs;
  auto lt = m.extra.find("link_test");
  if (lt == m.extra.end()) return globs;
  if (!lt->is_object()) throw bundle::ManifestError("\"link_test\" is not an object");
  auto skip = lt->find("skip");
  if (skip == lt->end()) return globs;
  if (!skip->is_array()) throw bundle::ManifestError("\"link_test\".\"skip\" is not an array of globs");
  for (const auto& g : *skip) {
    if (!g.is_string() || g.get<std::string>().empty())
      throw bundle::ManifestError("\"link_test\".\"skip\" holds " + quote(g.dump()) + ", not a glob");
    globs.push_back(g.get<std::string>());
  }
  return globs;
}

const char* to_string(LoadStatus s) {
  switch (s) {
    case LoadStatus::kLoaderError: return "loader-error";
    case LoadStatus::kCrashed: return "crashed";
    case LoadStatus::kExited: return "exited";
    case LoadStatus::kTimedOut: return "timeout";
    case LoadStatus::kNoStart: return "interpreter";
    case LoadStatus::kNotRun: return "not-run";
  }
  return "?";
}

std::optional<LoadFailure> load_outcome(const nlohmann::json& line, const std::string& rel, const std::string& abs) {
  auto str = [&](const char* key) {
    auto it = line.find(key);
    if (it == line.end()) return std::string();
    if (!it->is_string()) throw Error(Exit::kInstall, "link test: unexpected output " + quote(line.dump()));
    return it->get<std::string>();
  };
  LoadFailure f;
  f.path = rel;
  f.output = str("output");
  if (line.contains("error")) {
    f.status = LoadStatus::kLoaderError;
    f.message = str("error");
    // dlerror() names the object it was asked for first; the line already does.
    if (f.message.compare(0, abs.size() + 2, abs + ": ") == 0) f.message.erase(0, abs.size() + 2);
  } else if (line.contains("signal")) {
    f.status = LoadStatus::kCrashed;
    f.message = "killed by " + str("signal") + " while loading (a crash in its initialisation code)";
  } else if (line.contains("exit") && line["exit"].is_number_integer()) {
    f.status = LoadStatus::kExited;
    f.message = "the process ended with exit status " + std::to_string(line["exit"].get<int>()) +
                " while loading (its initialisation code called exit)";
  } else if (line.contains("timeout") && line["timeout"].is_number()) {
    f.status = LoadStatus::kTimedOut;
    f.message = "still loading after " + std::to_string(static_cast<long>(line["timeout"].get<double>())) +
                " s (stopped)";
  } else if (line.size() == 1 || (line.size() == 2 && line.contains("output"))) {
    return std::nullopt;  // {"i": N}: loaded
  } else {
    throw Error(Exit::kInstall, "link test: unexpected output " + quote(line.dump()));
  }
  return f;
}

std::vector<std::string> link_test_argv(const std::string& dest, const bundle::Manifest& m, const LinkTestOptions& o) {
  unsigned jobs = o.jobs;
  if (jobs == 0) jobs = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  // -B: no bytecode written either; the test changes nothing in DEST (the
  // unpack records the tree while it runs).
  return {dest + "/" + m.interpreter, "-I", "-S", "-B", "-c", kLinkTestScript, std::to_string(o.object_timeout),
          std::to_string(jobs)};
}

// Nothing of the caller's: LD_LIBRARY_PATH or LD_PRELOAD would let an
// object load here that fails for the users; LC_ALL=C keeps the loader's
// messages in English, as people search for them.
std::vector<std::string> link_test_environment() { return {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}; }

LinkTestResult run_link_test(const std::string& dest, const bundle::Manifest& m, const LinkTestOptions& o) {
  LinkTestResult r;
  r.interpreter = m.interpreter;
  ObjectScan scan = o.scan ? *o.scan : find_shared_objects(dest + "/env", o.skip_globs, o.known);
  r.objects = scan.objects.size();
  r.skipped = scan.skipped;
  r.unreadable = scan.unreadable;
  if (scan.objects.empty()) return r;  // nothing to load: no interpreter needed
  // The interpreter is run: it must be a path inside DEST.
  if (m.interpreter.empty() || m.interpreter.front() == '/' || m.interpreter.find("..") != std::string::npos)
    throw Error(Exit::kInstall, dest + ": the manifest names no usable interpreter (" + quote(m.interpreter) +
                                  ") to load the shared objects with");

  std::string input;
  uint64_t total_bytes = 0;
  for (const auto& obj : scan.objects) {
    input += dest + "/env/" + obj.rel;
    input.push_back('\0');
    total_bytes += obj.size;
  }
  std::vector<std::string> argv_s = link_test_argv(dest, m, o), env_s = link_test_environment();
  std::vector<char*> argv, envp;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);

  int p_in[2], p_out[2], p_err[2];
  if (::pipe2(p_in, O_CLOEXEC) != 0) throw_errno("pipe failed", "link test");
  UniqueFd in_r(p_in[0]), in_w(p_in[1]);
  if (::pipe2(p_out, O_CLOEXEC) != 0) throw_errno("pipe failed", "link test");
  UniqueFd out_r(p_out[0]), out_w(p_out[1]);
  if (::pipe2(p_err, O_CLOEXEC) != 0) throw_errno("pipe failed", "link test");
  UniqueFd err_r(p_err[0]), err_w(p_err[1]);
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork failed", "link test");
  if (pid == 0) exec_child(in_r.get(), out_w.get(), err_w.get(), dest.c_str(), argv.data(), envp.data());
  ::setpgid(pid, pid);  // also done by the child: whichever runs first
  Interpreter interp(pid);
  in_r = UniqueFd();
  out_w = UniqueFd();
  err_w = UniqueFd();
  ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);

  Progress progress("link test", o.progress, scan.objects.size(), total_bytes);
  auto tick = [&](uint64_t files, uint64_t bytes) {
    // Progress redraws on every 64th add(); an object may take seconds.
    progress.add(files, bytes);
    for (int k = 0; k < 63; ++k) progress.add(0, 0);
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.overall_timeout);
  std::vector<bool> done(scan.objects.size());
  std::string out_buf, err_buf, ctypes_error;
  size_t written = 0, reported = 0;
  bool ready = false, timed_out = false;
  auto on_line = [&](const std::string& text) {
    nlohmann::json line = nlohmann::json::parse(text, nullptr, false);
    if (line.is_discarded() || !line.is_object()) throw Error(Exit::kInstall, "link test: unexpected output " + quote(text));
    if (line.contains("ready")) {
      ready = true;
      return;
    }
    if (line.contains("ctypes") && line["ctypes"].is_string()) {
      ctypes_error = line["ctypes"].get<std::string>();
      return;
    }
    if (!line.contains("i") || !line["i"].is_number_unsigned() || line["i"].get<size_t>() >= done.size() ||
        done[line["i"].get<size_t>()])
      throw Error(Exit::kInstall, "link test: unexpected output " + quote(text));
    size_t i = line["i"].get<size_t>();
    done[i] = true;
    ++reported;
    const SharedObject& obj = scan.objects[i];
    auto f = load_outcome(line, env_rel(obj.rel), dest + "/env/" + obj.rel);
    if (f)
      r.failures.push_back(std::move(*f));
    else
      ++r.loaded;
    tick(1, obj.size);
  };

  // Until the interpreter closes its stdout and stderr (it has exited):
  // the paths are written as it reads them, its lines read as they come.
  while (out_r || err_r) {
    pollfd fds[3];
    nfds_t n = 0;
    int out_at = -1, err_at = -1, in_at = -1;
    if (out_r) out_at = static_cast<int>(n), fds[n++] = {out_r.get(), POLLIN, 0};
    if (err_r) err_at = static_cast<int>(n), fds[n++] = {err_r.get(), POLLIN, 0};
    if (in_w) in_at = static_cast<int>(n), fds[n++] = {in_w.get(), POLLOUT, 0};
    int rc = ::poll(fds, n, 250);
    if (rc < 0 && errno != EINTR) throw_errno("poll failed", "link test");
    check_interrupted();
    if (std::chrono::steady_clock::now() > deadline) {
      timed_out = true;
      interp.kill_group();
      break;
    }
    if (rc <= 0) {
      tick(0, 0);
      continue;
    }
    if (in_at >= 0 && fds[in_at].revents) {
      ssize_t w = ::write(in_w.get(), input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      // EPIPE: the interpreter is gone (or never started); its exit tells why.
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) in_w = UniqueFd();
    }
    char buf[16384];
    if (out_at >= 0 && fds[out_at].revents) {
      ssize_t got = ::read(out_r.get(), buf, sizeof buf);
      if (got <= 0 && !(got < 0 && errno == EINTR)) {
        out_r = UniqueFd();
      } else if (got > 0) {
        out_buf.append(buf, static_cast<size_t>(got));
        for (size_t nl; (nl = out_buf.find('\n')) != std::string::npos;) {
          std::string text = out_buf.substr(0, nl);
          out_buf.erase(0, nl + 1);
          on_line(text);
        }
      }
    }
    if (err_at >= 0 && fds[err_at].revents) {
      ssize_t got = ::read(err_r.get(), buf, sizeof buf);
      if (got <= 0 && !(got < 0 && errno == EINTR)) {
        err_r = UniqueFd();
      } else if (got > 0) {
        err_buf.append(buf, static_cast<size_t>(got));
        if (err_buf.size() > kStderrCap) err_buf.erase(0, err_buf.size() - kStderrCap);
      }
    }
  }
  progress.done();
  int status = interp.wait();

  // What stopped the test itself comes first: it explains the objects
  // that were never tried.
  std::string said = tail_lines(err_buf, 15);
  std::optional<LoadFailure> stop;
  if (!ctypes_error.empty()) {
    stop = LoadFailure{m.interpreter, LoadStatus::kNoStart, "cannot import ctypes: " + ctypes_error, said};
  } else if (!ready) {
    // One line is the usual loader's complaint ("version `GLIBC_2.34' not
    // found"): it is the message; more are shown under it.
    std::string why = "the interpreter cannot start (" + describe_status(status) + ")";
    bool one_line = !said.empty() && said.find('\n') == std::string::npos;
    stop = LoadFailure{m.interpreter, LoadStatus::kNoStart, why + (said.empty() ? "" : one_line ? ": " + said : ":"),
                       one_line ? "" : said};
  } else if (timed_out) {
    stop = LoadFailure{m.interpreter, LoadStatus::kNotRun,
                       "the link test did not finish within " + std::to_string(o.overall_timeout) + " s; " +
                           objects(done.size() - reported) + " not tested",
                       said};
  } else if (reported < done.size()) {
    stop = LoadFailure{m.interpreter, LoadStatus::kNotRun,
                       "the interpreter ended (" + describe_status(status) + ") with " +
                           objects(done.size() - reported) + " not tested",
                       said};
  }
  std::sort(r.failures.begin(), r.failures.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  if (stop) r.failures.insert(r.failures.begin(), std::move(*stop));
  return r;
}

nlohmann::json link_test_json(const LinkTestResult& r) {
  nlohmann::json failures = nlohmann::json::array();
  for (const auto& f : r.failures) {
    nlohmann::json j{{"path", f.path}, {"status", to_string(f.status)}, {"message", f.message}};
    if (!f.output.empty()) j["output"] = f.output;
    failures.push_back(std::move(j));
  }
  return {{"ok", r.ok()},
          {"interpreter", r.interpreter},
          {"objects", r.objects},
          {"loaded", r.loaded},
          {"failed", r.failures.size()},
          {"skipped", r.skipped.size()},
          {"skipped_paths", r.skipped},
          {"unreadable", r.unreadable},
          {"failures", std::move(failures)}};
}

std::string link_test_summary(const LinkTestResult& r) {
  std::string s = std::to_string(r.loaded) + " of " + std::to_string(r.objects) +
                  " shared objects loaded with " + r.interpreter + "; " + std::to_string(r.skipped.size()) +
                  " exempt";
  if (!r.unreadable.empty()) s += "; " + std::to_string(r.unreadable.size()) + " unreadable ELF files not tried";
  if (r.ok()) return s;
  s += "; " + std::to_string(r.failures.size()) + " failed:";
  for (size_t k = 0; k < r.failures.size() && k < kSummaryFailures; ++k)
    s += (k ? "; " : " ") + r.failures[k].path + ": " + r.failures[k].message;
  if (r.failures.size() > kSummaryFailures) s += "; and " + std::to_string(r.failures.size() - kSummaryFailures) + " more";
  return s;
}

Error link_test_error(const LinkTestResult& r, const std::string& dest, const std::string& hint) {
  std::string msg = "link test: " + std::to_string(r.failures.size()) + " of " + std::to_string(r.objects) +
                    " shared objects under " + dest + "/env cannot be loaded with " + r.interpreter + ":";
  if (!r.failures.empty() && r.failures.front().status == LoadStatus::kNoStart)
    msg = "link test: " + dest + "/" + r.interpreter + " cannot load the environment's shared objects:";
  for (const auto& f : r.failures) {
    msg += "\n  " + f.path + ": " + f.message;
    std::string out = tail_lines(f.output, f.status == LoadStatus::kNoStart ? 15 : 5);
    for (size_t pos = 0; !out.empty() && pos != std::string::npos;) {
      size_t nl = out.find('\n', pos);
      msg += "\n    | " + out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      pos = nl == std::string::npos ? nl : nl + 1;
    }
  }
  return Error(Exit::kInstall, msg, hint);
}

}  // namespace airlock::unpacker
