#include <fcntl.h>
#include <sys/stat.h>
#include <zstd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/age/age.h"
#include "common/hash.h"
#include "common/io.h"
#include "packer/stream/payload_writer.h"
#include "tests/support.h"
#include "unpacker/checks/verify.h"
#include "unpacker/stream/extract.h"
#include "unpacker/stream/payload_stream.h"

using namespace airlock;
using namespace airlock::unpacker;
using namespace airlock::test;

namespace {

struct Collect : Writer {
  std::vector<uint8_t> bytes;
  void write(std::span<const uint8_t> d) override { bytes.insert(bytes.end(), d.begin(), d.end()); }
  using Writer::write;
};

// `tar` compressed and encrypted into DIR/payload.age, as a bundle's
// payload.age would carry it, and extracted into DIR/out.
ExtractResult extract(const TempDir& t, const std::vector<uint8_t>& tar) {
  auto id = age::X25519Identity::generate();
  std::vector<uint8_t> z(ZSTD_compressBound(tar.size()));
  size_t zn = ZSTD_compress(z.data(), z.size(), tar.data(), tar.size(), 1);
  REQUIRE_FALSE(ZSTD_isError(zn));
  Collect sealed;
  std::vector<age::X25519Recipient> to{id.recipient()};
  auto enc = age::Encryptor::to_recipients(sealed, to);
  enc->write(std::span<const uint8_t>(z.data(), zn));
  enc->finish();
  spit(t / "payload.age", std::string(sealed.bytes.begin(), sealed.bytes.end()));
  VerifiedBundle vb{bundle::Volumes::open(t / "payload.age")};
  vb.envelope.payload_offset = 0;
  vb.envelope.payload_size = sealed.bytes.size();
  vb.envelope.payload_sha256 = sha256_hex(std::span<const uint8_t>(sealed.bytes));
  vb.content_bytes = tar.size();
  age::DecryptKeys keys;
  keys.identities.push_back(std::move(id));
  PayloadStream payload(vb, keys);
  REQUIRE(::mkdir((t / "out").c_str(), 0700) == 0);
  UniqueFd dir(::open((t / "out").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ExtractOptions eo;
  eo.dirfd = dir.get();
  eo.threads = 2;
  return extract_payload(payload, eo);
}

}  // namespace

TEST_CASE("extraction: every written file's stamp is its stamp at the end, hardlinked ones too", "[unpacker][extract]") {
  TempDir t;
  VectorWriter out;
  packer::PayloadWriter w(out);
  w.add_dir("env", 0755, 1700000000);
  w.add_bytes("env/lib.so", 0755, 1700000000, "\x7f" "ELF shared object, pretend");
  w.add_bytes("env/plain.txt", 0644, 1700000000, "text");
  w.add_hardlink("env/lib.so.1", "env/lib.so", 1700000000);
  std::string manifest = "{}";
  w.add_bytes("airlock/manifest.json", 0644, 1700000000, manifest);
  w.close();
  ExtractResult got = extract(t, out.out);
  size_t files = 0;
  for (const ExtractedEntry& e : got.entries) {
    if (e.kind != Kind::kFile) continue;
    ++files;
    INFO(e.path);
    struct stat st {};
    REQUIRE(::lstat((t / ("out/" + e.path)).c_str(), &st) == 0);
    // The stamp the record compares with: a new name changed the ctime of
    // env/lib.so after it was written, and its stamp was taken again.
    CHECK(e.stamp == FileStamp::of(st));
    CHECK(e.sha256 == sha256_hex(slurp(t / ("out/" + e.path))));
  }
  CHECK(files == 2);
  CHECK(got.manifest_text == manifest);
}

TEST_CASE("extraction: directories follow the umask as files do", "[unpacker][extract]") {
  TempDir t;
  VectorWriter out;
  packer::PayloadWriter w(out);
  w.add_dir("env", 0755, 1700000000);
  w.add_dir("env/open", 0777, 1700000000);
  w.add_bytes("env/open/f.txt", 0666, 1700000000, "text");
  w.add_bytes("airlock/manifest.json", 0644, 1700000000, "{}");
  w.close();
  mode_t old = ::umask(022);
  ExtractResult got = extract(t, out.out);
  ::umask(old);
  struct stat d {}, f {};
  REQUIRE(::lstat((t / "out/env/open").c_str(), &d) == 0);
  REQUIRE(::lstat((t / "out/env/open/f.txt").c_str(), &f) == 0);
  // chmod ignores the umask, open applies it: the extraction applies it to
  // both, so a 0777 directory is no more writable than a 0666 file.
  CHECK((d.st_mode & 07777) == 0755);
  CHECK((f.st_mode & 07777) == 0644);
  // What the payload said is still what the manifest check compares.
  for (const ExtractedEntry& e : got.entries)
    if (e.path == "env/open") CHECK(e.perm == 0777);
}
