// Walking an environment (or the wheelhouse) into the list of payload
// entries: regular files and directories only, every symlink dereferenced
// (also when it leads outside the tree, as conda's package cache does), a
// file reached twice stored once and then as a hardlink entry.
//
// The order is deterministic: depth first, each directory before its
// contents, names sorted bytewise. Entries hold strings only, so a 55,000
// file prefix costs a few MiB.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/bundle/manifest.h"
#include "common/error.h"

namespace airlock::packer {

struct Environment;

// "walking PATH: ...", exit 2; the hint names --skip-broken-links where
// skipping is possible.
class WalkError : public Error {
 public:
  using Error::Error;
};

// The payload's entry kinds (the manifest's "dir", "file", "hardlink").
using bundle::EntryType;
using bundle::to_string;

struct WalkEntry {
  std::string path;         // archive path: "env/bin/python3.12"
  // Where to read it (through any links, as walked): the walked root's
  // path in place of the archive prefix. Not stored, so a walk of 250,000
  // files costs one path each, not two.
  std::string source() const;
  // kHardlink: archive path of the first occurrence.
  const std::string& link_target() const { return links ? links->target : no_link(); }
  // The symlink's text when this entry was a symlink.
  const std::string& was_link_to() const { return links ? links->was_link_to : no_link(); }
  void set_link_target(std::string t);
  void set_was_link_to(std::string t);
  // Read from another file than the walked one (a patched copy).
  void set_source(std::string s);
  uint64_t size = 0;        // kFile: bytes; kHardlink: the linked file's (not stored again)
  int64_t mtime = 0;        // seconds since the epoch
  uint32_t mode = 0;        // permission bits only (0777 mask)
  EntryType type = EntryType::kFile;
  uint8_t prefix_len = 0;   // of the archive prefix ("env", "wheels") in path
  uint16_t root = 0;        // the walked root (an interned path)

  // Few entries are links: their texts live apart, so an entry is small.
  struct Links {
    std::string target, was_link_to, source;
  };
  std::unique_ptr<Links> links;
  static const std::string& no_link();
};

struct SkippedEntry {
  std::string path;    // archive path it would have had
  std::string source;  // the path on disk
  std::string reason;  // "dangling symbolic link to 'x'", ...
};

struct WalkOptions {
  // Skip (and record) dangling links, directory loops, unreadable files and
  // devices/fifos/sockets instead of stopping with an error.
  bool skip_broken_links = false;
};

struct WalkResult {
  // A deque: an entry stays where it is as more are added, so the packer
  // can read the first files while the walk goes on (WalkFeed).
  std::deque<WalkEntry> entries;
  std::vector<SkippedEntry> skipped;
  std::vector<std::string> warnings;  // e.g. setuid bits dropped
  uint64_t files = 0, hardlinks = 0, dirs = 0;
  uint64_t bytes = 0;  // sum of kFile sizes (what will be read)
};

class Walker;

// Entries handed from a walking thread to the threads that read them, as
// they are found: the packer starts streaming the first files while the
// rest of the tree is still being walked.
class WalkFeed {
 public:
  // A feed of a finished walk (for readers of a complete result).
  static std::unique_ptr<WalkFeed> of(const std::deque<WalkEntry>& entries);
  WalkFeed() = default;
  WalkFeed(const WalkFeed&) = delete;
  WalkFeed& operator=(const WalkFeed&) = delete;

  // Entry i once it is published. nullptr when the walk ended before it or
  // the feed was stopped, or (wait false) when it is not published yet.
  // Rethrows what stopped the walk (a dangling link, say) as soon as it
  // is known: the pack fails anyway, so nothing after it is waited for.
  const WalkEntry* at(size_t i, bool wait = true);
  // What the walk has found so far: files + hardlinks + dirs, and bytes.
  std::pair<uint64_t, uint64_t> totals();
  bool done();
  // Rethrows what stopped the walk, if it has already failed.
  void check();
  // The walking thread's end: everything added is published (not what is
  // held); `failure` (if any) reaches the readers.
  void finish(std::exception_ptr failure = nullptr);
  // The readers are gone: the walker stops at its next entry (it throws
  // WalkFeed::Stopped) and readers waiting get nullptr.
  void stop();
  struct Stopped {};

 private:
  friend class Walker;
  std::mutex mu_;
  std::condition_variable cv_;
  const std::deque<WalkEntry>* entries_ = nullptr;
  size_t published_ = 0;
  uint64_t bytes_ = 0;  // of the regular files added
  int waiting_ = 0;
  bool done_ = false, stopped_ = false;
  bool holding_ = false;  // the walker adds entries that are not published yet
  std::exception_ptr failure_;
};

// Walks several trees into one result; a file met in an earlier tree
// becomes a hardlink to its first occurrence there too.
class Walker {
 public:
  explicit Walker(WalkOptions opts) : opts_(opts) {}
  // Adds `dir` (followed if it is a symlink) as `archive_prefix` ("env",
  // "wheels") and everything below it.
  void walk(const std::string& dir, const std::string& archive_prefix);
  WalkResult& result() { return result_; }
  WalkResult take() { return std::move(result_); }

  // Publishes entries to `feed` as they are added (from the thread that
  // walks), while `publish` is true; entries added while it is false wait
  // for publish_held(), which first lets `edit` change them (the
  // wheelhouse's entries are filtered before anyone reads them).
  void feed_to(WalkFeed* feed) {
    feed_ = feed;
    feed->entries_ = &result_.entries;
  }
  void hold();
  // Regular files for which `replace` returns a path are read from that
  // path instead, with its size (--portable's patched copies). Set before
  // the walk starts.
  struct Replacement {
    std::string source;
    uint64_t size = 0;
  };
  std::function<const Replacement*(dev_t, ino_t)> replace;
  void publish_held(const std::function<void(std::vector<WalkEntry>&)>& edit);

 private:
  void add(WalkEntry&& e);

  struct DevIno {
    dev_t dev;
    ino_t ino;
    bool operator==(const DevIno&) const = default;
  };
  struct Hash {
    size_t operator()(const DevIno& d) const noexcept { return std::hash<uint64_t>()(d.ino * 0x9E3779B97F4A7C15ull ^ d.dev); }
  };
  struct Frame {
    DevIno id;
    const std::string* source;
  };

  void walk_dir(int dirfd, const std::string& source, const std::string& path, std::vector<Frame>& stack);
  void visit(int dirfd, const char* name, const std::string& source, const std::string& path,
             std::vector<Frame>& stack);
  // Errors or (with skip_broken_links) records; `skippable` false always throws.
  void broken(const std::string& path, const std::string& source, const std::string& reason, bool skippable = true);
  uint32_t permission_bits(mode_t mode, const std::string& source);

  WalkOptions opts_;
  WalkResult result_;
  WalkFeed* feed_ = nullptr;
  bool publish_ = true;
  std::unordered_map<DevIno, uint32_t, Hash> seen_;  // regular files -> entry index
  uid_t euid_ = static_cast<uid_t>(-1);
  uint16_t root_ = 0;       // of the walk going on
  uint8_t prefix_len_ = 0;
  std::vector<char> dents_ = std::vector<char>(64 * 1024);  // getdents64 buffer, reused
};

WalkResult walk_tree(const std::string& dir, const std::string& archive_prefix, const WalkOptions& opts = {});
// The environment's prefix as "env".
WalkResult walk_environment(const Environment& env, const WalkOptions& opts = {});

}  // namespace airlock::packer
