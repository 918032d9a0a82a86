// The payload as a stream of plaintext tar bytes: payload.age is read again
// from the envelope (at its verified offset), decrypted (age::Decryptor),
// and decompressed (ZSTD_DStream) on a thread of its own, which hands
// blocks to the tar reader through a small bounded queue.
//
// Security decisions made here:
//   - more plaintext than the label's content-bytes is refused as unsafe
//     (exit 3) the moment it appears: a decompression bomb never gets
//     further than content-bytes;
//   - the stream must end exactly at content-bytes, with a complete zstd
//     frame and age's authenticated final chunk (exit 1 otherwise);
//   - payload.age is hashed again while it is decrypted and must still have
//     the verified SHA-256: a file swapped after verification is refused.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/age/age.h"
#include "unpacker/checks/verify.h"

namespace airlock::unpacker {

class PayloadStream {
 public:
  // Opens the age header now (wrong identity or passphrase fails here,
  // before anything is written), then starts the decompression thread.
  PayloadStream(const VerifiedBundle& vb, const age::DecryptKeys& keys);
  ~PayloadStream();  // stops the thread if still running
  PayloadStream(const PayloadStream&) = delete;
  PayloadStream& operator=(const PayloadStream&) = delete;

  // The next block of plaintext tar; valid until the next call; empty at
  // the end. Rethrows the thread's error.
  std::span<const uint8_t> next();
  // Reads to the end (so the final chunk and the byte count are checked)
  // and rethrows any error. Returns the plaintext byte count.
  uint64_t finish();
  // The error that stopped the stream, if any (for C callbacks).
  std::exception_ptr error() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace airlock::unpacker
