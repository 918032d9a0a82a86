#include "common/bundle/envelope_write.h"

#include <unistd.h>

#include "common/bundle/format.h"
#include "common/bundle/tar_header.h"
#include "common/error.h"

namespace airlock::bundle {

namespace {
const std::array<uint8_t, kTarBlock> kZeroBlock{};
}

EnvelopeWriter::EnvelopeWriter(OutputFile& out, int64_t mtime)
    : out_(out), mtime_(mtime), hasher_(&out, /*blake2b=*/true) {
  // Placeholder: size 0 for now, patched by end_payload().
  auto h = ustar_file_header(kPayloadMember, 0, static_cast<uint64_t>(mtime_), 0644);
  out_.write(std::span<const uint8_t>(h));
}

void EnvelopeWriter::end_payload() {
  payload_bytes_ = hasher_.bytes();
  sha256_ = hasher_.sha256().hex_digest();
  blake2b_ = hasher_.blake2b()->digest();
  out_.write(std::span<const uint8_t>(kZeroBlock.data(), tar_padding(payload_bytes_)));
  out_.finish();  // flush before patching the header in place
  auto h = ustar_file_header(kPayloadMember, payload_bytes_, static_cast<uint64_t>(mtime_), 0644);
  if (::pwrite(out_.fd(), h.data(), h.size(), 0) != static_cast<ssize_t>(h.size()))
    throw_errno("cannot patch the payload.age header", out_.path());
}

void EnvelopeWriter::add_member(std::string_view name, std::string_view data) {
  auto h = ustar_file_header(name, data.size(), static_cast<uint64_t>(mtime_), 0644);
  out_.write(std::span<const uint8_t>(h));
  out_.write(data);
  out_.write(std::span<const uint8_t>(kZeroBlock.data(), tar_padding(data.size())));
}

void EnvelopeWriter::close() {
  out_.write(std::span<const uint8_t>(kZeroBlock));
  out_.write(std::span<const uint8_t>(kZeroBlock));
  out_.finish();
}

}  // namespace airlock::bundle
