#include "common/target/node_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "common/error.h"
#include "common/io.h"

namespace airlock::target {

namespace {

// What the kernel allows (MAXSYMLINKS) before ELOOP.
constexpr int kMaxLinks = 40;

// Splits a path into its components, "" and "." dropped.
void push_components(std::vector<std::string>& todo, std::string_view path) {
  // `todo` is a stack: the first component goes last.
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string_view c = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!c.empty() && c != ".") parts.emplace_back(c);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_back(std::move(*it));
}

std::string join(const std::vector<std::string>& parts) {
  if (parts.empty()) return "/";
  std::string s;
  for (const auto& p : parts) s += "/" + p;
  return s;
}

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

}  // namespace

NodeRoot::NodeRoot(std::string dir) : dir_(std::move(dir)) {
  while (!dir_.empty() && dir_.back() == '/') dir_.pop_back();
}

std::optional<std::string> NodeRoot::resolve(std::string_view node_path) const {
  std::vector<std::string> todo;
  push_components(todo, node_path);
  std::vector<std::string> done;  // resolved components: real directories (and the last one)
  int links = 0;
  while (!todo.empty()) {
    std::string c = std::move(todo.back());
    todo.pop_back();
    if (c == "..") {
      // The tree's top is its own parent, as in a chroot.
      if (!done.empty()) done.pop_back();
      continue;
    }
    done.push_back(c);
    std::string here = host(join(done));
    struct stat st {};
    if (::lstat(here.c_str(), &st) != 0) return std::nullopt;
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxLinks) return std::nullopt;
      char buf[PATH_MAX];
      ssize_t n = ::readlink(here.c_str(), buf, sizeof buf);
      if (n <= 0 || static_cast<size_t>(n) >= sizeof buf) return std::nullopt;
      std::string_view target(buf, static_cast<size_t>(n));
      done.pop_back();
      // An absolute target means the tree's top, never this machine's "/".
      if (target.front() == '/') done.clear();
      push_components(todo, target);
      continue;
    }
    if (!todo.empty() && !S_ISDIR(st.st_mode)) return std::nullopt;
  }
  return join(done);
}

std::optional<std::string> NodeRoot::read(std::string_view node_path, size_t max_bytes) const {
  auto resolved = resolve(node_path);
  if (!resolved) return std::nullopt;
  std::string path = host(*resolved);
  // O_NONBLOCK: a FIFO planted under a library name must not hang the probe.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) {
    if (errno == ENOENT) return std::nullopt;
    throw_errno("cannot open", path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno("cannot stat", path);
  if (!S_ISREG(st.st_mode)) throw Error(Exit::kUsage, path + ": not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    throw Error(Exit::kUsage, path + ": " + std::to_string(st.st_size) + " bytes, more than the " +
                                  std::to_string(max_bytes) + " expected of it");
  FileReader r(fd.release(), path);
  std::string out;
  char buf[65536];
  for (;;) {
    size_t n = r.read(std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf), sizeof buf));
    if (n == 0) break;
    // The file may grow while it is read: the cap holds for what is read.
    if (out.size() + n > max_bytes)
      throw Error(Exit::kUsage, path + ": more than the " + std::to_string(max_bytes) + " bytes expected of it");
    out.append(buf, n);
  }
  return out;
}

std::optional<std::vector<std::string>> NodeRoot::list(std::string_view node_path) const {
  auto resolved = resolve(node_path);
  if (!resolved) return std::nullopt;
  std::string path = host(*resolved);
  std::unique_ptr<DIR, DirCloser> d(::opendir(path.c_str()));
  if (!d) return std::nullopt;
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(d.get())) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
    errno = 0;
  }
  if (errno != 0) throw_errno("cannot read directory", path);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace airlock::target
