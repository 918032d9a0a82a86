// Every input that ever made a parser crash, hang or misbehave is kept
// under tests/fuzz/regressions/<parser>/ and fed here to that parser through
// the entry point its harness (tests/fuzz/<parser>_fuzz.cc) calls. Each must
// be refused cleanly (the parser's own airlock::Error) or parsed; anything
// else escaping fails the test. Plain build, no sanitizer needed: scripts/
// fuzz.sh also loads these files into the harnesses, under ASan and UBSan.
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <vector>

#include "common/age/age.h"
#include "common/age/armor.h"
#include "common/audit.h"
#include "common/bundle/label.h"
#include "common/bundle/manifest.h"
#include "common/elf/elf.h"
#include "common/io.h"
#include "common/minisign/minisign.h"
#include "common/target/ld_so_conf.h"
#include "common/target/ldcache.h"
#include "common/target/node_root.h"
#include "common/target/probe_file.h"
#include "packer/checks/wheel.h"
#include "tests/support.h"
#include "unpacker/install/installed_tree.h"
#include "unpacker/checks/verify.h"

using namespace airlock;
namespace fs = std::filesystem;

namespace {

enum class Outcome { kParsed, kRefused };

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Runs `f`; a thrown E is a clean refusal. Anything else propagates.
template <class E = Error, class F>
Outcome refused_as(F f) {
  try {
    f();
    return Outcome::kParsed;
  } catch (const E&) {
    return Outcome::kRefused;
  }
}

using Feeder = std::function<Outcome(const std::string& data, const test::TempDir& tmp)>;

// One per harness, calling what it calls.
const std::map<std::string, Feeder>& feeders() {
  static const std::map<std::string, Feeder> f = {
      {"label", [](const std::string& d, const test::TempDir&) {
         return refused_as([&] { (void)bundle::designation_text(bundle::Label::parse(d)); });
       }},
      {"manifest", [](const std::string& d, const test::TempDir&) {
         return refused_as([&] { (void)bundle::Manifest::parse(d); });
       }},
      {"age", [](const std::string& d, const test::TempDir&) {
         return refused_as([&] {
           // The keys of tests/fuzz/age_fuzz.cc: the vectors' identities and passphrase.
           age::DecryptKeys keys;
           for (const char* id : {"AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0",
                                  "AGE-SECRET-KEY-143WN7DCXU4G8R5AXQSSYD9AEPYDNT3HXSLWSPK36CDU6E8M59SSSAGZ3KG"})
             keys.identities.push_back(age::X25519Identity::parse(id));
           keys.passphrase = SecureBytes(bytes("password"));
           keys.max_scrypt_log_n = 10;
           MemoryReader in(bytes(d), "regression.age");
           age::Decryptor dec(in, keys, 1);
           std::vector<uint8_t> buf(64 * 1024);
           while (dec.read(buf) != 0) {
           }
         });
       }},
      {"armor", [](const std::string& d, const test::TempDir&) {
         return refused_as([&] {
           MemoryReader src(bytes(d), "regression.age");
           age::ArmorReader armor(src);
           std::vector<uint8_t> buf(4096);
           while (armor.read(buf) != 0) {
           }
         });
       }},
      {"bech32", [](const std::string& d, const test::TempDir&) {
         Outcome a = refused_as([&] { (void)age::parse_identity_file(d, "regression"); });
         Outcome b = refused_as([&] { (void)age::parse_recipients_file(d, "regression"); });
         return a == Outcome::kParsed || b == Outcome::kParsed ? Outcome::kParsed : Outcome::kRefused;
       }},
      {"minisig", [](const std::string& d, const test::TempDir&) {
         return refused_as([&] { (void)minisign::Signature::parse(d, "regression.minisig"); });
       }},
      {"minikey", [](const std::string& d, const test::TempDir&) {
         Outcome a = refused_as([&] { (void)minisign::PublicKey::parse(d, "regression.pub"); });
         Outcome b = refused_as([&] { (void)minisign::SecretKey::parse(d, nullptr, "regression.key"); });
         return a == Outcome::kParsed || b == Outcome::kParsed ? Outcome::kParsed : Outcome::kRefused;
       }},
      // The doctor catches only ElfError: nothing else may escape the reader.
      {"elf", [](const std::string& d, const test::TempDir&) {
         return refused_as<elf::ElfError>([&] { (void)elf::read_dynamic(bytes(d), "regression.so"); });
       }},
      {"elf_file", [](const std::string& d, const test::TempDir& tmp) {
         test::spit(tmp / "regression.so", d);
         return refused_as<elf::ElfError>([&] { (void)elf::read_dynamic_file(tmp / "regression.so"); });
       }},
      {"wheel", [](const std::string& d, const test::TempDir& tmp) {
         test::spit(tmp / "regression-1.0-py3-none-any.whl", d);
         return refused_as([&] {
           (void)packer::read_wheel(tmp / "regression-1.0-py3-none-any.whl",
                                    [](const std::string& m, std::span<const uint8_t> b) {
                                      if (elf::probe(b).kind != elf::Kind::kElf64Le) return;
                                      try {
                                        (void)elf::read_dynamic(b, m);
                                      } catch (const elf::ElfError&) {
                                      }
                                    });
         });
       }},
      {"metadata", [](const std::string& d, const test::TempDir&) {
         auto m = packer::parse_metadata(d);
         for (const auto& r : m.requires_dist) (void)packer::parse_requirement(r);
         return Outcome::kParsed;
       }},
      {"audit", [](const std::string& d, const test::TempDir& tmp) {
         test::spit(tmp / "audit.jsonl", d);
         return refused_as([&] { (void)audit_verify(tmp / "audit.jsonl"); });
       }},
      {"probe", [](const std::string& d, const test::TempDir&) {
         return refused_as([&] { (void)target::parse_probe(d, "regression.probe"); });
       }},
      {"ldcache", [](const std::string& d, const test::TempDir&) {
         return refused_as([&] { (void)target::parse_ldcache(bytes(d), "regression.cache"); });
       }},
      {"installed_tree", [](const std::string& d, const test::TempDir&) {
         (void)refused_as([&] { (void)unpacker::find_record_event(d, "/dest"); });
         return refused_as([&] { (void)unpacker::TreeRecord::parse(d); });
       }},
      // As the harness: /etc/ld.so.conf and /etc/ld.so.conf.d/{a,b}.conf all hold the input.
      {"ld_so_conf", [](const std::string& d, const test::TempDir& tmp) {
         fs::create_directories(tmp.path() / "etc" / "ld.so.conf.d");
         for (const char* conf : {"etc/ld.so.conf", "etc/ld.so.conf.d/a.conf", "etc/ld.so.conf.d/b.conf"})
           test::spit(tmp / conf, d);
         return refused_as([&] { (void)target::read_ld_so_conf(target::NodeRoot(tmp.str())); });
       }},
      {"envelope", [](const std::string& d, const test::TempDir& tmp) {
         test::spit(tmp / "signer.pub", test::slurp(test::source_dir() + "/tests/vectors/minisign/key.pub"));
         test::spit(tmp / "regression.sealed", d);
         return refused_as([&] { (void)unpacker::verify_bundle(tmp / "regression.sealed", {tmp / "signer.pub"}, false); });
       }},
  };
  return f;
}

fs::path regressions() { return fs::path(test::source_dir()) / "tests" / "fuzz" / "regressions"; }

std::vector<fs::path> inputs(const std::string& parser) {
  std::vector<fs::path> out;
  if (!fs::is_directory(regressions() / parser)) return out;
  for (const auto& e : fs::directory_iterator(regressions() / parser))
    if (e.is_regular_file() && e.path().filename() != "README.md") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("fuzz regressions: every kept directory has a feeder", "[fuzz]") {
  for (const auto& e : fs::directory_iterator(regressions())) {
    if (!e.is_directory()) continue;
    INFO(e.path());
    CHECK(feeders().count(e.path().filename().string()) == 1);
  }
}

TEST_CASE("fuzz regressions: each kept input is parsed or refused cleanly", "[fuzz]") {
  for (const auto& [parser, feed] : feeders()) {
    for (const auto& p : inputs(parser)) {
      INFO(parser << ": " << p.filename().string());
      test::TempDir tmp;
      std::string data = test::slurp(p.string());
      CHECK_NOTHROW(feed(data, tmp));
    }
  }
}

TEST_CASE("fuzz regressions: ELF header counts and empty tables", "[fuzz]") {
  auto read = [](const std::string& name) {
    return test::slurp((regressions() / "elf" / name).string());
  };
  // PN_XNUM with a count of 2^32-1 (30,000,000): once a 240 GB (1.6 GB)
  // allocation before the table was checked to lie inside the 128-byte file;
  // std::bad_alloc escaped the doctor. Now an ElfError naming the count.
  for (const char* name : {"pn-xnum-count-4g", "pn-xnum-count-30m"}) {
    INFO(name);
    std::string d = read(name);
    REQUIRE(d.size() == 128);
    CHECK_THROWS_WITH(elf::read_dynamic(bytes(d), name),
                      Catch::Contains("entries of 56 bytes at offset 64 run beyond the end of the file (128 bytes)"));
  }
  // Zero-byte reads into empty tables (memcpy from a null pointer): a
  // PT_DYNAMIC under one entry and a .dynsym under one symbol parse; a
  // DT_STRSZ of 0 with a DT_NEEDED is refused for the string it names.
  CHECK(elf::read_dynamic(bytes(read("dynamic-under-16-bytes")), "d").has_dynamic);
  CHECK(elf::read_dynamic(bytes(read("dynsym-under-24-bytes")), "d").needed == std::vector<std::string>{"libc.so.6"});
  CHECK_THROWS_WITH(elf::read_dynamic(bytes(read("strsz-zero")), "d"),
                    Catch::Contains("outside the 0-byte dynamic string table"));
  // Tables that overlap were read once each: 6,000 PT_NOTE segments over
  // the same 400 KiB (1 s under ASan, 4 times that for twice the size), and
  // 8,000 SHT_DYNSYM sections over one 384 KiB table (10 s, 1.5 GB).
  CHECK_THROWS_WITH(elf::read_dynamic(bytes(read("notes-overlapping-6000")), "d"),
                    Catch::Contains("the PT_NOTE segments overlap"));
  CHECK_THROWS_WITH(elf::read_dynamic(bytes(read("dynsym-sections-8000")), "d"),
                    Catch::Contains("the SHT_DYNSYM sections overlap"));
  // One DT_VERDEF entry of 40,000 parents, each naming the same 400 KiB
  // string: each was scanned for its NUL, uncounted.
  CHECK_THROWS_WITH(elf::read_dynamic(bytes(read("verdef-parents-one-long-string")), "d"),
                    Catch::Contains("more string bytes than the file holds"));
}

TEST_CASE("fuzz regressions: a 1 MiB label of 156,649 distinct keys parses", "[fuzz]") {
  // The duplicate-key check once compared each key with every earlier one:
  // quadratic, 43 s for this label (the envelope's cap is 1 MiB). A unit
  // test cannot assert a time, so this one asserts that the label parses;
  // scripts/fuzz.sh loads the same file into the label harness, whose 10 s
  // limit per input made the old code a finding.
  std::string d = test::slurp((regressions() / "label" / "quadratic-key-check-1mib").string());
  REQUIRE(d.size() <= bundle::kMaxLabelBytes);
  auto l = bundle::Label::parse(d);
  CHECK(l.fields.size() == 156'649);
  CHECK(l.get("0").empty());
  // A duplicate anywhere is still refused, naming its line.
  std::string dup = d;
  dup.insert(dup.find('\n') + 1, "zzz: \n");
  CHECK_THROWS_WITH(bundle::Label::parse(dup), Catch::Contains("duplicate key \"zzz\""));
}

TEST_CASE("fuzz regressions: ld.so.cache entries that all name one long string", "[fuzz]") {
  // 10,000 entries of a 490 KiB file, each naming the same 256 KiB string
  // (as its path, and without its '/' as its name): the reader once copied
  // it for every entry, 4.9 GiB in all. What the entries copy out is now
  // capped at 4 times the file's size (a real cache copies less than once).
  std::string d = test::slurp((regressions() / "ldcache" / "every-entry-names-one-long-string").string());
  CHECK_THROWS_WITH(target::parse_ldcache(bytes(d), "c"), Catch::Contains("more string bytes than 4 times"));
}

TEST_CASE("fuzz regressions: age read() at the end of the payload", "[fuzz]") {
  // A good file (the C2SP scrypt vector, passphrase "password"): the read
  // after the last chunk copied zero bytes from the empty span's null
  // pointer, undefined behaviour that UBSan reports on every such file.
  std::string d = test::slurp((regressions() / "age" / "empty-payload-read-at-end").string());
  age::DecryptKeys keys;
  keys.passphrase = SecureBytes(bytes("password"));
  keys.max_scrypt_log_n = 10;
  MemoryReader in(bytes(d), "scrypt.age");
  age::Decryptor dec(in, keys, 1);
  std::vector<uint8_t> buf(100);
  size_t total = 0;
  while (size_t n = dec.read(buf)) total += n;
  CHECK(total == dec.summary().plaintext_bytes);
  CHECK(dec.read(buf) == 0);
}

TEST_CASE("fuzz regressions: an installed-tree record object of 40,000 keys", "[fuzz]") {
  // A valid record with 40,000 unknown keys added to its top level (430 KB):
  // ordered_json searches an object's keys linearly for each new one, so it
  // took 7 s to parse (over the fuzz run's 10 s under ASan), and a record
  // may be 512 MiB. Objects of more than 64 keys are now refused.
  std::string d = test::slurp((regressions() / "installed_tree" / "object-of-40000-keys").string());
  CHECK_THROWS_WITH(unpacker::TreeRecord::parse(d), Catch::Contains("more than 64 keys"));
}

TEST_CASE("fuzz regressions: ld.so.conf of many directories and many includes", "[fuzz]") {
  // Each directory and warning was checked against every earlier one
  // (60,000 directories: 2.3 s, a 1 MiB file about 10 s), and a file was
  // read again each time it was included: three files naming each other a
  // thousand times a line ran for minutes. Both are linear now.
  auto read = [](const std::string& name) {
    return test::slurp((regressions() / "ld_so_conf" / name).string());
  };
  test::TempDir tmp;
  fs::create_directories(tmp.path() / "etc" / "ld.so.conf.d");
  test::spit(tmp / "etc/ld.so.conf", read("60000-directories"));
  auto conf = target::read_ld_so_conf(target::NodeRoot(tmp.str()));
  CHECK(conf.dirs.size() == 60'000);
  CHECK(conf.dirs[59'999] == "/d59999");
  for (const char* f : {"etc/ld.so.conf", "etc/ld.so.conf.d/a.conf", "etc/ld.so.conf.d/b.conf"})
    test::spit(tmp / f, read("include-fan-out"));
  conf = target::read_ld_so_conf(target::NodeRoot(tmp.str()));
  CHECK(conf.dirs.empty());
  CHECK(conf.warnings.size() == 3);  // each loop named once
}

TEST_CASE("fuzz regressions: a 1,133-byte wheel whose METADATA unpacks to 1 GiB", "[fuzz]") {
  // bzip2 packs 1 GiB of zeros into 785 bytes; the whole member was read
  // into memory (then copied), over 2 GB for a 1 KiB file.
  test::TempDir tmp;
  test::spit(tmp / "bomb-1.0-py3-none-any.whl",
             test::slurp((regressions() / "wheel" / "bzip2-metadata-1gib").string()));
  CHECK_THROWS_WITH(packer::read_wheel(tmp / "bomb-1.0-py3-none-any.whl"),
                    Catch::Contains("unpack to more than 16777216 bytes: a zip bomb?"));
}
