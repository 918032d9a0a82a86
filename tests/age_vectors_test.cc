// The public age v1 test vectors (C2SP CCTV), each registered as its own
// test case "age vector: NAME" at start-up, so ctest lists and runs them one
// by one. Directory: $AIRLOCK_AGE_VECTORS, else tests/vectors/age.
#include <zlib.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>

#include "common/age/age.h"
#include "common/hash.h"
#include "tests/support.h"

using namespace airlock;
namespace fs = std::filesystem;

namespace {

constexpr size_t kExpectedVectors = 99;

std::string vector_dir() {
  const char* d = std::getenv("AIRLOCK_AGE_VECTORS");
  return d && *d ? d : test::source_dir() + "/tests/vectors/age";
}

std::vector<std::string> vector_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(vector_dir(), ec))
    if (e.is_regular_file() && e.path().filename() != "README.md") names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string inflate_zlib(const std::string& in) {
  z_stream z{};
  REQUIRE(inflateInit(&z) == Z_OK);
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    char buf[1 << 16];
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  inflateEnd(&z);
  REQUIRE(rc == Z_STREAM_END);
  return out;
}

struct Vector {
  std::multimap<std::string, std::string> fields;
  std::string body;
  std::string get(const std::string& k) const {
    auto it = fields.find(k);
    return it == fields.end() ? "" : it->second;
  }
};

Vector load(const std::string& path) {
  std::string text = test::slurp(path);
  size_t end = text.find("\n\n");
  REQUIRE(end != std::string::npos);
  Vector v;
  for (size_t s = 0; s <= end;) {
    size_t e = text.find('\n', s);
    std::string line = text.substr(s, e - s);
    size_t colon = line.find(": ");
    REQUIRE(colon != std::string::npos);
    v.fields.emplace(line.substr(0, colon), line.substr(colon + 2));
    s = e + 1;
  }
  v.body = text.substr(end + 2);
  if (v.get("compressed") == "zlib") v.body = inflate_zlib(v.body);
  return v;
}

const char* kind_name(age::ErrorKind k) {
  switch (k) {
    case age::ErrorKind::kNoMatch: return "no match";
    case age::ErrorKind::kIncorrectPassphrase: return "no match";  // the vectors do not tell them apart
    case age::ErrorKind::kHeader: return "header failure";
    case age::ErrorKind::kHmac: return "HMAC failure";
    case age::ErrorKind::kPayload: return "payload failure";
    case age::ErrorKind::kArmor: return "armor failure";
    case age::ErrorKind::kKey: return "key failure";
  }
  return "?";
}

struct Outcome {
  std::string result = "success";
  std::string message;
  std::string released_sha256;
  bool armored = false;
};

// Decrypts with read() in odd-sized pieces, or with copy_to(), on 1 or 2 threads.
Outcome decrypt(const Vector& v, bool use_copy_to, unsigned threads) {
  age::DecryptKeys keys;
  for (auto [it, e] = v.fields.equal_range("identity"); it != e; ++it)
    keys.identities.push_back(age::X25519Identity::parse(it->second));
  if (auto p = v.get("passphrase"); !p.empty())
    keys.passphrase = SecureBytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(p.data()), p.size()));
  MemoryReader in(v.body, "vector");
  HashingWriter hashed(nullptr, false);
  Outcome o;
  try {
    age::Decryptor d(in, keys, threads);
    o.armored = d.summary().armored;
    if (use_copy_to) {
      d.copy_to(hashed);
    } else {
      std::vector<uint8_t> buf(7777);
      while (size_t n = d.read(buf)) hashed.write(std::span<const uint8_t>(buf.data(), n));
    }
  } catch (const age::AgeError& e) {
    o.result = kind_name(e.kind());
    o.message = e.what();
  }
  o.released_sha256 = hashed.sha256().hex_digest();
  return o;
}

class VectorTest : public Catch::ITestInvoker {
 public:
  explicit VectorTest(std::string name) : name_(std::move(name)) {}
  void invoke() const override {
    Vector v = load(vector_dir() + "/" + name_);
    std::string expect = v.get("expect");
    for (bool copy_to : {false, true}) {
      Outcome o = decrypt(v, copy_to, copy_to ? 2 : 1);
      INFO("vector " << name_ << " (" << v.get("comment") << "), via " << (copy_to ? "copy_to" : "read")
                     << ": error message: " << o.message);
      CHECK(o.result == expect);
      if (expect == "success" || expect == "payload failure") CHECK(o.released_sha256 == v.get("payload"));
      if (expect == "success") CHECK(o.armored == (v.get("armored") == "yes"));
      if (expect != "success") CHECK(!o.message.empty());
    }
  }

 private:
  std::string name_;
};

// Registers one Catch2 test case per vector file before main() runs.
struct Registrar {
  std::deque<std::string> names;  // Catch keeps StringRefs: stable storage
  std::deque<Catch::AutoReg> regs;
  Registrar() {
    for (const auto& n : vector_names()) {
      names.push_back("age vector: " + n);
      regs.emplace_back(new VectorTest(n), Catch::SourceLineInfo(__FILE__, __LINE__), Catch::StringRef(),
                        Catch::NameAndTags(Catch::StringRef(names.back()), "[age][vectors]"));
    }
  }
};
const Registrar registrar;

}  // namespace

TEST_CASE("age: the vector directory holds all 99 CCTV vectors", "[age][vectors]") {
  INFO("directory " << vector_dir() << " (set AIRLOCK_AGE_VECTORS to change it)");
  auto names = vector_names();
  CHECK(names.size() == kExpectedVectors);
  // Each found vector is a registered test case, so none is skipped silently.
  CHECK(registrar.names.size() == names.size());
}
