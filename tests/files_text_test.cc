#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "common/bundle/manifest.h"
#include "common/hash.h"
#include "packer/stream/files_text.h"

using namespace airlock;
using namespace airlock::packer;

TEST_CASE("files text: pieces come back whole and in order, and full pieces are held compressed", "[files_text]") {
  FilesText ft;
  std::string plain;
  std::mt19937 rng(3);
  for (int i = 0; i < 40000; ++i) {
    std::string path = "env/lib/python3.12/site-packages/pkg" + std::to_string(i / 400) + "/m" + std::to_string(i) +
                       (i % 97 == 0 ? std::string(3000, 'x') + "\"quoted\\" : ".py");
    std::string sha = sha256_hex(std::to_string(rng()));
    auto type = i % 50 == 0 ? bundle::EntryType::kDir : bundle::EntryType::kFile;
    uint64_t size = type == bundle::EntryType::kFile ? rng() % 100000 : 0;
    std::string_view digest = type == bundle::EntryType::kFile ? std::string_view(sha) : std::string_view();
    ft.add(path, type, 0644, size, digest);
    if (!plain.empty()) plain += ',';
    bundle::append_file_json(plain, path, type, 0644, size, digest);
  }
  REQUIRE(ft.bytes() == plain.size());
  REQUIRE(plain.size() > 5 * FilesText::kPiece);
  CHECK(ft.held() < plain.size() / 2);
  std::string got;
  int pieces = 0;
  ft.drain([&](std::span<const uint8_t> p) {
    got.append(reinterpret_cast<const char*>(p.data()), p.size());
    ++pieces;
  });
  CHECK(pieces > 5);
  CHECK(got == plain);
  CHECK(ft.held() < 64);  // let go (an empty string keeps a few bytes inline)

  // Head, files and tail make the manifest dump() writes, and it parses.
  bundle::Manifest m;
  m.bundle_id = "00000000-0000-4000-8000-000000000000";
  m.created = "2026-01-01T00:00:00Z";
  m.source_prefix = "/opt/py";
  auto [head, tail] = m.dump_around_files();
  CHECK(head + got + tail == m.dump(got));
  auto back = bundle::Manifest::parse(head + got + tail);
  CHECK(back.files.size() == 40000);
}
