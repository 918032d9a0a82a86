#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "common/hash.h"
#include "common/sha256_pair.h"

using namespace airlock;

namespace {

std::string hex(const std::array<uint8_t, 32>& d) { return to_hex(d); }

}  // namespace

TEST_CASE("sha256_each: the digests of Sha256, paired or not, whatever the lengths", "[hash]") {
  INFO("this CPU pairs: " << sha256_pairs_here());
  std::mt19937 rng(12);
  // Lengths around the block size and the padding's edge (55, 56), and
  // long ones, so that lanes end at every offset against each other.
  std::vector<size_t> lengths = {0, 1, 3, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096, 65537, 1 << 20};
  std::vector<std::string> data;
  for (int round = 0; round < 40; ++round) {
    data.clear();
    size_t n = 1 + rng() % 9;
    for (size_t i = 0; i < n; ++i) {
      size_t len = round < 20 ? lengths[rng() % lengths.size()] : rng() % 5000;
      std::string m(len, '\0');
      for (auto& c : m) c = static_cast<char>(rng());
      data.push_back(std::move(m));
    }
    std::vector<std::span<const uint8_t>> msgs;
    for (const auto& m : data) msgs.emplace_back(reinterpret_cast<const uint8_t*>(m.data()), m.size());
    auto paired = sha256_each(msgs, true), single = sha256_each(msgs, false);
    REQUIRE(paired.size() == data.size());
    for (size_t i = 0; i < data.size(); ++i) {
      INFO("round " << round << ", message " << i << " of " << data.size() << ", " << data[i].size() << " bytes");
      CHECK(hex(paired[i]) == sha256_hex(std::string_view(data[i])));
      CHECK(hex(single[i]) == sha256_hex(std::string_view(data[i])));
    }
  }
  // FIPS 180-2's "abc", beside a long message.
  std::string abc = "abc", big(3 << 20, 'x');
  std::vector<std::span<const uint8_t>> two{{reinterpret_cast<const uint8_t*>(abc.data()), abc.size()},
                                            {reinterpret_cast<const uint8_t*>(big.data()), big.size()}};
  CHECK(hex(sha256_each(two)[0]) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_each(std::vector<std::span<const uint8_t>>{}).empty());
}
