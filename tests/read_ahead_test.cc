#include <fcntl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <future>
#include <random>
#include <set>
#include <thread>

#include "common/hash.h"
#include "packer/stream/read_ahead.h"
#include "packer/stream/walk.h"
#include "packer/checks/wheelhouse.h"
#include "tests/support.h"

using namespace airlock;
using namespace airlock::packer;
namespace fs = std::filesystem;

namespace {

// Reads every walked file through ReadAhead; returns path -> bytes, and
// checks each file's SHA-256 and size against what was read.
std::map<std::string, std::string> read_all(const WalkResult& w, bool& prefetched, uint64_t* cold_files = nullptr) {
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
  if (cold_files) *cold_files = reader.prefetch_stats().cold_files;
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

  // The machine may evict pages of its own accord while a case runs
  // (other tests write and read a lot). A case is tried again only when the
  // reader found more files out of memory than the case put there.

  // Now warm: the same bytes, and no prefetching.
  uint64_t cold = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    CHECK(read_all(w, prefetched, &cold) == want);
    if (!prefetched || cold == 0) break;
  }
  CHECK_FALSE(prefetched);

  // A few files out of the cache among warm ones are not a cold cache.
  for (int attempt = 0; attempt < 3; ++attempt) {
    int evicted = 0;
    for (const auto& [path, data] : want) {
      if (data.empty() || ++evicted > 3) continue;
      int fd = ::open((t.path() / path.substr(4)).c_str(), O_RDONLY);
      REQUIRE(fd >= 0);
      ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      ::close(fd);
    }
    CHECK(read_all(w, prefetched, &cold) == want);
    if (!prefetched || cold <= 3) break;
  }
  CHECK_FALSE(prefetched);
}

namespace {

// A tree of `n` small files (and a few directories) with known contents.
std::map<std::string, std::string> make_tree(const fs::path& root, const std::string& prefix, int n) {
  std::map<std::string, std::string> want;
  for (int i = 0; i < n; ++i) {
    std::string rel = "d" + std::to_string(i % 5) + "/f" + std::to_string(i);
    fs::create_directories(root / ("d" + std::to_string(i % 5)));
    std::string data = "file " + std::to_string(i) + std::string(static_cast<size_t>(i % 3000), 'x');
    test::spit((root / rel).string(), data);
    want[prefix + "/" + rel] = data;
  }
  return want;
}

// Reads everything the reader hands over: path -> bytes of each file.
std::map<std::string, std::string> drain(ReadAhead& reader) {
  std::map<std::string, std::string> got;
  ReadAhead::Event ev;
  std::string cur;
  while (reader.next(ev)) {
    if (ev.kind == ReadAhead::Kind::kEntry) cur.clear();
    if (ev.kind == ReadAhead::Kind::kData) cur.append(reinterpret_cast<const char*>(ev.data.data()), ev.data.size());
    if (ev.kind == ReadAhead::Kind::kFileEnd) {
      CHECK(ev.result.sha256 == sha256_hex(cur));
      got[ev.entry->path] = cur;
    }
  }
  return got;
}

}  // namespace

TEST_CASE("read-ahead: prefetching asks only for files not in memory and sleeps again once all are", "[read_ahead]") {
  test::TempDir t;
  struct statfs sf {};
  if (::statfs(t.str().c_str(), &sf) == 0 && sf.f_type == 0x01021994) {
    WARN("temporary directory is on tmpfs: its pages cannot leave memory");
    return;
  }
  std::map<std::string, std::string> want;
  for (int i = 0; i < 700; ++i) {
    char rel[32];
    std::snprintf(rel, sizeof rel, "d%d/f%04d", i / 100, i);
    fs::create_directories(t.path() / ("d" + std::to_string(i / 100)));
    std::string data(5000, static_cast<char>('a' + i % 26));
    test::spit(t / rel, data);
    want[std::string("env/") + rel] = data;
  }
  WalkResult w = walk_tree(t.str(), "env");
  std::vector<std::string> files;
  for (const auto& e : w.entries)
    if (e.type == EntryType::kFile) files.push_back(e.source());
  // Files in memory except those in `out`.
  auto cache = [&](const std::set<size_t>& out) {
    for (size_t i = 0; i < files.size(); ++i) {
      int fd = ::open(files[i].c_str(), O_RDONLY);
      REQUIRE(fd >= 0);
      ::fdatasync(fd);
      if (out.count(i)) {
        // A page still in another CPU's batch of pages on their way to the
        // LRU lists is not dropped: ask again (a little later) until the
        // kernel says the first page, the one the reader tries without
        // waiting, is gone, where it can say.
        for (int k = 0; k < 20; ++k) {
          ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
          auto held = page_cache_holds(fd, 1);
          if (!held || !*held) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      } else {
        char buf[8192];
        while (::read(fd, buf, sizeof buf) > 0) {
        }
      }
      ::close(fd);
    }
  };

  // Can this kernel say what is cached (cachestat, Linux 6.5)?
  int fd = ::open(files.back().c_str(), O_RDONLY);
  bool cachestat = page_cache_holds(fd, 5000).has_value();
  ::close(fd);
  // The machine may evict pages of its own accord while a case runs (other
  // tests write and read a lot). A case is tried again only when the reader
  // found more files out of memory than the case put there.

  // Four files out of memory, each more than 64 files after the one
  // before: not a cold cache.
  bool stayed_asleep = false;
  for (int attempt = 0; attempt < 3; ++attempt) {
    cache({0, 100, 200, 300});
    ReadAhead reader(w.entries, {});
    CHECK(drain(reader) == want);
    auto s0 = reader.prefetch_stats();
    stayed_asleep = s0.started == 0;
    if (stayed_asleep || s0.cold_files <= 4) break;
  }
  CHECK(stayed_asleep);

  // The first 16 files out of memory, the rest in it: prefetching starts,
  // asks for at most the files out of memory (some slack; without the
  // check it asks for every file after the start, over 600) and sleeps
  // again after the warm ones.
  ReadAhead::PrefetchStats st;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::set<size_t> first16;
    for (size_t i = 0; i < 16; ++i) first16.insert(i);
    cache(first16);
    ReadAhead reader(w.entries, {});
    CHECK(drain(reader) == want);
    st = reader.prefetch_stats();
    for (int i = 0; i < 500 && !st.finished && st.stopped == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      st = reader.prefetch_stats();
    }
    CHECK(st.started >= 1);  // every time: evictions never prevent it
    bool as_expected = !cachestat || (st.advised < 100 && st.stopped >= 1);
    if (as_expected || st.cold_files <= 16) break;
  }
  CHECK(st.started >= 1);
  if (!cachestat) {
    WARN("no cachestat on this kernel: the prefetcher cannot tell cached files apart");
    return;
  }
  CHECK(st.advised < 100);
  CHECK(st.stopped >= 1);
}

TEST_CASE("walk feed: entries are readable as they are walked, before the walk ends", "[read_ahead]") {
  test::TempDir t;
  // Few enough small files that their events make less than one hand-over
  // batch: the reader must hand them over before it waits for the walk.
  auto want = make_tree(t.path() / "env", "env", 40);
  auto more = make_tree(t.path() / "wheels", "wheels", 20);
  Walker walker({});
  WalkFeed feed;
  walker.feed_to(&feed);
  std::promise<void> env_walked, go_on;
  std::thread walking([&] {
    walker.walk((t.path() / "env").string(), "env");
    env_walked.set_value();
    go_on.get_future().wait();
    walker.walk((t.path() / "wheels").string(), "wheels");
    feed.finish();
  });
  env_walked.get_future().wait();
  // The walk is not over, and every entry found so far can be read.
  CHECK_FALSE(feed.done());
  size_t published = 0;
  while (feed.at(published, false)) ++published;
  CHECK(published == 1 + 5 + 40);  // env, d0..d4, the files
  CHECK(feed.totals().first == published);
  {
    ReadAhead reader(feed, {});
    ReadAhead::Event ev;
    // The first file arrives while the walker still waits.
    auto first = std::async(std::launch::async, [&] {
      while (reader.next(ev))
        if (ev.kind == ReadAhead::Kind::kFileEnd) return true;
      return false;
    });
    bool in_time = first.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
    CHECK(in_time);
    CHECK_FALSE(feed.done());
    go_on.set_value();
    CHECK(first.get());
    auto got = drain(reader);
    walking.join();
    want.insert(more.begin(), more.end());
    CHECK(got.size() + 1 == want.size());  // all but the first file, read above
  }
  // The same entries, in the same order, as a walk on its own finds.
  Walker alone({});
  alone.walk((t.path() / "env").string(), "env");
  alone.walk((t.path() / "wheels").string(), "wheels");
  REQUIRE(alone.result().entries.size() == walker.result().entries.size());
  for (size_t i = 0; i < alone.result().entries.size(); ++i)
    CHECK(alone.result().entries[i].path == walker.result().entries[i].path);
}

TEST_CASE("walk feed: held entries are edited before anyone reads them", "[read_ahead]") {
  test::TempDir t;
  make_tree(t.path() / "env", "env", 10);
  fs::create_directories(t.path() / "wheels");
  test::spit(t / "wheels/a-1.0-py3-none-any.whl", "zip");
  test::spit(t / "wheels/notes.txt", "not a wheel");
  Walker walker({});
  WalkFeed feed;
  walker.feed_to(&feed);
  walker.walk((t.path() / "env").string(), "env");
  size_t env_entries = walker.result().entries.size();
  walker.hold();
  walker.walk((t.path() / "wheels").string(), "wheels");
  CHECK(feed.at(env_entries - 1, false) != nullptr);
  CHECK(feed.at(env_entries, false) == nullptr);  // held
  walker.publish_held(
      [&](std::vector<WalkEntry>& held) { filter_wheelhouse_entries(held, walker.result(), false); });
  feed.finish();
  std::vector<std::string> paths;
  for (size_t i = 0; const WalkEntry* e = feed.at(i); ++i) paths.push_back(e->path);
  REQUIRE(paths.size() == env_entries + 2);
  CHECK(paths[env_entries] == "wheels");
  CHECK(paths[env_entries + 1] == "wheels/a-1.0-py3-none-any.whl");
  REQUIRE(walker.result().warnings.size() == 1);
  CHECK(walker.result().warnings[0].find("notes.txt") != std::string::npos);
}

TEST_CASE("wheelhouse: a wheel that is a hardlink is stored as a file of its own", "[read_ahead]") {
  test::TempDir t;
  fs::create_directories(t.path() / "wheels");
  fs::create_directories(t.path() / "env");
  // "a-notes.txt" sorts first and is walked as the file; both wheels are
  // hardlinks to it, and "zz.txt" a hardlink left out too. "d-1.0" is a
  // hardlink to a file of the environment.
  test::spit(t / "wheels/a-notes.txt", "wheel bytes");
  fs::create_hard_link(t / "wheels/a-notes.txt", t / "wheels/b-1.0-py3-none-any.whl");
  fs::create_hard_link(t / "wheels/a-notes.txt", t / "wheels/c-1.0-py3-none-any.whl");
  fs::create_hard_link(t / "wheels/a-notes.txt", t / "wheels/zz.txt");
  test::spit(t / "env/bundled.whl", "env wheel");
  fs::create_hard_link(t / "env/bundled.whl", t / "wheels/d-1.0-py3-none-any.whl");
  Walker walker({});
  WalkFeed feed;
  walker.feed_to(&feed);
  walker.walk((t.path() / "env").string(), "env");
  walker.hold();
  walker.walk((t.path() / "wheels").string(), "wheels");
  REQUIRE(walker.result().hardlinks == 4);
  walker.publish_held(
      [&](std::vector<WalkEntry>& held) { filter_wheelhouse_entries(held, walker.result(), false); });
  feed.finish();
  const WalkResult& r = walker.result();
  std::map<std::string, const WalkEntry*> by;
  for (const auto& e : r.entries) by[e.path] = &e;
  REQUIRE(r.entries.size() == 6);  // env, env/bundled.whl, wheels, b, c, d
  for (const char* p : {"wheels/b-1.0-py3-none-any.whl", "wheels/c-1.0-py3-none-any.whl"}) {
    REQUIRE(by.count(p));
    CHECK(by[p]->type == EntryType::kFile);
    CHECK(by[p]->size == 11);
    CHECK(by[p]->link_target().empty());
  }
  REQUIRE(by.count("wheels/d-1.0-py3-none-any.whl"));
  CHECK(by["wheels/d-1.0-py3-none-any.whl"]->type == EntryType::kFile);
  CHECK(by["wheels/d-1.0-py3-none-any.whl"]->size == 9);
  CHECK(r.files == 4);
  CHECK(r.hardlinks == 0);
  CHECK(r.bytes == 9 + 11 + 11 + 9);
  CHECK(feed.totals().second == r.bytes);
  CHECK(r.warnings.size() == 2);
  // And the reader reads each from its own name.
  bool prefetched = false;
  auto got = read_all(r, prefetched);
  CHECK(got["wheels/b-1.0-py3-none-any.whl"] == "wheel bytes");
  CHECK(got["wheels/c-1.0-py3-none-any.whl"] == "wheel bytes");
  CHECK(got["wheels/d-1.0-py3-none-any.whl"] == "env wheel");
}

TEST_CASE("walk feed: a walk that fails fails the reader, after the entries before it", "[read_ahead]") {
  test::TempDir t;
  auto want = make_tree(t.path() / "env", "env", 50);
  fs::create_symlink("nowhere", t.path() / "env" / "zz-dangling");  // sorted last
  Walker walker({});
  WalkFeed feed;
  walker.feed_to(&feed);
  std::thread walking([&] {
    try {
      walker.walk((t.path() / "env").string(), "env");
      feed.finish();
    } catch (...) {
      feed.finish(std::current_exception());
    }
  });
  std::map<std::string, std::string> got;
  {
    ReadAhead reader(feed, {});
    ReadAhead::Event ev;
    std::string cur;
    try {
      while (reader.next(ev)) {
        if (ev.kind == ReadAhead::Kind::kEntry) cur.clear();
        if (ev.kind == ReadAhead::Kind::kData) cur.append(reinterpret_cast<const char*>(ev.data.data()), ev.data.size());
        if (ev.kind == ReadAhead::Kind::kFileEnd) got[ev.entry->path] = cur;
      }
      FAIL("the dangling link was not reported");
    } catch (const WalkError& e) {
      CHECK(std::string(e.what()).find("zz-dangling") != std::string::npos);
    }
  }
  walking.join();
  // The failure is reported as soon as it is known: what was read before
  // it is whole and right, but need not be everything before the link.
  for (const auto& [path, data] : got) CHECK(want.at(path) == data);
}

TEST_CASE("walk feed: a reader that caught up is not kept waiting by a hold or the end of a walk", "[read_ahead]") {
  test::TempDir t;
  make_tree(t.path() / "env", "env", 10);  // 16 entries: no multiple of the batch
  make_tree(t.path() / "wheels", "wheels", 3);
  Walker walker({});
  WalkFeed feed;
  walker.feed_to(&feed);
  auto waiter = std::async(std::launch::async, [&] { return feed.at(15) != nullptr; });
  walker.walk((t.path() / "env").string(), "env");
  CHECK(waiter.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  CHECK(waiter.get());
  // Held entries are not published by the end of the walk either.
  auto waiter2 = std::async(std::launch::async, [&] { return feed.at(16); });
  walker.hold();
  walker.walk((t.path() / "wheels").string(), "wheels");
  feed.finish();
  REQUIRE(waiter2.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  CHECK(waiter2.get() == nullptr);
}

TEST_CASE("walk feed: when the reader goes, the walk stops", "[read_ahead]") {
  test::TempDir t;
  make_tree(t.path() / "env", "env", 20);
  make_tree(t.path() / "wheels", "wheels", 20);
  Walker walker({});
  WalkFeed feed;
  walker.feed_to(&feed);
  std::promise<void> env_walked, go_on;
  bool stopped = false;
  std::thread walking([&] {
    walker.walk((t.path() / "env").string(), "env");
    env_walked.set_value();
    go_on.get_future().wait();
    try {
      walker.walk((t.path() / "wheels").string(), "wheels");
    } catch (const WalkFeed::Stopped&) {
      stopped = true;
    }
    feed.finish();
  });
  env_walked.get_future().wait();
  size_t before = walker.result().entries.size();
  {
    ReadAhead reader(feed, {});
    ReadAhead::Event ev;
    CHECK(reader.next(ev));
  }  // gone: an error on the main thread, say
  go_on.set_value();
  walking.join();
  CHECK(stopped);
  CHECK(walker.result().entries.size() == before);  // not one more entry walked
}

TEST_CASE("read-ahead: a file that changed size since the walk stops the read, naming it", "[read_ahead]") {
  test::TempDir t;
  // small: grows within its buffer; big: grows past several buffers.
  for (auto [name, size] : {std::pair<std::string, size_t>{"small", 100}, {"big", 1500000}}) {
    for (std::string change : {"grew", "shrank"}) {
      INFO(name << " " << change);
      fs::path dir = t.path() / (name + "-" + change);
      fs::create_directories(dir);
      test::spit((dir / "a").string(), "first");
      test::spit((dir / name).string(), std::string(size, 'x'));
      test::spit((dir / "z").string(), "last");
      WalkResult w = walk_tree(dir.string(), "env");
      test::spit((dir / name).string(), std::string(change == "grew" ? size + 1 : size - 1, 'x'));
      ReadAhead reader(w.entries, {});
      ReadAhead::Event ev;
      try {
        while (reader.next(ev)) {
        }
        FAIL("no error");
      } catch (const Error& e) {
        CHECK(std::string(e.what()).find("/" + name + ": file changed size while being packed") != std::string::npos);
      }
    }
  }
  // Unchanged files of every size around a buffer's end read cleanly.
  fs::path dir = t.path() / "same";
  fs::create_directories(dir);
  for (size_t size : {0, 1, 511, 524287, 524288, 524289, 1048577})
    test::spit((dir / ("f" + std::to_string(size))).string(), std::string(size, 'y'));
  WalkResult w = walk_tree(dir.string(), "env");
  ReadAhead reader(w.entries, {});
  CHECK(drain(reader).size() == 7);
}
