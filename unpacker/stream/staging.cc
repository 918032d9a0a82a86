#include "unpacker/stream/staging.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <vector>

#include "common/cli.h"
#include "common/error.h"

namespace airlock::unpacker {

namespace {

constexpr const char* kStagingInfix = ".airlock-staging-";

std::pair<std::string, std::string> split(const std::string& dest) {
  std::string d = dest;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  auto slash = d.rfind('/');
  if (slash == std::string::npos) return {".", d};
  return {slash == 0 ? "/" : d.substr(0, slash), d.substr(slash + 1)};
}

// Removes the contents of directory `dfd` (not following symlinks).
bool remove_contents(int dfd) {
  bool ok = true;
  int dup = ::dup(dfd);
  if (dup < 0) return false;
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    return false;
  }
  std::vector<std::pair<std::string, bool>> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    names.emplace_back(n, e->d_type == DT_DIR);
  }
  ::closedir(d);
  for (auto& [n, is_dir] : names) {
    if (::unlinkat(dfd, n.c_str(), 0) == 0) continue;
    if (errno != EISDIR && errno != EPERM) {
      ok = false;
      continue;
    }
    ::fchmodat(dfd, n.c_str(), 0700, 0);
    int sub = ::openat(dfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
      ok = false;
      continue;
    }
    ok = remove_contents(sub) && ok;
    ::close(sub);
    if (::unlinkat(dfd, n.c_str(), AT_REMOVEDIR) != 0) ok = false;
  }
  return ok;
}

}  // namespace

bool remove_tree(const std::string& path, bool strict) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT;
  if (!S_ISDIR(st.st_mode)) {
    if (::unlink(path.c_str()) == 0) return true;
    if (strict) throw_errno("cannot remove", path);
    return false;
  }
  ::chmod(path.c_str(), 0700);
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  bool ok = fd >= 0 && remove_contents(fd);
  if (fd >= 0) ::close(fd);
  if (::rmdir(path.c_str()) == 0 && ok) return true;
  if (strict) throw_errno("cannot remove", path);
  return false;
}

std::string absolute_dest(const std::string& dest) {
  auto [parent, base] = split(dest);
  if (base.empty() || base == "." || base == "..")
    throw Error(Exit::kUsage, "destination \"" + dest + "\" must name a new directory");
  char buf[PATH_MAX];
  if (!::realpath(parent.c_str(), buf)) throw_errno("cannot resolve the destination's parent", parent);
  std::string p = buf;
  return (p == "/" ? "" : p) + "/" + base;
}

int remove_stale_stagings(const std::string& dest) {
  auto [parent, base] = split(dest);
  std::string prefix = base + kStagingInfix;
  DIR* d = ::opendir(parent.c_str());
  if (!d) return 0;
  std::vector<std::string> stale;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.compare(0, prefix.size(), prefix) != 0) continue;
    std::string pid_s = n.substr(prefix.size());
    if (pid_s.empty() || pid_s.size() > 9 || pid_s.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::stol(pid_s));
    // Only stagings whose process is gone: a run in progress keeps its own.
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    stale.push_back(parent + "/" + n);
  }
  ::closedir(d);
  for (const auto& s : stale) {
    warn("removing stale staging directory " + s + " left by an interrupted run");
    remove_tree(s, true);
  }
  return static_cast<int>(stale.size());
}

void refuse_existing_dest(const std::string& dest) {
  struct stat st {};
  if (::lstat(dest.c_str(), &st) == 0)
    throw Error(Exit::kUsage, dest + ": destination already exists", "choose a new directory name with -C");
}

Staging::Staging(const std::string& dest) : dest_(absolute_dest(dest)) {
  // DEST must be new: unpacking never merges into or replaces anything.
  refuse_existing_dest(dest_);
  remove_stale_stagings(dest_);
  path_ = dest_ + kStagingInfix + std::to_string(::getpid());
  if (::mkdir(path_.c_str(), 0700) != 0) throw_errno("cannot create staging directory", path_);
  fd_ = UniqueFd(::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd_) {
    int e = errno;
    ::rmdir(path_.c_str());
    throw_errno("cannot open staging directory", path_, e);
  }
}

Staging::~Staging() {
  if (!committed_) {
    fd_ = UniqueFd();
    // Nothing may be left behind; if something is, say so and where.
    if (!remove_tree(path_))
      warn("could not remove the staging directory " + path_ +
           " (nothing in it was installed); remove it with: rm -rf '" + path_ + "'");
  }
}

void Staging::commit() {
  // The staging directory was private (0700) while filling; DEST gets the
  // usual mode under the caller's umask.
  mode_t mask = static_cast<mode_t>(current_umask());
  if (::fchmod(fd_.get(), 0777 & ~mask) != 0) throw_errno("cannot set mode", path_);
  // RENAME_NOREPLACE: if DEST appeared meanwhile, refuse rather than
  // replace it. Where the kernel or file system lacks it (Linux before
  // 3.15, some network file systems), DEST is made first, empty, so that
  // one that appeared meanwhile fails the mkdir, and the rename then
  // replaces only the directory made here.
  if (::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, dest_.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno != EINVAL && errno != ENOSYS) throw_errno("cannot rename staging directory to", dest_);
    if (::mkdir(dest_.c_str(), 0700) != 0) {
      if (errno == EEXIST) throw Error(Exit::kUsage, dest_ + ": destination appeared meanwhile");
      throw_errno("cannot create", dest_);
    }
    if (::rename(path_.c_str(), dest_.c_str()) != 0) {
      int e = errno;
      ::rmdir(dest_.c_str());
      throw_errno("cannot rename staging directory to", dest_, e);
    }
  }
  committed_ = true;
  // The rename went by name. If another user who may write to DEST's
  // parent put a directory of theirs in the staging directory's place,
  // DEST is now theirs: it was never verified, and is not reported so.
  struct stat ours {}, now {};
  if (::fstat(fd_.get(), &ours) != 0) throw_errno("cannot read", path_);
  if (::lstat(dest_.c_str(), &now) != 0) throw_errno("cannot read", dest_);
  if (ours.st_dev != now.st_dev || ours.st_ino != now.st_ino)
    throw Error(Exit::kVerify,
                dest_ + ": is not the directory that was verified: something replaced the staging directory " +
                    path_ + " before it was renamed",
                "another user can write to " + split(dest_).first +
                    "; do not use " + dest_ + ", report it to your security staff, and unpack into a directory "
                    "only you can write to");
}

void check_free_space(const std::string& dest, uint64_t bytes, uint64_t files) {
  auto [parent, base] = split(dest);
  struct statvfs vfs {};
  if (::statvfs(parent.c_str(), &vfs) != 0) throw_errno("cannot check free space", parent);
  uint64_t avail = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  auto mib = [](uint64_t b) { return std::to_string((b + (1 << 20) - 1) >> 20) + " MiB"; };
  if (avail < bytes)
    throw Error(Exit::kUsage,
                parent + ": not enough free space: the bundle needs " + mib(bytes) + " (content-bytes), " +
                    mib(avail) + " available",
                "free some space or unpack somewhere else with -C");
  if (vfs.f_files != 0 && vfs.f_favail < files)
    throw Error(Exit::kUsage, parent + ": not enough free inodes: the bundle holds " + std::to_string(files) +
                                  " files, " + std::to_string(vfs.f_favail) + " inodes available",
                "unpack somewhere else with -C");
}

}  // namespace airlock::unpacker
