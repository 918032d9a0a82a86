#include <catch2/catch.hpp>

#include "common/age/header.h"

using namespace airlock;
using namespace airlock::age;

namespace {
Header parse(const std::string& text) {
  MemoryReader r(text);
  BufferedInput in(r);
  return parse_header(in);
}
std::string mac_line() { return "--- " + std::string(43, 'A') + "\n"; }

ErrorKind kind_of(const std::string& text) {
  try {
    parse(text);
  } catch (const AgeError& e) {
    return e.kind();
  }
  FAIL("parsed: " << text);
  return ErrorKind::kKey;
}
}  // namespace

TEST_CASE("age header: encode and parse round trip, body lines wrap at 64 columns", "[age][header]") {
  for (size_t body_len : {0, 1, 32, 47, 48, 49, 96, 100}) {
    std::vector<uint8_t> body(body_len, 0x5a);
    std::vector<Stanza> st{{"X25519", {"arg1"}, body}, {"grease-x", {}, {1, 2, 3}}};
    std::string mac_input = encode_header_without_mac(st);
    std::array<uint8_t, 32> mac{};
    mac[0] = 7;
    std::string text = encode_header(mac_input, mac);
    // Every body line but the last is exactly 64 columns; the last is shorter
    // (empty when the body is a multiple of 48 bytes).
    size_t lines = body_len / 48 + 1;
    auto first_body = text.find('\n', text.find("-> X25519")) + 1;
    for (size_t i = 0; i < lines; ++i) {
      auto e = text.find('\n', first_body);
      CHECK((e - first_body == 64) == (i + 1 < lines));
      first_body = e + 1;
    }
    Header h = parse(text + "payload");
    REQUIRE(h.stanzas.size() == 2);
    CHECK(h.stanzas[0].body == body);
    CHECK(h.stanzas[0].args == std::vector<std::string>{"arg1"});
    CHECK(h.stanzas[1].type == "grease-x");
    CHECK(h.mac == mac);
    CHECK(h.mac_input == mac_input);
  }
}

TEST_CASE("age header: the parser stops at the first payload byte", "[age][header]") {
  std::string text = "age-encryption.org/v1\n-> a\n\n" + mac_line() + "PAYLOAD";
  MemoryReader r(text);
  BufferedInput in(r);
  parse_header(in);
  std::vector<uint8_t> rest(16);
  size_t n = in.read(rest);
  CHECK(std::string(rest.begin(), rest.begin() + static_cast<long>(n)) == "PAYLOAD");
}

TEST_CASE("age header: malformed headers are header failures that quote the input", "[age][header]") {
  const std::string intro = "age-encryption.org/v1\n";
  CHECK(kind_of("") == ErrorKind::kHeader);
  CHECK(kind_of(intro) == ErrorKind::kHeader);                             // truncated: no MAC line
  CHECK(kind_of(intro + "-> X25519 abc\n") == ErrorKind::kHeader);         // truncated inside stanza
  CHECK(kind_of(intro + "-> X25519  abc\n\n" + mac_line()) == ErrorKind::kHeader);  // empty argument
  CHECK(kind_of(intro + "->\n\n" + mac_line()) == ErrorKind::kHeader);     // no type
  CHECK(kind_of(intro + "-> a\n" + mac_line()) == ErrorKind::kHeader);     // no final short body line
  CHECK(kind_of(intro + "-> a\nAA==\n" + mac_line()) == ErrorKind::kHeader);   // padding
  CHECK(kind_of(intro + "-> a\nAB\n" + mac_line()) == ErrorKind::kHeader);     // non-canonical trailing bits
  CHECK(kind_of(intro + "-> a\n\n--- " + std::string(43, 'A')) == ErrorKind::kHeader);  // MAC line without LF
  CHECK(kind_of(intro + "-> a\n\n---  " + std::string(43, 'A') + "\n") == ErrorKind::kHeader);
  CHECK(kind_of("age-encryption.org/v2\n-> a\n\n" + mac_line()) == ErrorKind::kHeader);
  try {
    parse(intro + "-> X25519 a\x01" "b\n\n" + mac_line());
    FAIL("parsed");
  } catch (const AgeError& e) {
    CHECK_THAT(e.what(), Catch::Contains("parsing age header") && Catch::Contains("\\x01"));
  }
}

TEST_CASE("age header: a hostile over-long line is refused without reading it all", "[age][header]") {
  std::string text = "age-encryption.org/v1\n-> " + std::string(kMaxHeaderLine + 10, 'a') + "\n";
  CHECK(kind_of(text) == ErrorKind::kHeader);
}
