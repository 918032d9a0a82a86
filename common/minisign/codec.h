// Text plumbing shared by the minisign key and signature files: strict
// base64, line splitting, little-endian integers, quoting for messages.
// Internal to common/minisign.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/minisign/minisign.h"

namespace airlock::minisign::detail {

// Padded standard base64 (what minisign writes), no line breaks.
std::string b64_encode(std::span<const uint8_t> data);
// Decodes `s` into exactly out.size() bytes. False unless `s` is the
// canonical padded base64 of that many bytes (no spaces, no extra input).
bool b64_decode_exact(std::string_view s, std::span<uint8_t> out);

// Splits a file into lines. Lines end in LF; one CR before the LF is
// dropped (minisign trims it too); the last line may lack its LF. Throws
// `kind` naming `name` if the text holds a NUL byte (minisign's C strings
// would silently cut there).
std::vector<std::string_view> split_lines(std::string_view text, ErrorKind kind, const std::string& name);

// A short printable rendering of bad input for error messages.
std::string quote(std::string_view s);

uint64_t le64_load(const uint8_t* p);
void le64_store(uint8_t* p, uint64_t v);

}  // namespace airlock::minisign::detail
