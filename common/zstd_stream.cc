#include "common/zstd_stream.h"

#include <zstd.h>

#include <vector>

#include "common/error.h"

namespace airlock {

namespace {
struct CCtxFree { void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); } };
struct DCtxFree { void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); } };

void check(size_t rc, const char* what) {
  if (ZSTD_isError(rc)) throw Error(Exit::kUsage, std::string("zstd: ") + what + ": " + ZSTD_getErrorName(rc));
}
}  // namespace

struct ZstdWriter::Impl {
  Writer& next;
  std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx{ZSTD_createCCtx()};
  std::vector<uint8_t> out = std::vector<uint8_t>(ZSTD_CStreamOutSize() * 4);
  explicit Impl(Writer& n) : next(n) {}

  void pump(ZSTD_inBuffer& in, ZSTD_EndDirective mode) {
    for (;;) {
      ZSTD_outBuffer ob{out.data(), out.size(), 0};
      size_t remaining = ZSTD_compressStream2(cctx.get(), &ob, &in, mode);
      check(remaining, "compression failed");
      if (ob.pos) next.write(std::span<const uint8_t>(out.data(), ob.pos));
      bool done = mode == ZSTD_e_continue ? in.pos == in.size : remaining == 0;
      if (done) return;
    }
  }
};

ZstdWriter::ZstdWriter(Writer& next, int level, int threads) : impl_(std::make_unique<Impl>(next)) {
  if (!impl_->cctx) throw std::bad_alloc();
  check(ZSTD_CCtx_setParameter(impl_->cctx.get(), ZSTD_c_compressionLevel, level), "bad level");
  check(ZSTD_CCtx_setParameter(impl_->cctx.get(), ZSTD_c_checksumFlag, 1), "checksum");
  if (threads > 0) check(ZSTD_CCtx_setParameter(impl_->cctx.get(), ZSTD_c_nbWorkers, threads), "threads");
}

ZstdWriter::~ZstdWriter() = default;

void ZstdWriter::write(std::span<const uint8_t> data) {
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  impl_->pump(in, ZSTD_e_continue);
  in_ += data.size();
}

void ZstdWriter::finish() {
  ZSTD_inBuffer in{nullptr, 0, 0};
  impl_->pump(in, ZSTD_e_end);
  impl_->next.finish();
}

struct ZstdReader::Impl {
  Reader& src;
  std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx{ZSTD_createDCtx()};
  std::vector<uint8_t> in = std::vector<uint8_t>(ZSTD_DStreamInSize() * 4);
  ZSTD_inBuffer ib{in.data(), 0, 0};
  size_t last = 1;  // ZSTD_decompressStream's last result: 0 = frame complete
  bool eof = false;
  explicit Impl(Reader& s) : src(s) {}
};

ZstdReader::ZstdReader(Reader& src) : impl_(std::make_unique<Impl>(src)) {
  if (!impl_->dctx) throw std::bad_alloc();
  // Bound the window a hostile frame may ask for (128 MiB): memory stays
  // small whatever the payload says.
  ZSTD_DCtx_setParameter(impl_->dctx.get(), ZSTD_d_windowLogMax, 27);
}

ZstdReader::~ZstdReader() = default;

std::string ZstdReader::name() const { return impl_->src.name() + " (zstd)"; }

size_t ZstdReader::read(std::span<uint8_t> buf) {
  Impl& s = *impl_;
  for (;;) {
    if (s.ib.pos == s.ib.size && !s.eof) {
      size_t n = s.src.read(std::span<uint8_t>(s.in.data(), s.in.size()));
      s.ib = ZSTD_inBuffer{s.in.data(), n, 0};
      if (n == 0) s.eof = true;
    }
    if (s.eof && s.ib.pos == s.ib.size) {
      if (s.last != 0) throw Error(Exit::kVerify, name() + ": compressed stream ends early (truncated payload)");
      return 0;
    }
    ZSTD_outBuffer ob{buf.data(), buf.size(), 0};
    s.last = ZSTD_decompressStream(s.dctx.get(), &ob, &s.ib);
    if (ZSTD_isError(s.last))
      throw Error(Exit::kVerify, name() + ": corrupt compressed data: " + ZSTD_getErrorName(s.last));
    if (ob.pos > 0) return ob.pos;
  }
}

}  // namespace airlock
