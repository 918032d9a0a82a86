#include "packer/stream/files_text.h"

#include <zstd.h>

#include <new>

#include "common/error.h"

namespace airlock::packer {

FilesText::FilesText() : cctx_(ZSTD_createCCtx()) {
  if (!cctx_) throw std::bad_alloc();
  current_.reserve(kPiece);
}

FilesText::~FilesText() { ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_)); }

void FilesText::add(std::string_view path, bundle::EntryType type, uint32_t mode, uint64_t size,
                    std::string_view sha256, std::string_view target) {
  // An entry is at most a few KiB (a long path, escaped): start a new piece
  // before it could make this one grow past its reservation.
  if (current_.size() >= kPiece - 64 * 1024) seal_current();
  size_t before = current_.size();
  if (bytes_ > 0) current_ += ',';
  bundle::append_file_json(current_, path, type, mode, size, sha256, target);
  bytes_ += current_.size() - before;
}

void FilesText::seal_current() {
  Piece p;
  p.raw = current_.size();
  size_t bound = ZSTD_compressBound(current_.size());
  if (scratch_.size() < bound) scratch_.resize(bound);
  size_t n = ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(cctx_), scratch_.data(), scratch_.size(), current_.data(),
                               current_.size(), 1);
  if (ZSTD_isError(n)) throw Error(Exit::kUsage, std::string("manifest: zstd: ") + ZSTD_getErrorName(n));
  p.data.assign(scratch_.data(), n);
  sealed_.push_back(std::move(p));
  current_.clear();  // keeps its reservation
}

size_t FilesText::held() const {
  size_t n = current_.capacity();
  for (const auto& p : sealed_) n += p.data.capacity();
  return n;
}

void FilesText::drain(const std::function<void(std::span<const uint8_t>)>& out) {
  std::string().swap(scratch_);
  std::string buf;
  for (auto& p : sealed_) {
    buf.resize(p.raw);
    size_t n = ZSTD_decompress(buf.data(), buf.size(), p.data.data(), p.data.size());
    if (ZSTD_isError(n) || n != p.raw) throw Error(Exit::kUsage, "manifest: a piece of the files list did not decompress");
    out(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buf.data()), buf.size()));
    std::string().swap(p.data);
  }
  sealed_.clear();
  out(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(current_.data()), current_.size()));
  std::string().swap(current_);
}

}  // namespace airlock::packer
