#include "unpacker/stream/entry_policy.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "common/bundle/format.h"

namespace airlock::unpacker {

UnsafeEntry::UnsafeEntry(std::string_view path, const std::string& why)
    : Error(Exit::kUnsafe, "unsafe payload entry " + quote(path) + ": " + why + "; refused",
            "nothing was installed; report the bundle to your security staff") {}

std::string normalise_path(std::string_view stored, bool is_dir) {
  if (stored.empty()) throw UnsafeEntry(stored, "empty name");
  // A NUL cannot reach us through the C API, but a name could still carry
  // one in a pax record; refuse it wherever it shows.
  if (stored.find('\0') != std::string_view::npos) throw UnsafeEntry(stored, "name contains a NUL byte");
  if (stored.front() == '/') throw UnsafeEntry(stored, "absolute path");
  if (stored.size() > kMaxPathBytes + 1)  // a directory's one trailing slash aside
    throw UnsafeEntry(stored.substr(0, 64), "a path of " + std::to_string(stored.size()) + " bytes (at most " +
                                                std::to_string(kMaxPathBytes) + ")");
  std::string_view p = stored;
  if (p.back() == '/') {
    if (!is_dir) throw UnsafeEntry(stored, "trailing slash on something that is not a directory");
    p.remove_suffix(1);
  }
  if (p.size() > kMaxPathBytes)
    throw UnsafeEntry(stored.substr(0, 64), "a path of " + std::to_string(p.size()) + " bytes (at most " +
                                                std::to_string(kMaxPathBytes) + ")");
  // Each component must be a plain name: `..` would climb out of DEST, and
  // `.` or empty components would let two spellings name one file.
  size_t start = 0, depth = 0;
  bool first = true;
  for (;;) {
    size_t slash = p.find('/', start);
    std::string_view c = p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (c == "..") throw UnsafeEntry(stored, "\"..\" component");
    if (c.empty() || c == ".") throw UnsafeEntry(stored, "empty or \".\" path component");
    if (c.size() > kMaxNameBytes)
      throw UnsafeEntry(stored.substr(0, 64), "a name of " + std::to_string(c.size()) + " bytes (at most " +
                                                  std::to_string(kMaxNameBytes) + ")");
    if (++depth > kMaxDepth)
      throw UnsafeEntry(stored.substr(0, 64), "more than " + std::to_string(kMaxDepth) + " levels of directories");
    if (first) {
      // Only the three payload roots: nothing lands beside them in DEST.
      const auto& roots = bundle::kPayloadRoots;
      if (std::find(roots.begin(), roots.end(), c) == roots.end())
        throw UnsafeEntry(stored, "outside env/, wheels/ and airlock/");
      first = false;
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return std::string(p);
}

Admitted EntryPolicy::admit(const RawEntry& e) {
  Admitted a;
  // Entry types: regular files, directories and hardlinks only. A symlink
  // could point anywhere; devices, fifos and sockets have no business in
  // a Python environment.
  if (e.has_hardlink) {
    a.kind = Kind::kHardlink;
  } else if (e.filetype == S_IFREG) {
    a.kind = Kind::kFile;
  } else if (e.filetype == S_IFDIR) {
    a.kind = Kind::kDir;
  } else {
    const char* what = e.filetype == S_IFLNK    ? "symbolic link"
                       : e.filetype == S_IFCHR  ? "character device"
                       : e.filetype == S_IFBLK  ? "block device"
                       : e.filetype == S_IFIFO  ? "fifo"
                       : e.filetype == S_IFSOCK ? "socket"
                                                : "unknown entry type";
    throw UnsafeEntry(e.path, std::string(what) + " (only regular files, directories and hardlinks are allowed)");
  }
  a.path = normalise_path(e.path, a.kind == Kind::kDir);
  if (e.sparse) throw UnsafeEntry(e.path, "sparse file");
  // Privilege bits: a setuid binary in a carried environment is a gift to
  // whoever runs it next.
  if (e.mode & (S_ISUID | S_ISGID | S_ISVTX))
    throw UnsafeEntry(e.path, "setuid, setgid or sticky bit set (mode " + [&] {
      char b[8];
      std::snprintf(b, sizeof b, "%04o", e.mode & 07777);
      return std::string(b);
    }() + ")");
  a.perm = e.mode & 0777;
  if (seen_.count(a.path)) throw UnsafeEntry(e.path, "duplicate path");
  // A path below something that is not a directory (e.g. below a file).
  size_t last_slash = a.path.rfind('/');
  std::string_view parent = std::string_view(a.path).substr(0, last_slash == std::string::npos ? 0 : last_slash);
  bool same_parent = last_slash != std::string::npos && parent == last_parent_;
  if (!same_parent) {
    std::string prefix;
    for (size_t s = a.path.find('/'); s != std::string::npos; s = a.path.find('/', s + 1)) {
      prefix.assign(a.path, 0, s);
      auto it = seen_.find(prefix);
      if (it != seen_.end() && it->second != Kind::kDir) throw UnsafeEntry(e.path, "path below a file");
    }
  }
  if (a.kind != Kind::kDir && implicit_dirs_.count(a.path)) throw UnsafeEntry(e.path, "duplicate path (a directory)");
  if (a.kind == Kind::kHardlink) {
    // Hardlinks only to an EARLIER regular file of this payload: never to
    // a directory, a later entry, another link or anything outside.
    if (e.hardlink.empty()) throw UnsafeEntry(e.path, "hardlink with an empty target");
    std::string t;
    try {
      t = normalise_path(e.hardlink, false);
    } catch (const UnsafeEntry&) {
      throw UnsafeEntry(e.path, "hardlink to " + quote(e.hardlink) + ", outside the payload roots");
    }
    auto it = seen_.find(t);
    if (it == seen_.end() || it->second != Kind::kFile)
      throw UnsafeEntry(e.path, "hardlink to " + quote(e.hardlink) + ", which is not an earlier regular file");
    a.target = t;
  }
  hold(a.path);
  seen_.emplace(a.path, a.kind);
  if (!same_parent) {
    note_parents(a.path);
    last_parent_.assign(parent);
  }
  return a;
}

void EntryPolicy::note_parents(const std::string& path) {
  // From the nearest parent up, until one already noted (its own parents
  // are then noted too); kept top-down, as they are created.
  size_t first_new = parent_order_.size();
  for (size_t s = path.rfind('/'); s != std::string::npos && s > 0; s = path.rfind('/', s - 1)) {
    std::string dir = path.substr(0, s);
    if (implicit_dirs_.count(dir)) break;
    hold(dir);
    parent_order_.push_back(dir);
    implicit_dirs_.insert(std::move(dir));
  }
  std::reverse(parent_order_.begin() + static_cast<std::ptrdiff_t>(first_new), parent_order_.end());
}

void EntryPolicy::hold(std::string_view path) {
  // Each path is kept in a map or set and (parents) a list: its bytes
  // twice, and some 64 bytes of nodes.
  held_ += 2 * path.size() + 64;
  if (held_ > max_held_)
    throw UnsafeEntry(path.substr(0, 64), "the payload's paths need more than " + std::to_string(max_held_ >> 20) +
                                              " MiB of memory to check (many or long directory names)");
}

bool EntryPolicy::is_implicit_dir(const std::string& p) const { return implicit_dirs_.count(p) > 0; }

const Kind* EntryPolicy::kind_of(const std::string& p) const {
  auto it = seen_.find(p);
  return it == seen_.end() ? nullptr : &it->second;
}

}  // namespace airlock::unpacker
