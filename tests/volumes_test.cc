// Volumes (common/bundle/volumes.h) and their checks on the secure side
// (unpacker/checks/volume_check.h).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/bundle/envelope_read.h"
#include "common/bundle/envelope_write.h"
#include "common/bundle/format.h"
#include "common/bundle/volumes.h"
#include "common/hash.h"
#include "common/io.h"
#include "common/minisign/minisign.h"
#include "tests/support.h"
#include "unpacker/checks/volume_check.h"

using namespace airlock;
using namespace airlock::bundle;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& p) { return read_file(p); }

void spit(const std::string& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << data;
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string pattern(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Writes `data` through a VolumeWriter in uneven pieces.
void write_pieces(VolumeWriter& w, const std::string& data) {
  size_t step = 1;
  for (size_t off = 0; off < data.size(); step = step * 3 % 257 + 1) {
    size_t n = std::min(step, data.size() - off);
    w.write(bytes(std::string_view(data).substr(off, n)));
    off += n;
  }
}

}  // namespace

TEST_CASE("volumes: preset sizes are the exact numbers", "[volumes]") {
  CHECK(parse_volume_size("dvd") == 4'700'000'000ull);
  CHECK(parse_volume_size("dvd-dl") == 8'500'000'000ull);
  CHECK(parse_volume_size("bd25") == 25'000'000'000ull);
  CHECK(parse_volume_size("fat32") == 4'294'967'295ull);
  CHECK(parse_volume_size("fat32") == (uint64_t{1} << 32) - 1);
}

TEST_CASE("volumes: sizes in bytes and in K, M, G as powers of 1024", "[volumes]") {
  CHECK(parse_volume_size("1048576") == 1'048'576);
  CHECK(parse_volume_size("1024K") == 1'048'576);
  CHECK(parse_volume_size("4M") == 4'194'304);
  CHECK(parse_volume_size("4MiB") == 4'194'304);
  CHECK(parse_volume_size("4m") == 4'194'304);
  CHECK(parse_volume_size("2G") == 2'147'483'648ull);
  CHECK(parse_volume_size("4700000000") == 4'700'000'000ull);
}

TEST_CASE("volumes: nonsense sizes are refused with what is accepted", "[volumes]") {
  auto refused = [](const char* s) {
    try {
      parse_volume_size(s);
    } catch (const Error& e) {
      CHECK(e.exit() == Exit::kUsage);
      return std::string(e.what()) + " | " + e.hint();
    }
    FAIL("accepted " << s);
    return std::string();
  };
  CHECK_THAT(refused("0"), Catch::Contains("at least one byte") && Catch::Contains("minimum is 1 MiB"));
  CHECK_THAT(refused("0G"), Catch::Contains("minimum is 1 MiB"));
  CHECK_THAT(refused("100K"), Catch::Contains("below the minimum of 1 MiB (1,048,576 bytes)") &&
                                  Catch::Contains(".999"));
  CHECK_THAT(refused("1048575"), Catch::Contains("below the minimum"));
  CHECK_THAT(refused("4MB"), Catch::Contains("ambiguous unit") && Catch::Contains("4,194,304"));
  CHECK_THAT(refused("4.7G"), Catch::Contains("unknown unit"));
  CHECK_THAT(refused("dvd9"), Catch::Contains("not a size"));
  CHECK_THAT(refused("DVD"), Catch::Contains("not a size") && Catch::Contains("dvd (4,700,000,000 bytes"));
  CHECK_THAT(refused(""), Catch::Contains("not a size"));
  CHECK_THAT(refused("-1M"), Catch::Contains("not a size"));
  CHECK_THAT(refused("99999999999999999999"), Catch::Contains("too large"));
  CHECK_THAT(refused("17179869184G"), Catch::Contains("too large"));
}

TEST_CASE("volumes: names and counts", "[volumes]") {
  CHECK(volume_path("d/b.sealed", 3) == "d/b.sealed.003");
  CHECK(volume_path("b.sealed", 999) == "b.sealed.999");
  CHECK(index_path("d/b.sealed") == "d/b.sealed.volumes");
  CHECK(index_sig_path("b.sealed") == "b.sealed.volumes.minisig");
  CHECK(volume_number("x/b.sealed.007") == 7);
  CHECK_FALSE(volume_number("b.sealed.000"));
  CHECK_FALSE(volume_number("b.sealed.01"));
  CHECK_FALSE(volume_number("b.sealed"));
  CHECK(volume_size_text(4'700'000'000) == "4,700,000,000 bytes (dvd)");
  CHECK(volume_size_text(16 << 20) == "16,777,216 bytes (16 MiB)");
  CHECK(volume_size_text(1'500'000) == "1,500,000 bytes");
  CHECK(volumes_needed(0, 10) == 1);
  CHECK(volumes_needed(10, 10) == 1);
  CHECK(volumes_needed(11, 10) == 2);
  CHECK_THROWS_WITH(check_volume_name("a\\b.sealed"), Catch::Contains("backslash"));
  CHECK_THROWS_WITH(check_volume_name("a\nb.sealed"), Catch::Contains("line break"));
  CHECK_THROWS_WITH(check_volume_name(std::string(240, 'a')), Catch::Contains("too long"));
}

TEST_CASE("volumes: the index is sha256sum's format, read back strictly", "[volumes]") {
  VolumeIndex ix{"b.sealed", {{"b.sealed.001", std::string(64, 'a')}, {"b.sealed.002", std::string(64, '0')}}};
  std::string text = format_index(ix);
  CHECK(text == std::string(64, 'a') + "  b.sealed.001\n" + std::string(64, '0') + "  b.sealed.002\n");
  VolumeIndex back = parse_index(text, "b.sealed.volumes");
  CHECK(back.bundle_name == "b.sealed");
  REQUIRE(back.volumes.size() == 2);
  CHECK(back.volumes[1].name == "b.sealed.002");

  std::string h(64, 'a');
  CHECK_THROWS_WITH(parse_index(text, "b.sealed"), Catch::Contains("not the name of a volume index"));
  CHECK_THROWS_WITH(parse_index("", "b.sealed.volumes"), Catch::Contains("empty"));
  CHECK_THROWS_WITH(parse_index(h + "  b.sealed.001", "b.sealed.volumes"), Catch::Contains("line feed"));
  CHECK_THROWS_WITH(parse_index(h + " b.sealed.001\n", "b.sealed.volumes"), Catch::Contains("line 1: not"));
  CHECK_THROWS_WITH(parse_index(std::string(64, 'A') + "  b.sealed.001\n", "b.sealed.volumes"),
                    Catch::Contains("line 1: not"));
  CHECK_THROWS_WITH(parse_index(h + "  b.sealed.001\r\n", "b.sealed.volumes"), Catch::Contains("carriage return"));
  CHECK_THROWS_WITH(parse_index(h + "  b.sealed.002\n", "b.sealed.volumes"),
                    Catch::Contains("line 1: lists \"b.sealed.002\", expected \"b.sealed.001\""));
  CHECK_THROWS_WITH(parse_index(h + "  other.sealed.001\n", "b.sealed.volumes"), Catch::Contains("expected"));
  CHECK_THROWS_WITH(parse_index(h + "  b.sealed.001\n" + h + "  b.sealed.001\n", "b.sealed.volumes"),
                    Catch::Contains("line 2"));
}

TEST_CASE("volumes: the index's trusted comment binds file, count and bundle-id", "[volumes]") {
  std::string id = new_bundle_id();
  std::string c = index_trusted_comment(id, "b.sealed.volumes", 3);
  CHECK(c == "airlock-bundle/1 bundle-id:" + id + " file:b.sealed.volumes volumes:3");
  CHECK(check_index_comment(c, "b.sealed.volumes", 3) == id);
  CHECK_THROWS_WITH(check_index_comment(c, "c.sealed.volumes", 3), Catch::Contains("expected"));
  CHECK_THROWS_WITH(check_index_comment(c, "b.sealed.volumes", 4), Catch::Contains("volumes:4"));
  CHECK_THROWS_WITH(check_index_comment("airlock-bundle/1 bundle-id:nope file:b.sealed.volumes volumes:3",
                                        "b.sealed.volumes", 3),
                    Catch::Contains("is not"));
}

TEST_CASE("volumes: a stream is cut at SIZE, positioned writes land, hashes are of the final bytes", "[volumes]") {
  test::TempDir dir;
  std::string data = pattern(1000, 1);
  std::string b = dir / "b.sealed";
  {
    VolumeWriter w(b, 300, false);
    write_pieces(w, data);
    // Into the first volume (closed long ago), and across volumes 1 and 2.
    w.patch(0, bytes("HEADER"));
    w.patch(295, bytes("0123456789"));
    data.replace(0, 6, "HEADER");
    data.replace(295, 10, "0123456789");
    const VolumeIndex& ix = w.close();
    REQUIRE(ix.volumes.size() == 4);
    std::string joined;
    for (int i = 1; i <= 4; ++i) {
      std::string v = slurp(volume_path(b, i));
      CHECK(v.size() == (i < 4 ? 300u : 100u));
      CHECK(ix.volumes[i - 1].sha256 == sha256_hex(v));
      CHECK(ix.volumes[i - 1].name == "b.sealed.00" + std::to_string(i));
      joined += v;
    }
    CHECK(joined == data);
    CHECK(w.reread() == sha256_hex(data));
    // Not committed: destroying the writer removes every volume.
  }
  CHECK(names_in(dir.str()).empty());
}

TEST_CASE("volumes: a signed index is written and committed with its volumes", "[volumes]") {
  test::TempDir dir;
  auto sk = minisign::SecretKey::generate();
  std::string b = dir / "b.sealed", id = new_bundle_id(), data = pattern(650, 2);
  {
    VolumeWriter w(b, 300, false);
    write_pieces(w, data);
    std::string ix_sha = w.write_signed_index(sk, id);
    CHECK(ix_sha == sha256_hex(slurp(index_path(b))));
    w.commit();
  }
  CHECK(names_in(dir.str()) == std::vector<std::string>{"b.sealed.001", "b.sealed.002", "b.sealed.003",
                                                         "b.sealed.volumes", "b.sealed.volumes.minisig"});
  std::string text = slurp(index_path(b));
  auto sig = minisign::Signature::parse(slurp(index_sig_path(b)));
  minisign::verify_message(sk.public_key(), sig, bytes(text));
  CHECK(sig.trusted_comment == index_trusted_comment(id, "b.sealed.volumes", 3));
  CHECK(parse_index(text, "b.sealed.volumes").volumes.size() == 3);

  // Not again without --force; with it, the old set's fourth volume goes.
  CHECK_THROWS_WITH(VolumeWriter::refuse_existing(b, false),
                    Catch::Contains("b.sealed.001 and 4 more: already exist"));
  CHECK_THROWS_WITH(VolumeWriter::refuse_existing(dir / "nowhere/b.sealed", true),
                    Catch::Contains("nowhere: no such directory"));
  spit(volume_path(b, 4), "stale");
  {
    VolumeWriter w(b, 1000, true);
    write_pieces(w, data);
    w.write_signed_index(sk, id);
    w.commit();
  }
  CHECK(names_in(dir.str()) ==
        std::vector<std::string>{"b.sealed.001", "b.sealed.volumes", "b.sealed.volumes.minisig"});
  CHECK(slurp(volume_path(b, 1)) == data);
}

TEST_CASE("volumes: more than 999 volumes is an error that leaves nothing", "[volumes]") {
  test::TempDir dir;
  {
    VolumeWriter w(dir / "b.sealed", 1, false);
    std::string data(1000, 'x');
    CHECK_THROWS_WITH(w.write(bytes(data)), Catch::Contains("more than 999 volumes"));
  }
  CHECK(names_in(dir.str()).empty());
}

TEST_CASE("volumes: the envelope written as volumes is the envelope written as one file", "[volumes]") {
  test::TempDir dir;
  std::string payload = pattern(5000, 3);
  auto write_envelope = [&](EnvelopeOutput& out) {
    EnvelopeWriter env(out, 1'700'000'000);
    env.payload().write(bytes(payload));
    env.end_payload();
    env.add_member(kPayloadSigMember, "sig");
    env.add_member(kLabelMember, "label");
    env.add_member(kLabelSigMember, "lsig");
    env.close();
  };
  {
    OutputFile f(dir / "one.sealed", 0644, false);
    FileEnvelopeOutput out(f);
    write_envelope(out);
    f.commit();
  }
  auto sk = minisign::SecretKey::generate();
  {
    VolumeWriter w(dir / "v.sealed", 1024, false);
    write_envelope(w);
    w.write_signed_index(sk, new_bundle_id());
    w.commit();
  }
  std::string joined;
  for (int i = 1; fs::exists(volume_path(dir / "v.sealed", i)); ++i) {
    std::string v = slurp(volume_path(dir / "v.sealed", i));
    CHECK(v.size() <= 1024);
    joined += v;
  }
  CHECK(joined == slurp(dir / "one.sealed"));
  Envelope env = read_envelope(Volumes::open(dir / "v.sealed.001"));
  CHECK(env.payload_size == payload.size());
  CHECK(env.label == "label");
}

TEST_CASE("volumes: the unpacker checks each volume against the signed index", "[volumes][unpacker]") {
  test::TempDir dir;
  auto sk = minisign::SecretKey::generate();
  std::string id = new_bundle_id(), b = dir / "b.sealed";
  {
    VolumeWriter w(b, 300, false);
    write_pieces(w, pattern(800, 4));
    w.write_signed_index(sk, id);
    w.commit();
  }
  std::string pub = dir / "s.pub", other = dir / "o.pub";
  spit(pub, sk.public_key().file_text());
  spit(other, minisign::SecretKey::generate().public_key().file_text());
  unpacker::TrustedKeys keys = unpacker::load_trusted_keys({pub});

  unpacker::SignedIndex ix = unpacker::read_signed_index(index_path(b), keys);
  CHECK(ix.bundle_id == id);
  CHECK(ix.sha256 == sha256_hex(slurp(index_path(b))));
  CHECK(unpacker::check_volume(ix, volume_path(b, 2)).number == 2);
  CHECK(unpacker::check_volume_set(ix, false).size() == 3);

  // Only a trusted key's index counts.
  CHECK_THROWS_WITH(unpacker::read_signed_index(index_path(b), unpacker::load_trusted_keys({other})),
                    Catch::Contains("not signed by a trusted key"));

  // One byte changed in the middle volume.
  std::string v2 = slurp(volume_path(b, 2));
  std::string flipped = v2;
  flipped[150] = static_cast<char>(flipped[150] ^ 1);
  spit(volume_path(b, 2), flipped);
  CHECK_THROWS_WITH(unpacker::check_volume(ix, volume_path(b, 2)),
                    Catch::Contains("b.sealed.002 is damaged or was altered"));
  CHECK_THROWS_WITH(unpacker::check_volume_set(ix, false), Catch::Contains("b.sealed.002 is damaged"));
  // Truncated: named by its size before any hashing.
  spit(volume_path(b, 2), v2.substr(0, 100));
  CHECK_THROWS_WITH(unpacker::check_volume(ix, volume_path(b, 2)),
                    Catch::Contains("b.sealed.002 is truncated: 100 bytes, the other volumes have 300"));
  spit(volume_path(b, 2), v2);
  // Missing and extra volumes, all named at once.
  fs::rename(volume_path(b, 2), dir / "elsewhere");
  spit(volume_path(b, 4), "x");
  CHECK_THROWS_WITH(unpacker::check_volume_set(ix, false),
                    Catch::Contains("b.sealed.002 is missing") && Catch::Contains("b.sealed.004 is not in the index"));
  fs::rename(dir / "elsewhere", volume_path(b, 2));
  CHECK_THROWS_WITH(unpacker::check_volume(ix, volume_path(b, 4)), Catch::Contains("is not in the index"));
  fs::remove(volume_path(b, 4));
  // An altered index no longer verifies; without its signature it is not trusted.
  std::string text = slurp(index_path(b));
  spit(index_path(b), text.substr(0, text.size() - 1) + " \n");
  CHECK_THROWS_WITH(unpacker::read_signed_index(index_path(b), keys), Catch::Contains("not signed by a trusted key"));
  spit(index_path(b), text);
  fs::remove(index_sig_path(b));
  CHECK_THROWS_WITH(unpacker::read_signed_index(index_path(b), keys), Catch::Contains(".minisig is missing"));
}
