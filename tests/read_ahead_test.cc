#include <fcntl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <random>

#include "common/hash.h"
#include "packer/read_ahead.h"
#include "packer/walk.h"
#include "tests/support.h"

using namespace airlock;
using namespace airlock::packer;
namespace fs = std::filesystem;

namespace {

// Reads every walked file through ReadAhead; returns path -> bytes, and
// checks each file's SHA-256 and size against what was read.
std::map<std::string, std::string> read_all(const WalkResult& w, bool& prefetched) {
  std::map<std::string, std::string> got;
  ReadAhead reader(w.entries, {});
  ReadAhead::Event ev;
  std::string cur;
  while (reader.next(ev)) {
    const WalkEntry& e = w.entries[ev.index];
    if (ev.kind == ReadAhead::Kind::kEntry) cur.clear();
    if (ev.kind == ReadAhead::Kind::kData) cur.append(reinterpret_cast<const char*>(ev.data.data()), ev.data.size());
    if (ev.kind == ReadAhead::Kind::kFileEnd) {
      CHECK(ev.result.size == cur.size());
      CHECK(ev.result.sha256 == sha256_hex(cur));
      got[e.path] = cur;
    }
  }
  prefetched = reader.prefetching();
  return got;
}

}  // namespace

TEST_CASE("read-ahead: files out of the page cache are read in order, whole, and prefetched", "[read_ahead]") {
  test::TempDir t;
  std::mt19937 rng(7);
  std::map<std::string, std::string> want;
  // Empty, small, and larger than one 512 KiB buffer, in several directories.
  const size_t sizes[] = {0, 1, 4095, 70000, 600000, 1300000};
  for (int i = 0; i < 240; ++i) {
    std::string rel = "d" + std::to_string(i % 7) + "/f" + std::to_string(i);
    std::string data(sizes[i % 6], '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    fs::create_directories(t.path() / ("d" + std::to_string(i % 7)));
    test::spit(t / rel, data);
    want["env/" + rel] = data;
  }
  // Out of the page cache: written back, then dropped (no root needed).
  bool tmpfs = false;
  struct statfs sf {};
  if (::statfs(t.str().c_str(), &sf) == 0) tmpfs = sf.f_type == 0x01021994;  // TMPFS_MAGIC
  for (const auto& [path, data] : want) {
    int fd = ::open((t.path() / path.substr(4)).c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
  WalkResult w = walk_tree(t.str(), "env");
  bool prefetched = false;
  auto got = read_all(w, prefetched);
  CHECK(got == want);
  if (tmpfs) WARN("temporary directory is on tmpfs: its pages cannot leave memory, so the cold path is not exercised");
  else CHECK(prefetched);

  // Now warm: the same bytes, and no prefetching.
  auto again = read_all(w, prefetched);
  CHECK(again == want);
  CHECK_FALSE(prefetched);
}
