// A system tree as its own machine sees it: "/" on the node itself, or a
// directory where such a tree is mounted (an image, a chroot, a test).
//
// Paths are given as the node spells them ("/etc/ld.so.cache"). Symbolic
// links are followed inside the tree: an absolute target starts again at
// the tree's top, and ".." stops there, as if the process were chrooted
// into it. Nothing outside the tree is ever read through a link.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::target {

class NodeRoot {
 public:
  // "" or "/" for this machine's own tree. Trailing slashes are ignored.
  explicit NodeRoot(std::string dir);

  // "" for this machine's own tree, else the directory without a trailing slash.
  const std::string& dir() const { return dir_; }
  // Where a node path is on this machine, without resolving anything:
  // host("/etc/x") is DIR/etc/x. For messages and for resolved paths.
  std::string host(std::string_view node_path) const { return dir_ + std::string(node_path); }

  // The node path with every symbolic link resolved inside the tree
  // ("/lib64/ld-linux-x86-64.so.2" -> "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
  // or nullopt when a component is missing or not a directory, a link
  // cannot be read, or there are more than 40 links (a loop).
  std::optional<std::string> resolve(std::string_view node_path) const;

  // The whole file at a node path (resolved), or nullopt when it does not
  // exist. Throws Error (exit 2) when it is not a regular file, cannot be
  // read, or is larger than `max_bytes`.
  std::optional<std::string> read(std::string_view node_path, size_t max_bytes) const;

  // The names in a directory (resolved), sorted, without "." and "..";
  // nullopt when it does not exist or is not a directory.
  std::optional<std::vector<std::string>> list(std::string_view node_path) const;

 private:
  std::string dir_;
};

}  // namespace airlock::target
