#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/audit.h"
#include "common/hash.h"
#include "tests/support.h"

using namespace airlock;
using airlock::test::TempDir;

TEST_CASE("audit: records chain by the hash of the previous line", "[audit]") {
  TempDir d;
  std::string log = d / "sub/audit.jsonl";
  for (int i = 0; i < 3; ++i) audit_append(log, {.event = "verify", .outcome = "ok", .detail = std::to_string(i)});
  std::string text = test::slurp(log);
  auto l1 = text.substr(0, text.find('\n'));
  auto rest = text.substr(text.find('\n') + 1);
  auto l2 = rest.substr(0, rest.find('\n'));
  CHECK(nlohmann::json::parse(l1)["prev"] == std::string(64, '0'));
  CHECK(nlohmann::json::parse(l2)["prev"] == sha256_hex(l1));
  for (const char* k : {"time", "host", "user", "uid", "tool", "version", "event", "bundle_id", "bundle_sha256",
                        "signer_key_id", "marking", "outcome", "detail"})
    CHECK(nlohmann::json::parse(l1).contains(k));
  AuditCheck c = audit_verify(log);
  CHECK(c.ok);
  CHECK(c.records == 3);
  CHECK(c.last_hash.size() == 64);
}

TEST_CASE("audit: an edited, removed or reordered record breaks the chain", "[audit]") {
  TempDir d;
  std::string log = d / "audit.jsonl";
  for (int i = 0; i < 4; ++i) audit_append(log, {.event = "extract", .outcome = "ok", .detail = "n" + std::to_string(i)});
  std::string text = test::slurp(log);
  std::vector<std::string> lines;
  for (size_t s = 0; s < text.size();) {
    size_t e = text.find('\n', s);
    lines.push_back(text.substr(s, e - s));
    s = e + 1;
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string o;
    for (auto& l : v) o += l + "\n";
    return o;
  };
  SECTION("edited") {
    auto v = lines;
    v[1].replace(v[1].find("\"n1\""), 4, "\"n9\"");
    test::spit(log, join(v));
    CHECK_FALSE(audit_verify(log).ok);
  }
  SECTION("removed") {
    auto v = lines;
    v.erase(v.begin() + 1);
    test::spit(log, join(v));
    CHECK_FALSE(audit_verify(log).ok);
  }
  SECTION("reordered") {
    auto v = lines;
    std::swap(v[1], v[2]);
    test::spit(log, join(v));
    CHECK_FALSE(audit_verify(log).ok);
  }
  SECTION("tail cut: chain intact, last hash differs") {
    std::string before = audit_verify(log).last_hash;
    auto v = lines;
    v.pop_back();
    test::spit(log, join(v));
    auto c = audit_verify(log);
    CHECK(c.ok);
    CHECK(c.last_hash != before);
  }
}
