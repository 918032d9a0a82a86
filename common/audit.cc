#include "common/audit.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include "common/cli.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/io.h"
#include "version.h"

namespace airlock {

namespace {

const std::string kZeros(64, '0');

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

// getpwuid() needs NSS shared objects, which the static unpacker cannot
// load; read /etc/passwd directly and fall back to $USER.
std::string user_name(uid_t uid) {
  std::ifstream f("/etc/passwd");
  std::string line;
  while (std::getline(f, line)) {
    auto a = line.find(':');
    auto b = line.find(':', a + 1);
    auto c = line.find(':', b + 1);
    if (a == std::string::npos || b == std::string::npos || c == std::string::npos) continue;
    if (line.substr(b + 1, c - b - 1) == std::to_string(uid)) return line.substr(0, a);
  }
  const char* u = std::getenv("USER");
  return u ? u : "";
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

void mkdirs(const std::string& dir) {
  std::string cur;
  std::stringstream ss(dir);
  std::string part;
  if (!dir.empty() && dir[0] == '/') cur = "";
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    std::string sub = dir.substr(0, pos);
    if (sub.empty()) continue;
    if (::mkdir(sub.c_str(), 0700) != 0 && errno != EEXIST) throw_errno("cannot create audit log directory", sub);
  }
}

// Last line of a file (without its LF), reading backwards from the end.
std::string last_line(int fd) {
  off_t end = ::lseek(fd, 0, SEEK_END);
  if (end <= 0) return "";
  std::string tail;
  off_t pos = end;
  const off_t step = 4096;
  while (pos > 0) {
    off_t n = std::min(step, pos);
    pos -= n;
    std::string chunk(static_cast<size_t>(n), '\0');
    if (::pread(fd, chunk.data(), static_cast<size_t>(n), pos) != n) return "";
    tail = chunk + tail;
    // tail ends with '\n'; look for the previous one.
    auto nl = tail.rfind('\n', tail.size() >= 2 ? tail.size() - 2 : 0);
    if (tail.size() >= 2 && nl != std::string::npos && nl < tail.size() - 1) return tail.substr(nl + 1, tail.size() - nl - 2);
  }
  if (!tail.empty() && tail.back() == '\n') tail.pop_back();
  return tail;
}

}  // namespace

std::string audit_log_path(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* e = std::getenv("AIRLOCK_AUDIT_LOG"); e && *e) return e;
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return std::string(x) + "/airlock/audit.jsonl";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.local/state/airlock/audit.jsonl";
}

void audit_append(const std::string& path, const AuditEvent& ev) {
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) mkdirs(path.substr(0, slash));
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd) throw_errno("cannot open audit log", path);
  if (::flock(fd.get(), LOCK_EX) != 0) throw_errno("cannot lock audit log", path);
  std::string prev_line = last_line(fd.get());
  nlohmann::ordered_json rec;
  rec["time"] = utc_now();
  rec["host"] = host_name();
  uid_t uid = ::getuid();
  rec["user"] = user_name(uid);
  rec["uid"] = uid;
  rec["tool"] = program_name();
  rec["version"] = AIRLOCK_VERSION;
  rec["event"] = ev.event;
  rec["bundle_id"] = ev.bundle_id;
  rec["bundle_sha256"] = ev.bundle_sha256;
  rec["signer_key_id"] = ev.signer_key_id;
  rec["marking"] = ev.marking;
  rec["outcome"] = ev.outcome;
  rec["detail"] = ev.detail;
  for (auto& [k, v] : ev.extra.items()) rec[k] = v;
  rec["prev"] = prev_line.empty() ? kZeros : sha256_hex(prev_line);
  std::string line = rec.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  FdWriter w(fd.get(), path);
  w.write(line);
  w.flush();
  if (::fsync(fd.get()) != 0 && errno != EINVAL) throw_errno("fsync failed", path);
}

AuditCheck audit_verify(const std::string& path) {
  std::string text = read_file(path);
  AuditCheck r;
  std::string prev = kZeros;
  size_t start = 0;
  size_t lineno = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) {
      r.ok = false;
      r.problem = "line " + std::to_string(lineno + 1) + ": last record is not terminated (cut off?)";
      return r;
    }
    std::string line = text.substr(start, nl - start);
    ++lineno;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const std::exception& e) {
      r.ok = false;
      r.problem = "line " + std::to_string(lineno) + ": not a JSON record";
      return r;
    }
    if (!j.is_object() || !j.contains("prev") || !j["prev"].is_string()) {
      r.ok = false;
      r.problem = "line " + std::to_string(lineno) + ": record has no \"prev\" hash";
      return r;
    }
    if (j["prev"].get<std::string>() != prev) {
      r.ok = false;
      r.problem = "line " + std::to_string(lineno) + ": \"prev\" is " + j["prev"].get<std::string>() +
                  " but the previous line hashes to " + prev +
                  " (a record before it was edited, removed or reordered)";
      return r;
    }
    prev = sha256_hex(line);
    ++r.records;
    start = nl + 1;
  }
  r.last_hash = prev;
  return r;
}

}  // namespace airlock
