// Our BLAKE2b-512 (common/blake2b.cc) against RFC 7693 and libsodium.
#include <sodium.h>

#include <catch2/catch.hpp>
#include <random>
#include <vector>

#include "common/hash.h"

using namespace airlock;

namespace {

std::string b2_hex(std::span<const uint8_t> data) {
  Blake2b512 b;
  b.update(data);
  auto d = b.digest();
  return to_hex(d);
}

std::string sodium_hex(std::span<const uint8_t> data) {
  std::array<uint8_t, 64> out{};
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), nullptr, 0);
  return to_hex(out);
}

}  // namespace

TEST_CASE("BLAKE2b-512: RFC 7693's vector, and the empty input", "[hash][blake2b]") {
  const std::string abc = "abc";
  CHECK(b2_hex({reinterpret_cast<const uint8_t*>(abc.data()), abc.size()}) ==
        "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
        "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923");
  CHECK(b2_hex({}) ==
        "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419"
        "d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce");
}

TEST_CASE("BLAKE2b-512: as libsodium's for every length to three blocks, whole and in pieces", "[hash][blake2b]") {
  REQUIRE(sodium_init() >= 0);
  std::mt19937 rng(7693);
  std::vector<uint8_t> data(3 * 128 + 2);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (size_t n = 0; n <= data.size(); ++n) {
    std::span<const uint8_t> in(data.data(), n);
    std::string want = sodium_hex(in);
    INFO("length " << n);
    CHECK(b2_hex(in) == want);
    // The same bytes in pieces of every size from 1 to 129, and empty updates.
    for (size_t piece : {size_t{1}, size_t{7}, size_t{64}, size_t{127}, size_t{128}, size_t{129}}) {
      Blake2b512 b;
      for (size_t at = 0; at < n; at += piece) {
        b.update(in.subspan(at, std::min(piece, n - at)));
        b.update({});
      }
      CHECK(to_hex(b.digest()) == want);
    }
  }
  // digest() starts over.
  Blake2b512 b;
  b.update(std::span<const uint8_t>(data.data(), 100));
  (void)b.digest();
  b.update(std::span<const uint8_t>(data.data(), 5));
  CHECK(to_hex(b.digest()) == sodium_hex(std::span<const uint8_t>(data.data(), 5)));
}

TEST_CASE("BLAKE2b-512: a large input in uneven pieces", "[hash][blake2b]") {
  REQUIRE(sodium_init() >= 0);
  std::vector<uint8_t> data(5 << 20);
  std::mt19937 rng(1);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  Blake2b512 b;
  size_t at = 0;
  for (size_t piece = 1; at < data.size(); piece = piece * 3 + 1) {
    size_t n = std::min(piece % 1000003, data.size() - at);
    b.update(std::span<const uint8_t>(data.data() + at, n));
    at += n;
  }
  CHECK(to_hex(b.digest()) == sodium_hex(data));
}
