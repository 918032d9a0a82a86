#include <catch2/catch.hpp>

#include <random>

#include "common/age/stream.h"
#include "common/age/age.h"
#include "common/age/primitives.h"
#include "common/hash.h"

using namespace airlock;
using namespace airlock::age;

namespace {
SecureBytes test_key() {
  SecureBytes k(32);
  for (size_t i = 0; i < k.size(); ++i) k.data()[i] = static_cast<uint8_t>(i);
  return k;
}
std::vector<uint8_t> random_bytes(size_t n) {
  std::mt19937 g(static_cast<unsigned>(n));
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(g());
  return v;
}
std::vector<uint8_t> seal(const std::vector<uint8_t>& plain, size_t piece = 1000) {
  VectorWriter out;
  StreamEncryptor enc(out, test_key());
  for (size_t i = 0; i < plain.size(); i += piece)
    enc.write(std::span<const uint8_t>(plain.data() + i, std::min(piece, plain.size() - i)));
  enc.finish();
  return out.out;
}
// Plaintext released, and the payload error if any.
std::pair<std::vector<uint8_t>, std::string> open(const std::vector<uint8_t>& sealed, unsigned threads = 1) {
  MemoryReader in(sealed);
  StreamDecryptor dec(in, test_key(), threads);
  std::vector<uint8_t> got;
  try {
    for (auto s = dec.next(); !s.empty(); s = dec.next()) got.insert(got.end(), s.begin(), s.end());
  } catch (const AgeError& e) {
    CHECK(e.kind() == ErrorKind::kPayload);
    return {got, e.what()};
  }
  return {got, ""};
}
constexpr size_t C = wire::kChunkSize, E = wire::kEncChunkSize;
}  // namespace

TEST_CASE("age stream: round trip at chunk-boundary sizes, on 1 and 2 threads", "[age][stream]") {
  for (size_t n : {size_t{0}, size_t{1}, C - 1, C, C + 1, 2 * C, 3 * C + 5, 40 * C, 70 * C + 3}) {
    auto plain = random_bytes(n);
    auto sealed = seal(plain, n % 7 == 0 ? 4096 : 65'537);
    // Size: one tag per chunk; an empty payload is one empty final chunk.
    size_t chunks = n == 0 ? 1 : (n + C - 1) / C;
    CHECK(sealed.size() == n + chunks * wire::kAeadTagSize);
    for (unsigned t : {1u, 2u}) {
      auto [got, err] = open(sealed, t);
      INFO("size " << n << " threads " << t);
      CHECK(err.empty());
      CHECK(got == plain);
    }
  }
}

TEST_CASE("age stream: truncation anywhere is a payload failure", "[age][stream]") {
  auto plain = random_bytes(3 * C);
  auto sealed = seal(plain);
  for (size_t cut : {size_t{0}, size_t{1}, size_t{15}, E - 1, E, E + 16, 2 * E, sealed.size() - 1}) {
    std::vector<uint8_t> t(sealed.begin(), sealed.begin() + static_cast<long>(cut));
    auto [got, err] = open(t);
    INFO("cut at " << cut);
    CHECK_FALSE(err.empty());
    CHECK(got.size() <= cut);
    // Only whole authenticated chunks are released.
    CHECK(got.size() % C == 0);
    CHECK(std::equal(got.begin(), got.end(), plain.begin()));
  }
  CHECK_THAT(open(std::vector<uint8_t>(sealed.begin(), sealed.begin() + 2 * E)).second,
             Catch::Contains("without a final chunk"));
}

TEST_CASE("age stream: data after the final chunk and flipped bits are refused", "[age][stream]") {
  auto plain = random_bytes(C + 100);
  auto sealed = seal(plain);
  auto extra = sealed;
  extra.push_back(0);
  auto [got, err] = open(extra);
  CHECK_FALSE(err.empty());
  CHECK(got.size() == C);  // the first chunk is authenticated; the short "final" one is not
  for (size_t pos : {size_t{0}, C + 5, sealed.size() - 1}) {
    auto bad = sealed;
    bad[pos] ^= 0x80;
    auto [g, e] = open(bad, 2);
    INFO("flip at " << pos);
    CHECK_THAT(e, Catch::Contains("failed to decrypt and authenticate"));
    CHECK(g.size() == (pos < E ? 0 : C));
  }
  // A full final chunk followed by another chunk: trailing data.
  auto full = seal(random_bytes(C));
  auto two = full;
  two.insert(two.end(), full.begin(), full.end());
  CHECK_THAT(open(two).second, Catch::Contains("trailing data"));
}

TEST_CASE("age stream: an empty final chunk is allowed only for an empty payload", "[age][stream]") {
  CHECK(open(seal({})).second.empty());
  // A full middle chunk, then an empty chunk marked final: refused.
  auto plain = random_bytes(C);
  SecureBytes key = test_key();
  std::vector<uint8_t> file(E + wire::kAeadTagSize);
  uint8_t nonce[12] = {};
  aead_seal(key.data(), nonce, plain.data(), C, file.data());
  nonce[10] = 1;  // counter 1
  nonce[11] = 1;  // last
  aead_seal(key.data(), nonce, nullptr, 0, file.data() + E);
  auto [got, err] = open(file);
  CHECK_THAT(err, Catch::Contains("empty"));
  CHECK(got == plain);
}
