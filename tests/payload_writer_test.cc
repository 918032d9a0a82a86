#include <archive.h>
#include <archive_entry.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/io.h"
#include "packer/stream/payload_writer.h"
#include "tests/support.h"

using namespace airlock;
using namespace airlock::packer;
using namespace airlock::test;

namespace {

// One member as a test describes it and as a reader reports it.
struct Member {
  std::string path;
  char type;  // '5' dir, '0' file, '1' hardlink
  uint32_t mode = 0644;
  int64_t mtime = 1700000000;
  std::string data;  // '0'
  std::string link;  // '1'
  bool operator==(const Member&) const = default;
};

std::string blob(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7 + (i >> 9)) & 0xff);
  return s;
}

std::vector<uint8_t> ours(const std::vector<Member>& members) {
  VectorWriter out;
  PayloadWriter tar(out);
  for (const auto& m : members) {
    if (m.type == '5') tar.add_dir(m.path, m.mode, m.mtime);
    if (m.type == '1') tar.add_hardlink(m.path, m.link, m.mtime);
    if (m.type == '0') {
      tar.begin_file(m.path, m.mode, m.mtime, m.data.size());
      // In uneven pieces, some small enough to be gathered, some not.
      std::string_view rest = m.data;
      for (size_t piece = 1000; !rest.empty(); piece = piece * 7 + 3) {
        size_t k = std::min(piece, rest.size());
        tar.data(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(rest.data()), k));
        rest.remove_prefix(k);
      }
    }
  }
  tar.close();
  CHECK(tar.bytes_out() == out.out.size());
  CHECK(tar.members() == members.size());
  return out.out;
}

// libarchive's pax writer ("restricted", as the packer used), appending to
// `out` with no blocking.
archive* libarchive_writer(std::vector<uint8_t>& out) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_per_block(a, 0);
  archive_write_open2(
      a, &out, nullptr,
      [](archive*, void* ctx, const void* buf, size_t n) -> la_ssize_t {
        auto* v = static_cast<std::vector<uint8_t>*>(ctx);
        v->insert(v->end(), static_cast<const uint8_t*>(buf), static_cast<const uint8_t*>(buf) + n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr, nullptr);
  return a;
}

// The same members written by libarchive's pax writer, as the packer used
// to write them.
std::vector<uint8_t> libarchive_pax(const std::vector<Member>& members) {
  std::vector<uint8_t> bytes;
  archive* a = libarchive_writer(bytes);
  for (const auto& m : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname_utf8(e, m.path.c_str());
    archive_entry_set_mtime(e, m.mtime, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, m.mode);
    if (m.type == '5') archive_entry_set_filetype(e, AE_IFDIR);
    if (m.type == '1') archive_entry_set_hardlink_utf8(e, m.link.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(m.data.size()));
    REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
    if (!m.data.empty()) archive_write_data(a, m.data.data(), m.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return bytes;
}

// Reads a tar back with libarchive, as the unpacker does.
std::vector<Member> read_back(const std::vector<uint8_t>& tar) {
  std::vector<Member> got;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  REQUIRE(archive_read_open_memory(a, tar.data(), tar.size()) == ARCHIVE_OK);
  archive_entry* e;
  int rc;
  // WARN: a name not convertible to this (C) locale; the UTF-8 form is there.
  while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    Member m;
    const char* p = archive_entry_pathname_utf8(e);
    m.path = p ? p : archive_entry_pathname(e);
    m.mode = archive_entry_perm(e);
    m.mtime = archive_entry_mtime(e);
    if (const char* h = archive_entry_hardlink_utf8(e)) {
      m.type = '1';
      m.link = h;
    } else if (archive_entry_filetype(e) == AE_IFDIR) {
      m.type = '5';
    } else {
      m.type = '0';
      m.data.resize(static_cast<size_t>(archive_entry_size(e)));
      if (!m.data.empty()) REQUIRE(archive_read_data(a, m.data.data(), m.data.size()) == la_ssize_t(m.data.size()));
    }
    got.push_back(std::move(m));
  }
  CHECK(rc == ARCHIVE_EOF);
  archive_read_free(a);
  return got;
}

// What a reader reported is what was written (permission bits only).
void check_same(std::vector<Member> back, const std::vector<Member>& members) {
  REQUIRE(back.size() == members.size());
  for (size_t i = 0; i < members.size(); ++i) {
    INFO(members[i].path << " read back as " << back[i].path << " type " << back[i].type << " mode " << back[i].mode
                         << " mtime " << back[i].mtime << " link " << back[i].link);
    back[i].mode &= 0777;
    CHECK(back[i] == members[i]);
  }
}

// Lists a tar with GNU tar ("path" or "path link to target" per line).
std::vector<std::string> gnu_tar_list(const std::vector<uint8_t>& tar) {
  TempDir dir;
  spit(dir / "t.tar", std::string(tar.begin(), tar.end()));
  RunResult r = run("tar --quoting-style=literal -tf " + sh_quote(dir / "t.tar"));
  REQUIRE(r.exit_code == 0);
  const std::string& out = r.out;
  std::vector<std::string> lines;
  size_t at = 0;
  for (size_t nl; (nl = out.find('\n', at)) != std::string::npos; at = nl + 1) lines.push_back(out.substr(at, nl - at));
  return lines;
}

}  // namespace

TEST_CASE("payload tar: plain members are byte for byte what libarchive writes") {
  std::string d100 = "env/" + std::string(95, 'd') + "/";  // 101 bytes with the slash
  std::vector<Member> members = {
      {"env/", '5', 0755},
      {"env/bin/", '5', 0700},
      {"env/bin/python3.11", '0', 0755, 1600000000, blob(70000, 1)},
      {"env/bin/python3", '1', 0644, 1600000000, "", "env/bin/python3.11"},
      {"env/empty", '0', 0600, 0, ""},
      {"env/one", '0', 0644, 5, "x"},
      {"env/b511", '0', 0644, 7, blob(511, 2)},
      {"env/b512", '0', 0644, 8, blob(512, 3)},
      {"env/b513", '0', 0644, 9, blob(513, 4)},
      {"env/" + std::string(96, 'n'), '0', 0644, 10, blob(3, 5)},  // exactly 100 bytes
      {d100, '5', 0755},  // split into prefix and name at the first fitting '/'
      {d100 + std::string(90, 'f'), '0', 0644, 11, blob(4097, 6)},
      {"env/lib/python3.11/site-packages/cfnlint/data/schemas/extensions/aws_apigateway_authorizer/__pycache__/",
       '5', 0755},
      // mtimes libarchive records in pax (before 1970, from 2^31-1 on), and
      // the ones octal cannot hold (then base-256 in the ustar field).
      {"env/t-1970", '0', 0644, -86400, "a"},
      {"env/t-2038a", '0', 0644, 2147483646, "b"},
      {"env/t-2038b", '0', 0644, 2147483647, "c"},
      {"env/t-2038c", '0', 0644, 2147483648, "d"},
      {"env/t-2242", '0', 0644, 8589934591, "e"},
      {"env/t-2514", '0', 0644, int64_t{1} << 34, "f"},
      {"airlock/manifest.json", '0', 0644, 12, "{}"},
  };
  REQUIRE(members[9].path.size() == 100);
  std::vector<uint8_t> a = ours(members), b = libarchive_pax(members);
  CHECK(a.size() % 512 == 0);
  REQUIRE(a.size() == b.size());
  CHECK(a == b);
  std::vector<Member> back = read_back(a);
  check_same(back, members);
}

TEST_CASE("payload tar: what ustar cannot hold goes in pax records that libarchive and GNU tar read") {
  std::string deep;
  for (int i = 0; i < 30; ++i) deep += "component" + std::to_string(i) + "/";
  std::vector<Member> members = {
      {"env/" + deep, '5', 0755},                                             // 334 bytes
      {"env/" + deep + "file.py", '0', 0644, 1, blob(1000, 7)},                // too long for ustar
      {"env/" + std::string(160, 'p') + "/short", '0', 0644, 2, "a"},          // prefix would be > 155
      {"env/x/" + std::string(101, 'q'), '0', 0644, 3, "b"},                   // name part > 100, no split
      {"env/caf\xc3\xa9/na\xc3\xafve.txt", '0', 0644, 4, "utf-8"},             // not ASCII
      {"env/bad\xff\xfe name", '0', 0644, 5, "not utf-8"},                     // not UTF-8: hdrcharset
      {"env/link", '1', 0644, 6, "", "env/" + deep + "file.py"},               // link target > 100
      {"env/old", '0', 0644, -86400, "before 1970"},                           // negative mtime
      {"env/far", '0', 0644, int64_t{1} << 34, "after 2242"},                  // beyond 11 octal digits
  };
  std::vector<uint8_t> tar = ours(members);
  std::vector<Member> back = read_back(tar);
  check_same(back, members);
  // GNU tar sees the same names.
  std::vector<std::string> listed = gnu_tar_list(tar);
  REQUIRE(listed.size() == members.size());
  for (size_t i = 0; i < members.size(); ++i) CHECK(listed[i] == members[i].path);
}

TEST_CASE("payload tar: a size of 8 GiB or more is a pax size record") {
  // 12 octal digits in the ustar field, then base-256 beyond 64 GiB.
  uint64_t size = GENERATE((uint64_t{1} << 33) + 5, (uint64_t{1} << 40) + 3);
  INFO("size " << size);
  VectorWriter out;
  PayloadWriter tar(out);
  tar.begin_file("env/huge", 0644, 1, size);
  // Headers are gathered; data of 64 KiB or more hands them on.
  std::vector<uint8_t> chunk(100000, 'z');
  tar.data(chunk);
  const auto& bytes = out.out;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  REQUIRE(archive_read_open_memory(a, bytes.data(), bytes.size()) == ARCHIVE_OK);
  archive_entry* e;
  REQUIRE(archive_read_next_header(a, &e) == ARCHIVE_OK);
  CHECK(std::string(archive_entry_pathname(e)) == "env/huge");
  CHECK(static_cast<uint64_t>(archive_entry_size(e)) == size);
  archive_read_free(a);
  std::string text(reinterpret_cast<const char*>(bytes.data()), std::min<size_t>(bytes.size(), 2048));
  CHECK(text.find("size=" + std::to_string(size) + "\n") != std::string::npos);

  // The headers are libarchive's, byte for byte (pax record, base-256 size).
  std::vector<uint8_t> theirs;
  archive* w = libarchive_writer(theirs);
  archive_entry* h = archive_entry_new();
  archive_entry_set_pathname_utf8(h, "env/huge");
  archive_entry_set_mtime(h, 1, 0);
  archive_entry_set_filetype(h, AE_IFREG);
  archive_entry_set_perm(h, 0644);
  archive_entry_set_size(h, static_cast<la_int64_t>(size));
  REQUIRE(archive_write_header(w, h) == ARCHIVE_OK);
  archive_entry_free(h);
  REQUIRE(theirs.size() == 3 * 512);  // 'x' header, its records, the member's header
  for (size_t i = 0; i < theirs.size(); ++i)
    if (theirs[i] != bytes[i]) {
      INFO("first difference at byte " << i << ": libarchive " << int(theirs[i]) << ", ours " << int(bytes[i]));
      CHECK(theirs[i] == bytes[i]);
      break;
    }
  archive_write_fail(w);  // so that freeing it does not pad out the huge member
  archive_write_free(w);
}

TEST_CASE("payload tar: a member's size is held to") {
  VectorWriter out;
  PayloadWriter tar(out);
  tar.begin_file("env/a", 0644, 1, 3);
  std::string four = "abcd";
  CHECK_THROWS_AS(tar.data(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(four.data()), 4)), Error);
  tar.data(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(four.data()), 2));
  CHECK_THROWS_AS(tar.add_dir("env/d", 0755, 1), Error);  // one byte still owed
  CHECK_THROWS_AS(tar.close(), Error);
  tar.data(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(four.data()), 1));
  tar.close();
  CHECK(out.out.size() == 512 + 512 + 1024);
  CHECK_THROWS_AS(tar.add_dir("env/d", 0755, 1), Error);  // after the end
}
