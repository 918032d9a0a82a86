#include <catch2/catch.hpp>

#include "common/age/armor.h"

using namespace airlock;
using namespace airlock::age;

namespace {
std::string dearmor(const std::string& text) {
  MemoryReader in(text);
  ArmorReader a(in);
  std::string out;
  std::vector<uint8_t> buf(100);
  while (size_t n = a.read(buf)) out.append(reinterpret_cast<char*>(buf.data()), n);
  return out;
}
bool refused(const std::string& text) {
  try {
    dearmor(text);
  } catch (const AgeError& e) {
    CHECK(e.kind() == ErrorKind::kArmor);
    CHECK_THAT(e.what(), Catch::StartsWith("invalid armor: "));
    return true;
  }
  return false;
}
std::string bytes(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += static_cast<char>(i * 7 + 3);
  return s;
}
}  // namespace

TEST_CASE("age armor: encode/decode round trip with 64-column lines", "[age][armor]") {
  for (size_t n : {0, 1, 47, 48, 49, 96, 1000}) {
    std::string data = bytes(n);
    std::string a = armor(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), n));
    CHECK(a.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
    CHECK(a.ends_with("-----END AGE ENCRYPTED FILE-----\n"));
    size_t lines = 0;
    for (size_t s = a.find('\n') + 1; a.compare(s, 5, "-----") != 0; s = a.find('\n', s) + 1) {
      size_t len = a.find('\n', s) - s;
      CHECK(len <= 64);
      CHECK(len > 0);  // never an empty line, even for multiples of 48 bytes
      ++lines;
    }
    CHECK(lines == (n + 47) / 48);
    CHECK(dearmor(a) == data);
    // CRLF and surrounding whitespace are accepted.
    std::string crlf;
    for (char c : a) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    CHECK(dearmor(" \n\t\n" + crlf + "\n  \n") == data);
  }
}

TEST_CASE("age armor: strict decoding refuses every deviation", "[age][armor]") {
  std::string data = bytes(100);
  std::string a = armor(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = a;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  CHECK(refused("junk\n" + a));
  CHECK(refused(a + "junk\n"));
  CHECK(refused(a.substr(0, a.size() - 10)));                        // no end line
  CHECK(refused(replace("-----\n", "-----\nVersion: 1\n")));         // headers
  CHECK(refused(replace("-----\n", "-----\n\n")));                   // empty line
  CHECK(refused(replace("BEGIN AGE", "BEGIN PGP")));                 // wrong type
  std::string line2 = a.substr(a.find('\n') + 1, 64);
  CHECK(refused(replace(line2, " " + line2)));                       // leading space
  CHECK(refused(replace(line2 + "\n", line2 + " \n")));              // trailing space
  CHECK(refused(replace(line2 + "\n", line2.substr(0, 60) + "\n" + line2.substr(60) + "\n")));  // short line mid-way
  CHECK(refused(std::string(2000, ' ') + a));                        // too much leading whitespace
  CHECK(refused(a + std::string(2000, '\n')));                       // too much trailing whitespace
}
