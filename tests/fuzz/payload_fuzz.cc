// The decrypted payload, as `unpacker list` and `unpack` read it once the
// envelope has verified: zstd decompression held to content-bytes, the
// plaintext tar (PayloadTar: ustar and pax only) through the entry policy,
// and the manifest check against what the tar held. The input is the
// plaintext payload tar; the harness compresses it and encrypts it to the
// test identity, as a signed bundle's payload.age would carry it (the
// signing key is all an attacker needs to shape it), so every mutation
// reaches the tar reader. Nothing is written: extraction runs as `list`.
#include <zstd.h>

#include <vector>

#include "common/age/age.h"
#include "common/hash.h"
#include "tests/fuzz/harness.h"
#include "unpacker/stream/extract.h"
#include "unpacker/checks/manifest_check.h"
#include "unpacker/stream/payload_stream.h"
#include "unpacker/checks/verify.h"

using namespace airlock;

namespace {
constexpr std::string_view kIdentity = "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";
constexpr std::string_view kBundleId = "8f2b6a4c-1d3e-4f5a-9b7c-0e1f2a3b4c5d";  // tests/fuzz/seeds.py

struct Collect : Writer {
  std::vector<uint8_t> bytes;
  void write(std::span<const uint8_t> d) override { bytes.insert(bytes.end(), d.begin(), d.end()); }
  using Writer::write;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const age::X25519Identity id = age::X25519Identity::parse(kIdentity);
  static const age::DecryptKeys keys = [] {
    age::DecryptKeys k;
    k.identities.push_back(age::X25519Identity::parse(kIdentity));
    return k;
  }();
  std::vector<uint8_t> z(ZSTD_compressBound(size));
  size_t zn = ZSTD_compress(z.data(), z.size(), data, size, 1);
  if (ZSTD_isError(zn)) std::abort();
  Collect sealed;
  std::vector<age::X25519Recipient> to{id.recipient()};
  auto enc = age::Encryptor::to_recipients(sealed, to);
  enc->write(std::span<const uint8_t>(z.data(), zn));
  enc->finish();
  std::string path = fuzz::write_scratch("payload.age", sealed.bytes);
  try {
    // What verify_bundle establishes, for a bundle whose payload.age is
    // this whole file and whose label says content-bytes is the tar's size.
    unpacker::VerifiedBundle vb{bundle::Volumes::open(path)};
    vb.envelope.payload_offset = 0;
    vb.envelope.payload_size = sealed.bytes.size();
    vb.envelope.payload_sha256 = sha256_hex(std::span<const uint8_t>(sealed.bytes));
    vb.bundle_id = std::string(kBundleId);
    vb.content_bytes = size;
    unpacker::PayloadStream payload(vb, keys);
    unpacker::ExtractOptions eo;
    unpacker::ExtractResult got = unpacker::extract_payload(payload, eo);
    (void)unpacker::check_manifest(got, vb.bundle_id);
  } catch (const Error&) {
  }
  return 0;
}
