#include "unpacker/stream/extract.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "common/bundle/format.h"
#include "common/elf/elf.h"
#include "common/hash.h"
#include "common/io.h"
#include "unpacker/stream/payload_tar.h"
#include "unpacker/stream/writer_pool.h"

namespace airlock::unpacker {

namespace {

constexpr size_t kPoolFileMax = 4 << 20;        // bigger files are streamed by the reader thread
constexpr size_t kPoolQueuedBytes = 24 << 20;   // bound on bytes waiting for a writer
constexpr uint64_t kMaxManifestBytes = 512 << 20;
constexpr uint64_t kMaxCaptureBytes = 64 << 20;
constexpr unsigned kDefaultThreads = 4;

unsigned thread_count(unsigned asked) {
  if (asked) return asked;
  if (const char* e = std::getenv("AIRLOCK_UNPACK_THREADS"); e && *e) {
    long n = std::strtol(e, nullptr, 10);
    if (n >= 1 && n <= 64) return static_cast<unsigned>(n);
  }
  return kDefaultThreads;
}

struct DirMode {
  std::string path;
  uint32_t perm;
  timespec mtime;
  bool explicit_entry;
};

}  // namespace

ExtractResult extract_payload(PayloadStream& payload, const ExtractOptions& opts) {
  ExtractResult res;
  // Files get their mode through open(), which applies the umask;
  // directories get theirs through chmod at the end, which does not: the
  // umask is applied to them here, so both follow it alike.
  const mode_t umask_bits = static_cast<mode_t>(current_umask());
  PayloadTar tar([&payload] { return payload.next(); });

  const bool write = opts.dirfd >= 0;
  std::unique_ptr<WriterPool> pool;
  if (write) pool = std::make_unique<WriterPool>(opts.dirfd, thread_count(opts.threads), kPoolQueuedBytes);
  EntryPolicy policy;
  std::unordered_set<std::string> made_dirs;
  std::vector<DirMode> dirs;
  std::unordered_map<std::string, size_t> dir_index;
  std::unordered_set<std::string> explicit_dirs;
  std::vector<size_t> hardlinks;
  bool manifest_seen = false;
  size_t parents_of_entries = SIZE_MAX;  // implied parents of members other than the manifest
  std::jthread manifest_parser;  // joined on every way out, before `res` goes
  auto last_progress = std::chrono::steady_clock::now();

  auto mkdir_at = [&](const std::string& p) {
    if (made_dirs.count(p)) return;
    // 0700 while extracting; the recorded mode is applied at the end so a
    // read-only directory can still be filled.
    if (::mkdirat(opts.dirfd, p.c_str(), 0700) != 0) throw_errno("cannot create directory", p);
    made_dirs.insert(p);
  };
  std::string last_parent;  // made, with all its ancestors
  auto ensure_parents = [&](const std::string& p) {
    if (!write) return;
    size_t last_slash = p.rfind('/');
    if (last_slash == std::string::npos) return;
    if (std::string_view(p).substr(0, last_slash) == last_parent) return;
    for (size_t s = p.find('/'); s != std::string::npos; s = p.find('/', s + 1)) {
      std::string d = p.substr(0, s);
      if (!made_dirs.count(d)) {
        mkdir_at(d);
        dir_index[d] = dirs.size();
        dirs.push_back({d, 0755, {}, false});
      }
    }
    last_parent.assign(p, 0, last_slash);
  };

  for (;;) {
    check_interrupted();
    TarMember tm;
    if (!tar.next(tm)) break;
    RawEntry raw;
    raw.path = std::move(tm.path);
    raw.filetype = tm.filetype;
    raw.mode = tm.mode | tm.filetype;
    if (tm.type == '1') {
      raw.has_hardlink = true;
      raw.hardlink = std::move(tm.link);
    }
    raw.sparse = tm.sparse;
    size_t parents_before = policy.parent_dirs().size();
    Admitted ad = policy.admit(raw);  // throws UnsafeEntry: exit 3 naming the entry

    // The manifest is the last member: anything after it was not listed.
    if (manifest_seen)
      throw Error(Exit::kVerify, "payload member \"" + ad.path + "\" follows airlock/manifest.json (the last member)");
    bool is_manifest = ad.path == bundle::kManifestPath;
    if (is_manifest && ad.kind != Kind::kFile)
      throw Error(Exit::kVerify, "payload: airlock/manifest.json is not a regular file");

    timespec mtime{static_cast<time_t>(tm.mtime), tm.mtime_nsec};
    ExtractedEntry out{ad.path, ad.kind, ad.perm, 0, {}, ad.target};
    size_t index = res.entries.size();

    if (ad.kind == Kind::kDir) {
      explicit_dirs.insert(ad.path);
      if (write) {
        ensure_parents(ad.path);
        if (auto it = dir_index.find(ad.path); it != dir_index.end()) {
          dirs[it->second] = {ad.path, ad.perm, mtime, true};
        } else {
          mkdir_at(ad.path);
          dir_index[ad.path] = dirs.size();
          dirs.push_back({ad.path, ad.perm, mtime, true});
        }
      }
    } else if (ad.kind == Kind::kHardlink) {
      ensure_parents(ad.path);
      hardlinks.push_back(index);  // linked at the end, once its target is written
    } else {
      ensure_parents(ad.path);
      uint64_t declared = tm.size;
      bool keep = is_manifest || std::find(opts.capture.begin(), opts.capture.end(), ad.path) != opts.capture.end();
      uint64_t keep_cap = is_manifest ? kMaxManifestBytes : kMaxCaptureBytes;
      bool pooled = write && declared <= kPoolFileMax && !keep;
      std::vector<uint8_t> data;
      std::string kept;
      Sha256 sha;
      UniqueFd fd;
      if (write && !pooled) {
        fd = UniqueFd(::openat(opts.dirfd, ad.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                               ad.perm));
        if (!fd) throw_errno("cannot create", ad.path);
      }
      if (pooled) data = pool->take_buffer(static_cast<size_t>(declared));
      uint64_t size = 0;
      uint8_t head[16];  // the first bytes, for elf64
      size_t head_len = 0;
      for (;;) {
        std::span<const uint8_t> piece = tar.data();
        if (piece.empty()) break;
        size_t n = piece.size();
        const uint8_t* p = piece.data();
        size_t take = std::min(n, sizeof head - head_len);
        std::memcpy(head + head_len, p, take);
        head_len += take;
        size += n;
        if (pooled) {
          data.insert(data.end(), p, p + n);
          continue;
        }
        sha.update({p, n});
        if (keep) {
          if (size > keep_cap) throw Error(Exit::kVerify, "payload: " + ad.path + " is larger than " +
                                                              std::to_string(keep_cap) + " bytes");
          kept.append(reinterpret_cast<const char*>(p), n);
        }
        for (size_t done = 0; write && done < n;) {
          ssize_t w = ::write(fd.get(), p + done, n - done);
          if (w < 0) {
            if (errno == EINTR) continue;
            throw_errno("write failed", ad.path);
          }
          done += static_cast<size_t>(w);
        }
        check_interrupted();
      }
      out.size = size;
      out.elf64 = elf::probe(std::span<const uint8_t>(head, head_len)).kind == elf::Kind::kElf64Le;
      res.file_bytes += size;
      if (pooled) {
        FileJob job{index, ad.path, ad.perm, mtime, std::move(data)};
        pool->submit(std::move(job));
      } else {
        out.sha256 = sha.hex_digest();
        if (write) {
          timespec times[2] = {mtime, mtime};
          if (::futimens(fd.get(), times) != 0) throw_errno("cannot set modification time", ad.path);
          struct stat st {};
          if (::fstat(fd.get(), &st) != 0) throw_errno("cannot read", ad.path);
          out.stamp = FileStamp::of(st);
          if (::close(fd.release()) != 0) throw_errno("close failed", ad.path);
        }
      }
      if (is_manifest) {
        res.manifest_text = std::move(kept);
        manifest_seen = true;
        parents_of_entries = parents_before;  // "airlock" counts only if another member implied it
        manifest_parser = std::jthread([&res] {
          try {
            res.manifest = bundle::Manifest::parse(res.manifest_text);
          } catch (...) {
            res.manifest_error = std::current_exception();
          }
        });
      } else if (keep) {
        res.captured[ad.path] = std::move(kept);
      }
    }
    if (!is_manifest) res.entries.push_back(std::move(out));

    if (opts.progress) {
      auto now = std::chrono::steady_clock::now();
      if (now - last_progress > std::chrono::milliseconds(250)) {
        last_progress = now;
        std::cerr << "\rextracting: " << res.entries.size() << " entries, " << (res.file_bytes >> 20) << " MiB"
                  << std::flush;
      }
    }
  }
  if (opts.progress) std::cerr << "\rextracting: " << res.entries.size() << " entries, " << (res.file_bytes >> 20)
                               << " MiB\n";
  // The stream must end cleanly: age's final chunk authenticated, the zstd
  // frame complete, exactly content-bytes of tar.
  payload.finish();
  if (pool) {
    for (WrittenFile& w : pool->finish()) {
      res.entries[w.index].sha256 = std::move(w.sha256);
      res.entries[w.index].stamp = w.stamp;
    }
  }
  if (!manifest_seen)
    throw Error(Exit::kVerify, "payload has no airlock/manifest.json (it must be the last member)");

  if (write) {
    std::unordered_set<std::string_view> linked;  // targets of hardlinks
    for (size_t i : hardlinks) {
      const auto& h = res.entries[i];
      if (::linkat(opts.dirfd, h.target.c_str(), opts.dirfd, h.path.c_str(), 0) != 0)
        throw_errno("cannot create hardlink to " + h.target, h.path);
      linked.insert(h.target);
    }
    // A new name changes the file's ctime: its stamp is taken again, so
    // the record still takes the digest computed while it was written.
    for (ExtractedEntry& e : res.entries) {
      if (linked.empty()) break;
      if (e.kind != Kind::kFile || !linked.erase(e.path) || e.stamp.ino == 0) continue;
      struct stat st {};
      if (::fstatat(opts.dirfd, e.path.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("cannot read", e.path);
      FileStamp now = FileStamp::of(st);
      // Only the ctime may have moved: anything else means another writer.
      if (now.dev == e.stamp.dev && now.ino == e.stamp.ino && now.size == e.stamp.size &&
          now.mtime_ns == e.stamp.mtime_ns)
        e.stamp = now;
      else
        e.stamp = FileStamp{};
    }
    // Directory modes and times last, deepest first.
    std::sort(dirs.begin(), dirs.end(), [](const DirMode& x, const DirMode& y) { return x.path.size() > y.path.size(); });
    for (const auto& d : dirs) {
      if (::fchmodat(opts.dirfd, d.path.c_str(), d.perm & ~umask_bits, 0) != 0) throw_errno("cannot set mode", d.path);
      if (d.explicit_entry) {
        timespec times[2] = {d.mtime, d.mtime};
        ::utimensat(opts.dirfd, d.path.c_str(), times, AT_SYMLINK_NOFOLLOW);
      }
    }
  }
  // Parents that had no entry of their own (created on the way).
  const auto& parents = policy.parent_dirs();
  for (size_t i = 0; i < std::min(parents.size(), parents_of_entries); ++i)
    if (!explicit_dirs.count(parents[i])) res.implicit_dirs.push_back(parents[i]);
  if (manifest_parser.joinable()) manifest_parser.join();
  return res;
}

}  // namespace airlock::unpacker
