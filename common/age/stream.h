// The STREAM payload (Hoang, Reyhanitabar, Rogaway, Vizar 2015) as age uses
// it: a 16-byte nonce, then the plaintext in 64 KiB chunks, each sealed with
// ChaCha20-Poly1305 under HKDF(file key, nonce, "payload") and the chunk
// nonce = 11-byte big-endian counter || last-chunk flag. Only the final chunk
// may be short; it is empty only when the whole payload is empty. Nothing may
// follow it. Memory is a fixed buffer of a few chunks, whatever the size.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/age/format.h"
#include "common/io.h"
#include "common/secure.h"

namespace airlock::age {

SecureBytes payload_key(const SecureBytes& file_key, std::span<const uint8_t> nonce);

class StreamEncryptor {
 public:
  StreamEncryptor(Writer& out, SecureBytes key);
  void write(std::span<const uint8_t> data);
  void finish();  // seals the final chunk; does not finish `out`

 private:
  void seal(bool last);
  Writer& out_;
  SecureBytes key_;
  uint64_t counter_ = 0;
  std::vector<uint8_t> buf_;  // plaintext of the pending chunk, room for the tag
  size_t fill_ = 0;
  bool finished_ = false;
};

class StreamDecryptor {
 public:
  // threads: 1 reads and opens chunks on the caller's thread; 2 or more
  // run a producer thread that reads and opens the next batch while the
  // caller consumes the current one (two batches in flight at most).
  StreamDecryptor(Reader& in, SecureBytes key, unsigned threads = 1);
  ~StreamDecryptor();
  StreamDecryptor(const StreamDecryptor&) = delete;
  StreamDecryptor& operator=(const StreamDecryptor&) = delete;
  // The next authenticated plaintext (valid until the next call); empty at
  // the end. Throws AgeError(kPayload) on a forged, truncated or missing
  // final chunk and on data after it.
  std::span<const uint8_t> next();

 private:
  // kFinalWithTrailing / kTruncatedAfter: the chunk authenticated (and is
  // released) but the stream is broken right after it.
  enum class Status : uint8_t { kOk, kFinalWithTrailing, kTruncatedAfter, kBad };
  struct Batch {
    std::vector<uint8_t> out;
    size_t released = 0;
    std::string error;  // payload failure after the released bytes
    bool end = false;   // the final chunk is in this batch
    std::exception_ptr exception;
  };
  size_t fill();  // returns ciphertext bytes held
  void produce(Batch& b);  // reads and opens one batch of chunks
  void open_range(size_t first, size_t count, size_t end_of_data, bool eof, uint8_t* out);
  std::string describe_failure(size_t index, Status why, size_t end_of_data, bool eof);
  std::span<const uint8_t> deliver(Batch& b);
  void worker();

  // Producer side.
  Reader& in_;
  SecureBytes key_;
  std::vector<uint8_t> in_buf_;
  size_t in_len_ = 0;  // ciphertext bytes held
  bool eof_ = false;
  uint64_t counter_ = 0;  // index of the next chunk
  std::vector<Status> status_;
  std::vector<size_t> out_len_;
  // Consumer side.
  bool done_ = false;
  std::string pending_error_;
  // Hand-over between them.
  bool pipelined_;
  Batch batches_[2];
  bool full_[2] = {false, false};
  size_t current_ = 0;
  bool holding_ = false;
  bool stop_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace airlock::age
