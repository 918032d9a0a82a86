#include "common/age/header.h"

#include <cstdio>

#include "common/age/base64.h"
#include "common/age/primitives.h"

namespace airlock::age {

std::string quote(std::string_view s, size_t max) {
  std::string out = "\"";
  size_t n = std::min(s.size(), max);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c >= 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (s.size() > max) out += "...";
  return out;
}

void header_error(const std::string& what) {
  throw AgeError(ErrorKind::kHeader, "parsing age header: " + what,
                 "the file is damaged or is not an age v1 file");
}

namespace {

std::vector<std::string> split_spaces(std::string_view line) {
  std::vector<std::string> parts;
  size_t s = 0;
  for (;;) {
    size_t e = line.find(' ', s);
    parts.emplace_back(line.substr(s, e == std::string_view::npos ? std::string_view::npos : e - s));
    if (e == std::string_view::npos) break;
    s = e + 1;
  }
  return parts;
}

// Arguments and stanza types: non-empty runs of visible ASCII (33..126).
bool valid_arg(std::string_view a) {
  if (a.empty()) return false;
  for (char c : a)
    if (c < 33 || c > 126) return false;
  return true;
}

// A complete header line: LF-terminated within the length limit.
std::string next_line(BufferedInput& in, size_t& total, const char* what) {
  bool too_long = false;
  std::string line = in.read_line(kMaxHeaderLine, too_long);
  if (too_long) header_error(std::string(what) + " longer than " + std::to_string(kMaxHeaderLine) + " bytes");
  if (line.empty() || line.back() != '\n')
    header_error("unexpected end of file in " + std::string(what) + (line.empty() ? "" : " " + quote(line)));
  total += line.size();
  // Bounded memory: a header is a few hundred bytes in practice.
  if (total > kMaxHeaderBytes) header_error("header longer than " + std::to_string(kMaxHeaderBytes) + " bytes");
  line.pop_back();
  return line;
}

}  // namespace

Header parse_header(BufferedInput& in) {
  Header h;
  size_t total = 0;
  bool too_long = false;
  std::string intro = in.read_line(wire::kIntro.size(), too_long);
  if (intro != wire::kIntro) {
    // Exact match only: "\r\n" line endings, other versions and garbage all stop here.
    if (std::string_view(intro).starts_with(wire::kIntroPrefix) || too_long) {
      std::string first = too_long ? std::string(in.peek(80)) : intro;
      header_error("unsupported version or malformed intro line " + quote(too_long ? first : intro) +
                   ", want \"age-encryption.org/v1\"");
    }
    header_error("not an age file: intro line is " + quote(intro));
  }
  h.mac_input = intro;
  total = intro.size();
  for (;;) {
    if (in.peek(wire::kFooterPrefix.size()) == wire::kFooterPrefix) {
      std::string line = next_line(in, total, "MAC line");
      auto parts = split_spaces(line);
      // Exactly "--- " + 43 canonical base64 characters: no extra spaces, no trailing space.
      if (parts.size() != 2 || parts[0] != wire::kFooterPrefix)
        header_error("malformed MAC line " + quote(line));
      auto mac = base64_decode(parts[1], false);
      if (!mac || mac->size() != wire::kMacSize)
        header_error("malformed MAC line " + quote(line) + ": MAC is not 32 bytes of canonical unpadded base64");
      std::copy(mac->begin(), mac->end(), h.mac.begin());
      h.mac_input += wire::kFooterPrefix;
      return h;
    }
    std::string line = next_line(in, total, "stanza");
    h.mac_input += line + "\n";
    auto parts = split_spaces(line);
    if (parts[0] != wire::kStanzaPrefix) header_error("malformed stanza opening line " + quote(line));
    if (parts.size() < 2) header_error("stanza without a type: " + quote(line));
    for (size_t i = 1; i < parts.size(); ++i)
      if (!valid_arg(parts[i])) header_error("malformed stanza: invalid argument " + quote(parts[i]) + " in " + quote(line));
    Stanza s;
    s.type = parts[1];
    s.args.assign(parts.begin() + 2, parts.end());
    // Body: full 64-column lines, ended by exactly one shorter line (possibly
    // empty), so the body length is never ambiguous.
    for (;;) {
      std::string b = next_line(in, total, "stanza body");
      h.mac_input += b + "\n";
      uint8_t dec[wire::kColumnsPerLine];
      long n = b.size() <= wire::kColumnsPerLine ? base64_decode_into(b, false, dec) : -1;
      if (n < 0) {
        if (b.starts_with(wire::kFooterPrefix) || b.starts_with(wire::kStanzaPrefix))
          header_error("malformed body line " + quote(b) + ": stanza ended without a short line");
        if (b.size() > wire::kColumnsPerLine) header_error("malformed body line " + quote(b) + ": longer than 64 columns");
        header_error("malformed body line " + quote(b) + ": not canonical unpadded base64");
      }
      s.body.insert(s.body.end(), dec, dec + n);
      if (static_cast<size_t>(n) < wire::kBytesPerLine) break;
    }
    h.stanzas.push_back(std::move(s));
  }
}

std::string encode_header_without_mac(const std::vector<Stanza>& stanzas) {
  std::string out(wire::kIntro);
  for (const auto& s : stanzas) {
    out += wire::kStanzaPrefix;
    out += ' ';
    out += s.type;
    for (const auto& a : s.args) out += ' ' + a;
    out += '\n';
    std::string b64 = base64_encode(s.body, false);
    size_t i = 0;
    for (; i + wire::kColumnsPerLine <= b64.size(); i += wire::kColumnsPerLine)
      out += b64.substr(i, wire::kColumnsPerLine) + "\n";
    out += b64.substr(i) + "\n";  // the short final line, empty for a multiple of 48 bytes
  }
  out += wire::kFooterPrefix;
  return out;
}

std::string encode_header(const std::string& mac_input, std::span<const uint8_t> mac) {
  return mac_input + " " + base64_encode(mac, false) + "\n";
}

std::array<uint8_t, wire::kMacSize> header_mac(const SecureBytes& file_key, std::string_view mac_input) {
  SecureBytes key = hkdf_key(file_key.span(), {}, wire::kHeaderMacInfo, wire::kMacSize);
  return hmac_sha256(key.span(), bytes_of(mac_input));
}

}  // namespace airlock::age
