#include "common/age/stream.h"

#include <cstring>
#include <thread>

#include "common/age/age.h"
#include "common/age/primitives.h"

namespace airlock::age {

namespace {
constexpr size_t kBatch = 32;  // chunks read and opened per batch (~2 MiB)

void make_nonce(uint8_t nonce[wire::kAeadNonceSize], uint64_t counter, bool last) {
  // 11-byte big-endian counter; a uint64_t never wraps before 2^64 chunks
  // (a zettabyte), so the top three bytes stay zero.
  std::memset(nonce, 0, wire::kAeadNonceSize);
  for (int i = 0; i < 8; ++i) nonce[wire::kCounterSize - 1 - i] = static_cast<uint8_t>(counter >> (8 * i));
  nonce[wire::kCounterSize] = last ? wire::kLastChunkFlag : 0;
}

[[noreturn]] void payload_error(const std::string& what) {
  throw AgeError(ErrorKind::kPayload, "decrypting age payload: " + what,
                 "the file was truncated, altered or damaged after encryption; get a fresh copy");
}
}  // namespace

SecureBytes payload_key(const SecureBytes& file_key, std::span<const uint8_t> nonce) {
  return hkdf_key(file_key.span(), nonce, wire::kPayloadInfo);
}

// ---- encryption ----

StreamEncryptor::StreamEncryptor(Writer& out, SecureBytes key)
    : out_(out), key_(std::move(key)), buf_(wire::kEncChunkSize) {}

void StreamEncryptor::seal(bool last) {
  uint8_t nonce[wire::kAeadNonceSize];
  make_nonce(nonce, counter_++, last);
  aead_seal(key_.data(), nonce, buf_.data(), fill_, buf_.data());
  out_.write(std::span<const uint8_t>(buf_.data(), fill_ + wire::kAeadTagSize));
  fill_ = 0;
}

void StreamEncryptor::write(std::span<const uint8_t> data) {
  while (!data.empty()) {
    // A full chunk is sealed only once more data arrives: the final chunk
    // must carry the last flag even when it is full.
    if (fill_ == wire::kChunkSize) seal(false);
    size_t n = std::min(data.size(), wire::kChunkSize - fill_);
    std::memcpy(buf_.data() + fill_, data.data(), n);
    fill_ += n;
    data = data.subspan(n);
  }
}

void StreamEncryptor::finish() {
  if (finished_) return;
  finished_ = true;
  seal(true);  // empty only when the whole payload is empty
}

// ---- decryption ----

StreamDecryptor::StreamDecryptor(Reader& in, SecureBytes key, unsigned threads)
    : in_(in), key_(std::move(key)), in_buf_(kBatch * wire::kEncChunkSize + 1), status_(kBatch), out_len_(kBatch),
      pipelined_(threads >= 2) {
  for (auto& b : batches_) b.out.resize(kBatch * wire::kChunkSize);
}

StreamDecryptor::~StreamDecryptor() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  // The producer stops after its current batch (a read in progress finishes first).
  if (thread_.joinable()) thread_.join();
}

size_t StreamDecryptor::fill() {
  while (in_len_ < in_buf_.size() && !eof_) {
    size_t n = in_.read(std::span<uint8_t>(in_buf_.data() + in_len_, in_buf_.size() - in_len_));
    if (n == 0) eof_ = true;
    in_len_ += n;
    check_interrupted();
  }
  return in_len_;
}

void StreamDecryptor::open_range(size_t first, size_t count, size_t end_of_data, bool eof, uint8_t* out_base) {
  for (size_t i = first; i < first + count; ++i) {
    size_t off = i * wire::kEncChunkSize;
    size_t len = std::min(wire::kEncChunkSize, end_of_data - off);
    const uint8_t* in = in_buf_.data() + off;
    uint8_t* out = out_base + i * wire::kChunkSize;
    uint8_t nonce[wire::kAeadNonceSize];
    bool at_end = eof && off + len == end_of_data;
    out_len_[i] = len >= wire::kAeadTagSize ? len - wire::kAeadTagSize : 0;
    if (at_end) {
      // Followed by end of file: this must be the final chunk. It may be
      // short, but empty only when it is the only chunk.
      if (len <= wire::kAeadTagSize && (len < wire::kAeadTagSize || counter_ + i != 0)) {
        status_[i] = Status::kBad;
        continue;
      }
      make_nonce(nonce, counter_ + i, true);
      if (aead_open(key_.data(), nonce, in, len, out)) {
        status_[i] = Status::kOk;
        continue;
      }
      // A full chunk that opens as a middle chunk: the file was cut at a
      // chunk boundary (released, then refused: its final chunk is missing).
      make_nonce(nonce, counter_ + i, false);
      status_[i] = len == wire::kEncChunkSize && aead_open(key_.data(), nonce, in, len, out) ? Status::kTruncatedAfter
                                                                                             : Status::kBad;
    } else {
      make_nonce(nonce, counter_ + i, false);
      if (aead_open(key_.data(), nonce, in, len, out)) {
        status_[i] = Status::kOk;
      } else {
        // A full chunk followed by more data that opens as the final chunk:
        // the file has data after its end (released, then refused).
        make_nonce(nonce, counter_ + i, true);
        status_[i] = aead_open(key_.data(), nonce, in, len, out) ? Status::kFinalWithTrailing : Status::kBad;
      }
    }
  }
}

std::string StreamDecryptor::describe_failure(size_t index, Status why, size_t end_of_data, bool eof) {
  uint64_t n = counter_ + index;
  size_t off = index * wire::kEncChunkSize;
  size_t len = std::min(wire::kEncChunkSize, end_of_data - off);
  std::string where = "chunk " + std::to_string(n) + " (at payload offset " +
                      std::to_string(n * wire::kEncChunkSize) + ")";
  if (why == Status::kFinalWithTrailing) return "trailing data after the final " + where;
  if (why == Status::kTruncatedAfter) return "file ends after " + where + " without a final chunk: it was truncated";
  if (eof && off + len == end_of_data) {
    if (len < wire::kAeadTagSize) return where + " is truncated to " + std::to_string(len) + " bytes";
    if (len == wire::kAeadTagSize && n != 0) return "the final " + where + " is empty, which is not allowed";
  }
  return where + " failed to decrypt and authenticate";
}

void StreamDecryptor::produce(Batch& b) {
  b.released = 0;
  b.error.clear();
  b.end = false;
  b.exception = nullptr;
  size_t have = fill();
  if (have == 0) {
    b.error = counter_ == 0 ? "no payload after the header (even an empty file has one chunk)"
                            : "file ends after chunk " + std::to_string(counter_ - 1) +
                                  " without a final chunk: it was truncated";
    return;
  }
  // Chunks to open now. Unless at end of file, keep the byte after the last
  // one in the buffer: it proves these chunks are not the final one.
  size_t count = eof_ ? (have + wire::kEncChunkSize - 1) / wire::kEncChunkSize : (have - 1) / wire::kEncChunkSize;
  open_range(0, count, have, eof_, b.out.data());
  size_t i = 0;
  for (; i < count && status_[i] == Status::kOk; ++i) b.released += out_len_[i];
  if (i < count) {
    // Release what authenticated before the failure, then fail.
    if (status_[i] != Status::kBad) b.released += out_len_[i];
    b.error = describe_failure(i, status_[i], have, eof_);
    return;
  }
  counter_ += count;
  size_t consumed = std::min(have, count * wire::kEncChunkSize);
  std::memmove(in_buf_.data(), in_buf_.data() + consumed, have - consumed);
  in_len_ = have - consumed;
  b.end = eof_;  // the final chunk authenticated and nothing follows it
}

std::span<const uint8_t> StreamDecryptor::deliver(Batch& b) {
  if (b.exception) {
    done_ = true;
    std::rethrow_exception(b.exception);
  }
  if (!b.error.empty()) {
    pending_error_ = b.error;
    if (b.released == 0) payload_error(pending_error_);
  }
  if (b.end) done_ = true;
  return {b.out.data(), b.released};
}

void StreamDecryptor::worker() {
  for (size_t k = 0;; k ^= 1) {
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !full_[k]; });
      if (stop_) return;
    }
    Batch& b = batches_[k];
    try {
      produce(b);
    } catch (...) {
      b.exception = std::current_exception();
    }
    bool last = b.exception || !b.error.empty() || b.end;
    {
      std::lock_guard lk(mu_);
      full_[k] = true;
    }
    cv_.notify_all();
    if (last) return;
  }
}

std::span<const uint8_t> StreamDecryptor::next() {
  if (!pending_error_.empty()) payload_error(pending_error_);
  if (done_) return {};
  if (!pipelined_) {
    produce(batches_[0]);
    return deliver(batches_[0]);
  }
  if (!thread_.joinable()) thread_ = std::thread([this] { worker(); });
  {
    std::unique_lock lk(mu_);
    if (holding_) {  // the caller is done with the previous batch
      full_[current_] = false;
      current_ ^= 1;
    }
    holding_ = true;
    cv_.notify_all();
    cv_.wait(lk, [&] { return full_[current_]; });
  }
  return deliver(batches_[current_]);
}

}  // namespace airlock::age
