// The manifest's "files" as the packer renders them while it streams: one
// entry per member, comma-separated, in pieces of about 1 MiB. A full piece
// is kept zstd-compressed (level 1; paths and modes repeat, so a piece
// shrinks four- or fivefold), which keeps a 250,000-file environment's
// list at about 10 MiB instead of 48. At the end the pieces are written
// into the payload tar one after the other, never joined.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bundle/manifest.h"

namespace airlock::packer {

class FilesText {
 public:
  FilesText();
  ~FilesText();
  FilesText(const FilesText&) = delete;
  FilesText& operator=(const FilesText&) = delete;

  // Appends one entry, as bundle::append_file_json renders it.
  void add(std::string_view path, bundle::EntryType type, uint32_t mode, uint64_t size = 0,
           std::string_view sha256 = {}, std::string_view target = {});
  uint64_t bytes() const { return bytes_; }  // of the text, uncompressed
  size_t held() const;                       // bytes held in memory now
  // Hands the text to `out` in order, piece by piece, and lets go of it.
  void drain(const std::function<void(std::span<const uint8_t>)>& out);

  static constexpr size_t kPiece = 1 << 20;

 private:
  struct Piece {
    std::string data;    // compressed, but for the last piece
    size_t raw = 0;      // its size uncompressed
  };
  void seal_current();

  std::vector<Piece> sealed_;
  std::string current_;
  std::string scratch_;  // compression output, reused
  uint64_t bytes_ = 0;
  void* cctx_ = nullptr;  // ZSTD_CCtx, reused
};

}  // namespace airlock::packer
