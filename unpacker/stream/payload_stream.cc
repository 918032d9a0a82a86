#include "unpacker/stream/payload_stream.h"

#include <zstd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "common/hash.h"

namespace airlock::unpacker {

namespace {

constexpr size_t kBlockBytes = 1 << 20;  // one plaintext block handed to tar
constexpr size_t kQueueBlocks = 6;       // bounded: ~6 MiB in flight

// Hashes what passes through: payload.age must still be the verified file.
class HashingReader : public Reader {
 public:
  explicit HashingReader(Reader& in) : in_(in) {}
  size_t read(std::span<uint8_t> buf) override {
    size_t n = in_.read(buf);
    sha.update(buf.first(n));
    bytes += n;
    return n;
  }
  std::string name() const override { return in_.name(); }
  Sha256 sha;
  uint64_t bytes = 0;

 private:
  Reader& in_;
};

struct DStreamDeleter {
  void operator()(ZSTD_DStream* d) const { ZSTD_freeDStream(d); }
};

struct Stop {};  // the consumer went away

}  // namespace

struct PayloadStream::Impl {
  const VerifiedBundle& vb;
  bundle::VolumeRangeReader range;
  HashingReader hashing;
  std::unique_ptr<age::Decryptor> dec;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::vector<uint8_t>> full, free;
  bool done = false, stop = false;
  std::exception_ptr err;
  std::vector<uint8_t> current;
  uint64_t total = 0;
  std::thread worker;

  Impl(const VerifiedBundle& v, const age::DecryptKeys& keys)
      : vb(v),
        range(v.volumes, v.envelope.payload_offset, v.envelope.payload_size, v.volumes.name() + ": payload.age"),
        hashing(range) {
    dec = std::make_unique<age::Decryptor>(hashing, keys);
    for (size_t i = 0; i < kQueueBlocks; ++i) free.emplace_back(kBlockBytes);
  }

  std::vector<uint8_t> take_free() {
    std::unique_lock lk(mu);
    cv.wait(lk, [&] { return stop || !free.empty(); });
    if (stop) throw Stop{};
    auto b = std::move(free.front());
    free.pop_front();
    return b;
  }
  void push(std::vector<uint8_t> b) {
    std::lock_guard lk(mu);
    full.push_back(std::move(b));
    cv.notify_all();
  }

  void run() {
    try {
      std::unique_ptr<ZSTD_DStream, DStreamDeleter> ds(ZSTD_createDStream());
      if (!ds) throw std::bad_alloc();
      std::vector<uint8_t> in(kBlockBytes);
      std::vector<uint8_t> out = take_free();
      ZSTD_outBuffer ob{out.data(), out.size(), 0};
      size_t last = 1;
      bool any = false;
      for (;;) {
        check_interrupted();
        size_t n = dec->read(in);
        if (n == 0) break;
        any = true;
        ZSTD_inBuffer ib{in.data(), n, 0};
        while (ib.pos < ib.size || ob.pos == ob.size) {
          size_t before = ob.pos;
          last = ZSTD_decompressStream(ds.get(), &ob, &ib);
          if (ZSTD_isError(last))
            throw Error(Exit::kVerify, vb.volumes.name() + ": payload is not a valid zstd stream: " +
                                           ZSTD_getErrorName(last));
          total += ob.pos - before;
          // Decompression bomb: never more than content-bytes of plaintext
          // tar, whatever the compressed stream says.
          if (total > vb.content_bytes)
            throw Error(Exit::kUnsafe, vb.volumes.name() + ": payload decompresses to more than content-bytes (" +
                                           std::to_string(vb.content_bytes) + " bytes); refused as unsafe",
                        "the bundle is malformed or hostile; report it to your security staff");
          if (ob.pos == ob.size) {
            out.resize(ob.pos);
            push(std::move(out));
            out = take_free();
            out.resize(kBlockBytes);
            ob = {out.data(), out.size(), 0};
          }
          if (ib.pos == ib.size && ob.pos < ob.size) break;
        }
      }
      if (ob.pos > 0) {
        out.resize(ob.pos);
        push(std::move(out));
      }
      if (!any || last != 0)
        throw Error(Exit::kVerify, vb.volumes.name() + ": payload ends early (incomplete zstd frame)");
      if (total != vb.content_bytes)
        throw Error(Exit::kVerify, vb.volumes.name() + ": payload is " + std::to_string(total) +
                                       " bytes of tar but the label says content-bytes: " +
                                       std::to_string(vb.content_bytes));
      if (hashing.sha.hex_digest() != vb.envelope.payload_sha256)
        throw Error(Exit::kVerify, vb.volumes.name() + ": payload.age changed after it was verified",
                    "another process is writing to the bundle; copy it somewhere only you can write");
    } catch (const Stop&) {
    } catch (...) {
      std::lock_guard lk(mu);
      err = std::current_exception();
    }
    std::lock_guard lk(mu);
    done = true;
    cv.notify_all();
  }
};

PayloadStream::PayloadStream(const VerifiedBundle& vb, const age::DecryptKeys& keys)
    : impl_(std::make_unique<Impl>(vb, keys)) {
  impl_->worker = std::thread([this] { impl_->run(); });
}

PayloadStream::~PayloadStream() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->stop = true;
    impl_->cv.notify_all();
  }
  if (impl_->worker.joinable()) impl_->worker.join();
}

std::span<const uint8_t> PayloadStream::next() {
  Impl& s = *impl_;
  std::unique_lock lk(s.mu);
  if (!s.current.empty() || s.current.capacity()) {
    s.current.resize(kBlockBytes);
    s.free.push_back(std::move(s.current));
    s.current = {};
    s.cv.notify_all();
  }
  s.cv.wait(lk, [&] { return !s.full.empty() || s.done; });
  if (!s.full.empty()) {
    s.current = std::move(s.full.front());
    s.full.pop_front();
    return s.current;
  }
  if (s.err) std::rethrow_exception(s.err);
  return {};
}

uint64_t PayloadStream::finish() {
  while (!next().empty()) {
  }
  if (impl_->worker.joinable()) impl_->worker.join();
  if (impl_->err) std::rethrow_exception(impl_->err);
  return impl_->total;
}

std::exception_ptr PayloadStream::error() const {
  std::lock_guard lk(impl_->mu);
  return impl_->err;
}

}  // namespace airlock::unpacker
