#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "common/bundle/tar_header.h"
#include "common/error.h"
#include "common/io.h"
#include "packer/stream/payload_writer.h"
#include "tests/support.h"
#include "unpacker/stream/payload_tar.h"

using namespace airlock;
using namespace airlock::unpacker;
using namespace airlock::test;

namespace {

struct Read {
  TarMember m;
  std::string data;
};

// Reads `tar` handed out `piece` bytes at a time (the stream's blocks may
// cut a header or a member anywhere).
std::vector<Read> read_all(const std::string& tar, size_t piece) {
  size_t at = 0;
  PayloadTar r([&]() -> std::span<const uint8_t> {
    size_t k = std::min(piece, tar.size() - at);
    std::span<const uint8_t> s(reinterpret_cast<const uint8_t*>(tar.data()) + at, k);
    at += k;
    return s;
  });
  std::vector<Read> out;
  TarMember m;
  while (r.next(m)) {
    Read x{m, {}};
    for (auto s = r.data(); !s.empty(); s = r.data()) x.data.append(reinterpret_cast<const char*>(s.data()), s.size());
    out.push_back(std::move(x));
  }
  CHECK(r.offset() == tar.size());
  return out;
}

std::string as_string(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }

std::string blob(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7 + (i >> 9)) & 0xff);
  return s;
}

// One ustar header, sealed, for hand-made members.
std::string header(const std::string& name, char type, uint64_t size, const char* magic = "ustar",
                   const char* version = "00") {
  bundle::UstarHeader h;
  std::memset(&h, 0, sizeof h);
  std::memcpy(h.name, name.data(), std::min(name.size(), sizeof h.name));
  std::memcpy(h.mode, "0000644", 8);
  std::memcpy(h.uid, "0000000", 8);
  std::memcpy(h.gid, "0000000", 8);
  bundle::put_octal(h.size, 11, size);
  bundle::put_octal(h.mtime, 11, 1700000000);
  h.typeflag = type;
  std::memcpy(h.magic, magic, 6);
  std::memcpy(h.version, version, 2);
  bundle::put_octal(h.chksum, 6, bundle::ustar_checksum(h));
  h.chksum[7] = ' ';
  return std::string(reinterpret_cast<const char*>(&h), sizeof h);
}

std::string padded(std::string data) {
  data.append(bundle::tar_padding(data.size()), '\0');
  return data;
}

std::string pax(const std::string& records) { return header("PaxHeader/x", 'x', records.size()) + padded(records); }

std::string end() { return std::string(1024, '\0'); }

// The exit code and message of reading `tar`.
std::pair<Exit, std::string> refusal(const std::string& tar) {
  try {
    read_all(tar, 4096);
  } catch (const Error& e) {
    return {e.exit(), e.what()};
  }
  return {Exit::kOk, ""};
}

}  // namespace

TEST_CASE("payload tar reader: reads back what the packer writes, however the stream is cut", "[payload_tar]") {
  VectorWriter out;
  packer::PayloadWriter w(out);
  const std::string long_dir = "env/lib/python3.12/site-packages/" + std::string(120, 'd');
  const std::string big = blob(3 * 512 + 17, 1);
  w.add_dir("env", 0755, 1700000000);
  w.begin_file("env/a", 0640, 1700000001, big.size());
  w.data(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(big.data()), big.size()));
  w.add_bytes("env/empty", 0600, 1700000002, "");
  w.add_bytes(long_dir + "/" + std::string(90, 'f'), 0755, 1700000003, "long");  // ustar prefix + name
  w.add_bytes(long_dir + "/" + std::string(180, 'g'), 0644, 1700000004, "pax path");
  w.add_bytes("env/caf\xc3\xa9", 0644, 1700000005, "utf-8");
  w.add_bytes("env/caf\xe9", 0644, -5, "latin-1, before 1970");  // hdrcharset=BINARY, pax mtime
  w.add_bytes("env/y2038", 0644, int64_t{1} << 33, "late");
  w.add_hardlink("env/link", long_dir + "/" + std::string(180, 'g'), 1700000006);  // pax linkpath
  w.close();
  const std::string tar = as_string(out.out);

  for (size_t piece : {size_t{1}, size_t{7}, size_t{512}, size_t{1000}, size_t{1} << 20}) {
    INFO("pieces of " << piece);
    auto got = read_all(tar, piece);
    REQUIRE(got.size() == 9);
    CHECK(got[0].m.path == "env/");
    CHECK(got[0].m.filetype == S_IFDIR);
    CHECK(got[0].m.mode == 0755);
    CHECK(got[1].m.path == "env/a");
    CHECK(got[1].m.filetype == S_IFREG);
    CHECK(got[1].m.mode == 0640);
    CHECK(got[1].m.mtime == 1700000001);
    CHECK(got[1].data == big);
    CHECK(got[2].data.empty());
    CHECK(got[3].m.path == long_dir + "/" + std::string(90, 'f'));
    CHECK(got[3].data == "long");
    CHECK(got[4].m.path == long_dir + "/" + std::string(180, 'g'));
    CHECK(got[4].data == "pax path");
    CHECK(got[5].m.path == "env/caf\xc3\xa9");
    CHECK(got[6].m.path == "env/caf\xe9");
    CHECK(got[6].m.mtime == -5);
    CHECK(got[7].m.mtime == int64_t{1} << 33);
    CHECK(got[8].m.type == '1');
    CHECK(got[8].m.link == long_dir + "/" + std::string(180, 'g'));
    CHECK(got[8].data.empty());
    CHECK(got[1].m.offset == 512);
  }
}

TEST_CASE("payload tar reader: GNU tar's and Python's pax archives read as they were made", "[payload_tar]") {
  TempDir t;
  std::string src = t / "src";
  REQUIRE(run("mkdir -p " + sh_quote(src + "/env/d") + " && printf hello > " + sh_quote(src + "/env/d/f") +
              " && ln " + sh_quote(src + "/env/d/f") + " " + sh_quote(src + "/env/d/g") + " && touch -d @1700000000.25 " +
              sh_quote(src + "/env/d/f"))
              .exit_code == 0);
  // tar --format=posix adds atime and ctime records, and pads to 10 KiB.
  REQUIRE(run("tar --format=posix -C " + sh_quote(src) + " --sort=name -cf " + sh_quote(t / "gnu.tar") + " env").exit_code == 0);
  auto gnu = read_all(slurp(t / "gnu.tar"), 4096);
  REQUIRE(gnu.size() == 4);
  CHECK(gnu[2].m.path == "env/d/f");
  CHECK(gnu[2].data == "hello");
  CHECK(gnu[2].m.mtime == 1700000000);
  CHECK(gnu[2].m.mtime_nsec == 250000000);
  CHECK(gnu[3].m.type == '1');
  CHECK(gnu[3].m.link == "env/d/f");

  REQUIRE(run("cd " + sh_quote(src) + " && python3 -c 'import tarfile; t = tarfile.open(\"../py.tar\", \"w\", "
              "format=tarfile.PAX_FORMAT); t.add(\"env\"); t.close()'")
              .exit_code == 0);
  auto py = read_all(slurp(t / "py.tar"), 4096);
  REQUIRE(py.size() == 4);
  CHECK(py[2].data == "hello");
}

TEST_CASE("payload tar reader: member types are named for the entry policy", "[payload_tar]") {
  std::string tar = header("env/l", '2', 0) + header("env/c", '3', 0) + header("env/b", '4', 0) +
                    header("env/p", '6', 0) + header("env/v", 'V', 0) + header("env/s", 'S', 0) +
                    pax("22 GNU.sparse.major=1\n") + header("env/gs", '0', 0) + header("env/old", '\0', 2) +
                    padded("ok") + end();
  auto got = read_all(tar, 512);
  REQUIRE(got.size() == 8);
  CHECK(got[0].m.filetype == S_IFLNK);
  CHECK(got[1].m.filetype == S_IFCHR);
  CHECK(got[2].m.filetype == S_IFBLK);
  CHECK(got[3].m.filetype == S_IFIFO);
  CHECK(got[4].m.filetype == 0);  // no file: "unknown entry type"
  CHECK(got[5].m.sparse);
  CHECK(got[6].m.sparse);
  CHECK(got[7].m.type == '0');
  CHECK(got[7].data == "ok");
}

TEST_CASE("payload tar reader: a damaged or foreign tar is refused, exit 1, naming what is wrong", "[payload_tar]") {
  const std::string ok = header("env/f", '0', 2) + padded("hi");
  auto is = [](const std::string& tar, const std::string& what) {
    auto [code, msg] = refusal(tar);
    INFO(msg);
    CHECK(code == Exit::kVerify);
    CHECK(msg.find(what) != std::string::npos);
  };
  std::string bad_sum = ok;
  bad_sum[0] = 'E';
  is(bad_sum + end(), "bad header checksum");
  is(header("env/f", '0', 0, "ustar ", " \0") + end(), "not a POSIX ustar header");  // GNU's old format
  is(header("env/f", '0', 0, "\0\0\0\0\0\0", "\0\0") + end(), "not a POSIX ustar header");  // v7
  is(ok, "ends without the end-of-archive blocks");
  is(header("env/f", '0', 1000) + std::string(300, 'a'), "ends inside a member's data");
  is(ok.substr(0, 300), "ends inside a member's header");
  is(ok + end() + "x", "data after the end-of-archive blocks");
  is(ok + std::string(512, '\0') + header("env/hidden", '0', 0) + end(), "data after the end-of-archive blocks");
  is(pax("8 path=x\n") + ok + end(), "malformed pax record");
  is(pax("99 path=x\n") + ok + end(), "malformed pax record");
  is(pax("11 path=x\nZ") + ok + end(), "malformed pax record");
  is(pax("10 pathx\n") + ok + end(), "malformed pax record");
  is(pax("14 size=-1234\n") + ok + end(), "bad pax size");
  is(pax("15 mtime=1.2.3\n") + ok + end(), "bad pax mtime");
  is(pax("10 path=x\n") + pax("10 path=y\n") + ok + end(), "two pax headers in a row");
  is(pax("10 path=x\n") + end(), "followed by the end of the archive");
  is(header("g", 'g', 10) + padded("10 path=x\n") + ok + end(), "global pax header");
  is(header("PaxHeader/x", 'x', 2 << 20) + end(), "a pax header of");
  std::string bad_size = header("env/f", '0', 0);
  std::memcpy(bad_size.data() + 124, "12x45670000", 11);
  bundle::UstarHeader h;
  std::memcpy(&h, bad_size.data(), 512);
  bundle::put_octal(h.chksum, 6, bundle::ustar_checksum(h));
  is(std::string(reinterpret_cast<const char*>(&h), 512) + end(), "bad size field");
  // No global header, even one that only sets a comment: its bytes would
  // travel in the payload with no member to account for them.
  is(header("g", 'g', 17) + padded("17 comment=hello\n") + ok + end(), "global pax header");
  // Nor any record but those a writer of ours, GNU tar or tarfile makes,
  // and those only with well-formed values.
  auto rec = [](const std::string& key, const std::string& value) {
    std::string body = " " + key + "=" + value + "\n";
    size_t n = body.size() + 1;
    while (std::to_string(n).size() + body.size() != n) ++n;
    return std::to_string(n) + body;
  };
  is(pax(rec("comment", "hello")) + ok + end(), "pax record \"comment\"");
  is(pax(rec("SCHILY.xattr.user.x", "data")) + ok + end(), "pax record \"SCHILY.xattr.user.x\"");
  is(pax(rec("atime", "abc")) + ok + end(), "pax record \"atime\"");
  is(pax(rec("uid", "-1")) + ok + end(), "pax record \"uid\"");
  is(pax(rec("uname", std::string(33, 'u'))) + ok + end(), "pax record \"uname\"");
  is(pax(rec("hdrcharset", "LATIN")) + ok + end(), "pax record \"hdrcharset\"");
  CHECK(read_all(pax(rec("atime", "1796178966.851737464") + rec("ctime", "1796178966") + rec("uid", "0") +
                     rec("gid", "0") + rec("uname", "root") + rec("gname", "root") + rec("hdrcharset", "BINARY")) +
                     ok + end(),
                 512)
            .size() == 1);
  // One zero block, then nothing: cut short, not ended.
  is(ok + std::string(512, '\0'), "ends after one end-of-archive block");
  // A hardlink or a directory with a size: GNU tar and tarfile would read
  // the next header where this reader would skip data (or the reverse).
  is(header("env/f", '0', 0) + header("env/g", '1', 512) + header("env/ghost", '0', 0) +
         end(),
     "a hardlink member with a size of 512 bytes");
  is(header("env/d/", '5', 512) + std::string(512, 'x') + end(), "a directory member with a size of 512 bytes");
}

TEST_CASE("payload tar reader: base-256 and pax sizes and times", "[payload_tar]") {
  std::string h = header("env/f", '0', 0);
  bundle::UstarHeader u;
  std::memcpy(&u, h.data(), 512);
  // size 3 in base-256; mtime -2 in base-256 (two's complement).
  std::memset(u.size, 0, sizeof u.size);
  u.size[0] = static_cast<char>(0x80);
  u.size[11] = 3;
  std::memset(u.mtime, 0xff, sizeof u.mtime);
  u.mtime[11] = static_cast<char>(0xfe);
  bundle::put_octal(u.chksum, 6, bundle::ustar_checksum(u));
  std::string tar = std::string(reinterpret_cast<const char*>(&u), 512) + padded("abc") +
                    pax("15 mtime=-1.25\n10 size=4\n") + header("env/g", '0', 0) + padded("wxyz") + end();
  auto got = read_all(tar, 512);
  REQUIRE(got.size() == 2);
  CHECK(got[0].data == "abc");
  CHECK(got[0].m.mtime == -2);
  CHECK(got[1].data == "wxyz");
  CHECK(got[1].m.mtime == -2);  // -1.25 s: 0.75 s into second -2
  CHECK(got[1].m.mtime_nsec == 750000000);
}
