#include "common/bundle/envelope_write.h"

#include <unistd.h>

#include "common/bundle/format.h"
#include "common/bundle/tar_header.h"
#include "common/error.h"

namespace airlock::bundle {

namespace {
const std::array<uint8_t, kTarBlock> kZeroBlock{};
}

void FileEnvelopeOutput::patch(uint64_t offset, std::span<const uint8_t> data) {
  file_.finish();  // flush before writing in place
  if (::pwrite(file_.fd(), data.data(), data.size(), static_cast<off_t>(offset)) != static_cast<ssize_t>(data.size()))
    throw_errno("cannot write back at offset " + std::to_string(offset) + " of", file_.path());
}

EnvelopeWriter::EnvelopeWriter(OutputFile& out, int64_t mtime)
    : file_(std::make_unique<FileEnvelopeOutput>(out)), out_(*file_), mtime_(mtime), hasher_(&out_, /*blake2b=*/true) {
  begin_payload();
}

EnvelopeWriter::EnvelopeWriter(EnvelopeOutput& out, int64_t mtime)
    : out_(out), mtime_(mtime), hasher_(&out, /*blake2b=*/true) {
  begin_payload();
}

void EnvelopeWriter::begin_payload() {
  // Placeholder: size 0 for now, patched by end_payload().
  auto h = ustar_file_header(kPayloadMember, 0, static_cast<uint64_t>(mtime_), 0644);
  out_.write(std::span<const uint8_t>(h));
}

void EnvelopeWriter::end_payload() {
  payload_bytes_ = hasher_.bytes();
  sha256_ = hasher_.sha256().hex_digest();
  blake2b_ = hasher_.blake2b()->digest();
  out_.write(std::span<const uint8_t>(kZeroBlock.data(), tar_padding(payload_bytes_)));
  auto h = ustar_file_header(kPayloadMember, payload_bytes_, static_cast<uint64_t>(mtime_), 0644);
  out_.patch(0, std::span<const uint8_t>(h));
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
