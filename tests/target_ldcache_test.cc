#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>

#include "common/target/ldcache.h"
#include "tests/support.h"

using namespace airlock;
using namespace airlock::target;
namespace lc = airlock::target::ldcache;
namespace fs = std::filesystem;

namespace {

struct E {
  int32_t flags;
  std::string name, path;
  uint64_t hwcap = 0;
};

template <class T>
void put(std::string& out, const T& t) {
  out.append(reinterpret_cast<const char*>(&t), sizeof t);
}

// The strings of `es`, each name then path, NUL-terminated; offsets[i] is
// {name, path} of entry i from the table's start.
std::string string_table(const std::vector<E>& es, std::vector<std::pair<uint32_t, uint32_t>>& offsets) {
  std::string s;
  for (const E& e : es) {
    uint32_t k = static_cast<uint32_t>(s.size());
    s += e.name + '\0';
    uint32_t v = static_cast<uint32_t>(s.size());
    s += e.path + '\0';
    offsets.emplace_back(k, v);
  }
  return s;
}

std::string new_part(const std::vector<E>& es, uint8_t flags = lc::kEndianLittle) {
  std::vector<std::pair<uint32_t, uint32_t>> offs;
  std::string strings = string_table(es, offs);
  uint32_t base = static_cast<uint32_t>(sizeof(lc::NewHeader) + es.size() * sizeof(lc::NewEntry));
  lc::NewHeader h{};
  std::memcpy(h.magic, lc::kNewMagic.data(), lc::kNewMagic.size());
  h.nlibs = static_cast<uint32_t>(es.size());
  h.len_strings = static_cast<uint32_t>(strings.size());
  h.flags = flags;
  std::string out;
  put(out, h);
  for (size_t i = 0; i < es.size(); ++i)
    put(out, lc::NewEntry{es[i].flags, base + offs[i].first, base + offs[i].second, 0, es[i].hwcap});
  return out + strings;
}

// The old layout; with `then` (a new part) in between the entries and the
// strings, aligned to 8 as ldconfig does it.
std::string old_cache(const std::vector<E>& es, const std::string& then = {}) {
  std::string out;
  lc::OldHeader h{};
  std::memcpy(h.magic, lc::kOldMagic.data(), lc::kOldMagic.size());
  h.nlibs = static_cast<uint32_t>(es.size());
  put(out, h);
  std::vector<std::pair<uint32_t, uint32_t>> offs;
  std::string strings = string_table(es, offs);
  size_t old_end = sizeof h + es.size() * sizeof(lc::OldEntry);
  std::string middle;
  if (!then.empty()) middle = std::string((8 - old_end % 8) % 8, '\0') + then;
  for (size_t i = 0; i < es.size(); ++i) {
    auto shift = static_cast<uint32_t>(middle.size());
    put(out, lc::OldEntry{es[i].flags, shift + offs[i].first, shift + offs[i].second});
  }
  return out + middle + strings;
}

std::span<const uint8_t> bytes(const std::string& s) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

const std::vector<E> kEntries = {
    {lc::kFlagsX8664Libc6, "libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1"},
    {0x0003, "libz.so.1", "/lib32/libz.so.1"},  // i386: another ABI
    {lc::kFlagsX8664Libc6, "libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"},
    {lc::kFlagsX8664Libc6, "libfoo.so.2", "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libfoo.so.2",
     (1ull << 62) | 0},
};

void check_entries(const LdCache& c) {
  REQUIRE(c.entries.size() == 3);
  CHECK(c.other_abi == 1);
  CHECK(c.entries[0].name == "libz.so.1");
  CHECK(c.entries[0].path == "/lib/x86_64-linux-gnu/libz.so.1");
  CHECK(c.entries[0].flags == 0x0303);
  CHECK(c.entries[1].name == "libc.so.6");
  CHECK(c.entries[1].path == "/lib/x86_64-linux-gnu/libc.so.6");
  CHECK(c.entries[2].hwcap == (1ull << 62));
}

std::string parse_error(const std::string& image) {
  try {
    parse_ldcache(bytes(image), "c");
  } catch (const LdCacheError& e) {
    return e.what();
  }
  return "(parsed)";
}

// (name, path) of every x86-64 line of `ldconfig -p [-C FILE]`.
std::vector<std::pair<std::string, std::string>> ldconfig_p(const std::string& args) {
  auto r = test::run("ldconfig -p " + args);
  REQUIRE(r.exit_code == 0);
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("(libc6,x86-64") == std::string::npos) continue;
    size_t start = line.find_first_not_of(" \t");
    size_t arrow = line.rfind(" => ");
    REQUIRE(arrow != std::string::npos);
    out.emplace_back(line.substr(start, line.find(' ', start) - start), line.substr(arrow + 4));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::pair<std::string, std::string>> ours(const LdCache& c) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : c.entries) out.emplace_back(e.name, e.path);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("ldcache: the new format alone (glibc 2.32 and later)", "[target][ldcache]") {
  std::string img = new_part(kEntries);
  LdCache c = parse_ldcache(bytes(img), "c");
  CHECK(c.format == LdCacheFormat::kNew);
  check_entries(c);
  // An old ldconfig left the byte order unset: still read.
  c = parse_ldcache(bytes(new_part(kEntries, lc::kEndianUnset)), "c");
  check_entries(c);
}

TEST_CASE("ldcache: the old format alone", "[target][ldcache]") {
  std::string img = old_cache(kEntries);
  LdCache c = parse_ldcache(bytes(img), "c");
  CHECK(c.format == LdCacheFormat::kOld);
  REQUIRE(c.entries.size() == 3);
  CHECK(c.entries[1].path == "/lib/x86_64-linux-gnu/libc.so.6");
  CHECK(c.entries[2].hwcap == 0);  // the old format has none
  // Anything after the entries that is not the new magic is the strings.
  CHECK(parse_ldcache(bytes(old_cache({{0x0303, "glibc-ld.so.cache0.9", "/x"}})), "c").entries[0].name ==
        "glibc-ld.so.cache0.9");
}

TEST_CASE("ldcache: the compat format is read from its new part, found at the aligned offset", "[target][ldcache]") {
  // Three old entries end at 16 + 36 = 52: the new header is at 56, after 4 bytes of padding.
  std::vector<E> old_entries = {{0x0303, "libold.so.1", "/old/libold.so.1"},
                                {0x0303, "libold.so.2", "/old/libold.so.2"},
                                {0x0303, "libold.so.3", "/old/libold.so.3"}};
  std::string img = old_cache(old_entries, new_part(kEntries));
  REQUIRE(img.substr(56, lc::kNewMagic.size()) == lc::kNewMagic);
  LdCache c = parse_ldcache(bytes(img), "c");
  CHECK(c.format == LdCacheFormat::kCompat);
  check_entries(c);
  // Even count: no padding.
  old_entries.pop_back();
  c = parse_ldcache(bytes(old_cache(old_entries, new_part(kEntries))), "c");
  CHECK(c.format == LdCacheFormat::kCompat);
  check_entries(c);
}

TEST_CASE("ldcache: this machine's /etc/ld.so.cache agrees with ldconfig -p", "[target][ldcache]") {
  if (!fs::exists("/etc/ld.so.cache") || test::run("ldconfig -p >/dev/null").exit_code != 0) {
    WARN("no /etc/ld.so.cache or ldconfig here");
    return;
  }
  std::string img = test::slurp("/etc/ld.so.cache");
  LdCache c = parse_ldcache(bytes(img), "/etc/ld.so.cache");
  auto want = ldconfig_p("");
  REQUIRE(!want.empty());
  CHECK(ours(c) == want);
  auto has = [&](const std::string& name) {
    return std::any_of(c.entries.begin(), c.entries.end(), [&](const LdCacheEntry& e) { return e.name == name; });
  };
  CHECK(has("libc.so.6"));
  CHECK(has("libm.so.6"));
}

TEST_CASE("ldcache: caches ldconfig writes in the compat and new formats read alike", "[target][ldcache]") {
  if (test::run("ldconfig --help >/dev/null").exit_code != 0) {
    WARN("no ldconfig here");
    return;
  }
  test::TempDir d;
  std::string root = d / "root";
  fs::create_directories(root + "/etc");
  fs::create_directories(root + "/lib/x86_64-linux-gnu");
  for (const char* lib : {"libz.so.1", "libm.so.6"}) {
    std::string from = "/lib/x86_64-linux-gnu/" + std::string(lib);
    if (!fs::exists(from)) {
      WARN("no " << from << " here");
      return;
    }
    fs::copy_file(fs::canonical(from), root + "/lib/x86_64-linux-gnu/" + lib);
  }
  test::spit(root + "/etc/ld.so.conf", "/lib/x86_64-linux-gnu\n");
  for (auto [fmt, want] : {std::pair{"compat", LdCacheFormat::kCompat}, std::pair{"new", LdCacheFormat::kNew}}) {
    INFO(fmt);
    // -r: the cache and everything ldconfig writes stay inside the tree.
    auto r = test::run("ldconfig -r " + test::sh_quote(root) + " -c " + fmt);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    std::string file = root + "/etc/ld.so.cache";
    LdCache c = parse_ldcache(bytes(test::slurp(file)), file);
    CHECK(c.format == want);
    CHECK(c.entries.size() == 2);
    CHECK(ours(c) == ldconfig_p("-C " + test::sh_quote(file)));
  }
}

TEST_CASE("ldcache: hostile counts and offsets are refused, never read past the buffer", "[target][ldcache]") {
  std::string good = new_part(kEntries);

  SECTION("counts larger than the file") {
    std::string img = good;
    uint32_t huge = 0xffffffff;
    std::memcpy(img.data() + offsetof(lc::NewHeader, nlibs), &huge, 4);
    CHECK_THAT(parse_error(img), Catch::Contains("claims 4294967295 entries; the file has room for"));
    std::string old = old_cache(kEntries);
    std::memcpy(old.data() + offsetof(lc::OldHeader, nlibs), &huge, 4);
    CHECK_THAT(parse_error(old), Catch::Contains("claims 4294967295 entries"));
  }
  SECTION("every truncation is refused or parsed, never crashes") {
    for (const std::string& img : {good, old_cache(kEntries), old_cache(kEntries, good)})
      for (size_t n = 0; n < img.size(); ++n) {
        std::string cut = img.substr(0, n);
        try {
          parse_ldcache(bytes(cut), "c");
        } catch (const LdCacheError&) {
        }
      }
    CHECK_THAT(parse_error(good.substr(0, 30)), Catch::Contains("truncated: the header at offset 0 needs 48 bytes, 30 are left"));
    CHECK_THAT(parse_error(good.substr(0, good.size() - 1)), Catch::Contains("is not NUL-terminated"));
    CHECK_THAT(parse_error(good.substr(0, 48 + 24 * 2)), Catch::Contains("claims 4 entries; the file has room for 2"));
    CHECK_THAT(parse_error(old_cache(kEntries).substr(0, 13)), Catch::Contains("truncated: 13 bytes"));
  }
  SECTION("string offsets beyond the end") {
    std::string img = good;
    uint32_t off = 0x7fffffff;
    std::memcpy(img.data() + sizeof(lc::NewHeader) + offsetof(lc::NewEntry, value), &off, 4);
    CHECK_THAT(parse_error(img), Catch::Contains("entry 0: path offset 2147483647 lies beyond the end of the file"));
  }
  SECTION("wrong byte order, invalid mark, wrong magic, empty, relative paths") {
    CHECK_THAT(parse_error(new_part(kEntries, lc::kEndianBig)), Catch::Contains("big-endian"));
    CHECK_THAT(parse_error(new_part(kEntries, lc::kEndianInvalid)), Catch::Contains("marked this cache invalid"));
    CHECK_THAT(parse_error("glibc-ld.so.cache1.0" + std::string(40, '\0')), Catch::Contains("not an ld.so.cache"));
    CHECK_THAT(parse_error(""), Catch::Contains("empty file"));
    CHECK_THAT(parse_error(new_part({{0x0303, "libx.so.1", "lib/libx.so.1"}})), Catch::Contains("is not absolute"));
    CHECK_THAT(parse_error(new_part({{0x0303, "", "/lib/libx.so.1"}})), Catch::Contains("entry 0: empty name"));
  }
  SECTION("random damage is refused or parsed, never crashes") {
    std::mt19937 rng(7);
    for (const std::string& base : {good, old_cache(kEntries, good)})
      for (int i = 0; i < 2000; ++i) {
        std::string img = base;
        for (int k = 0; k < 4; ++k) img[rng() % img.size()] = static_cast<char>(rng());
        try {
          parse_ldcache(bytes(img), "c");
        } catch (const LdCacheError&) {
        }
      }
  }
}
