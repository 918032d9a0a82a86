#include "packer/handling/media_label.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "common/bundle/envelope_read.h"
#include "common/bundle/format.h"
#include "common/bundle/label.h"
#include "common/bundle/volumes.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/io.h"
#include "common/minisign/minisign.h"
#include "common/progress.h"

namespace airlock::packer {

namespace fs = std::filesystem;

namespace {

// ---- Measuring text without a font library ----
//
// Advance widths (1/2048 em) of ASCII 0x20..0x7E in DejaVu Sans and DejaVu
// Sans Bold, read from Debian's fonts-dejavu-core. DejaVu is among the
// widest sans-serif faces, so text measured with it also fits in the
// narrower faces (Liberation Sans, Arial) a printer may substitute. Other
// characters count as a whole em (bold: 1.1 em), more than any Latin letter.
constexpr uint16_t kSans[95] = {
    651,  821,  942,  1716, 1303, 1946, 1597, 563,  799,  799,  1024, 1716, 651,  739,  651,  690,  1303, 1303, 1303,
    1303, 1303, 1303, 1303, 1303, 1303, 1303, 690,  690,  1716, 1716, 1716, 1087, 2048, 1401, 1405, 1430, 1577, 1294,
    1178, 1587, 1540, 604,  604,  1343, 1141, 1767, 1532, 1612, 1235, 1612, 1423, 1300, 1251, 1499, 1401, 2025, 1403,
    1251, 1403, 799,  690,  799,  1716, 1024, 1024, 1255, 1300, 1126, 1300, 1260, 721,  1300, 1298, 569,  569,  1186,
    569,  1995, 1298, 1253, 1300, 1300, 842,  1067, 803,  1298, 1212, 1675, 1212, 1212, 1075, 1303, 690,  1303, 1716};
constexpr uint16_t kSansBold[95] = {
    713,  934,  1067, 1716, 1425, 2052, 1786, 627,  936,  936,  1071, 1716, 778,  850,  778,  748,  1425, 1425, 1425,
    1425, 1425, 1425, 1425, 1425, 1425, 1425, 819,  819,  1716, 1716, 1716, 1188, 2048, 1585, 1561, 1503, 1700, 1399,
    1399, 1681, 1714, 762,  762,  1587, 1305, 2038, 1714, 1741, 1501, 1741, 1577, 1475, 1397, 1663, 1585, 2259, 1579,
    1483, 1485, 936,  748,  936,  1716, 1024, 1024, 1382, 1466, 1214, 1466, 1389, 891,  1466, 1458, 702,  702,  1362,
    702,  2134, 1458, 1407, 1466, 1466, 1010, 1219, 979,  1458, 1335, 1892, 1321, 1335, 1192, 1458, 748,  1458, 1716};
constexpr double kMonoAdvance = 1233.0 / 2048;  // DejaVu Sans Mono; Courier and Liberation Mono: 0.6 em

enum class Font { kRegular, kBold, kMono };

// Length in bytes of the UTF-8 sequence that starts with `b`.
size_t utf8_len(unsigned char b) { return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4; }

// Width in millimetres of `s` at `size` millimetres per em, with 3% to spare.
double text_width(std::string_view s, Font f, double size) {
  double em = 0;
  for (size_t i = 0; i < s.size(); i += utf8_len(static_cast<unsigned char>(s[i]))) {
    auto c = static_cast<unsigned char>(s[i]);
    bool ascii = c >= 0x20 && c < 0x7F;
    if (f == Font::kMono) em += ascii ? kMonoAdvance : 1.0;
    else if (!ascii) em += f == Font::kBold ? 1.1 : 1.0;
    else em += (f == Font::kBold ? kSansBold : kSans)[c - 0x20] / 2048.0;
  }
  return em * size * 1.03;
}

// Splits `s` into lines no wider than `width`: at spaces where it can, and
// inside a word (between characters) only when the word alone is too wide.
std::vector<std::string> wrap(std::string_view s, Font f, double size, double width) {
  std::vector<std::string> lines;
  std::string line;
  auto fits = [&](std::string_view t) { return text_width(t, f, size) <= width; };
  size_t pos = 0;
  while (pos < s.size()) {
    size_t sp = s.find(' ', pos);
    std::string_view word = s.substr(pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos);
    pos = sp == std::string_view::npos ? s.size() : sp + 1;
    if (word.empty()) continue;
    std::string candidate = line.empty() ? std::string(word) : line + " " + std::string(word);
    if (fits(candidate)) {
      line = std::move(candidate);
      continue;
    }
    if (!line.empty()) lines.push_back(std::move(line));
    line.clear();
    // The word alone, broken between characters where it must be.
    for (size_t i = 0; i < word.size();) {
      size_t n = utf8_len(static_cast<unsigned char>(word[i]));
      std::string next = line + std::string(word.substr(i, n));
      if (!line.empty() && !fits(next)) {
        lines.push_back(std::move(line));
        line = std::string(word.substr(i, n));
      } else {
        line = std::move(next);
      }
      i += n;
    }
  }
  if (!line.empty() || lines.empty()) lines.push_back(std::move(line));
  return lines;
}

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      // XML allows no control characters; a label from elsewhere may hold some.
      default: out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) ? '?' : c;
    }
  }
  return out;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

// 1234567 -> "1,234,567"
std::string grouped(uint64_t n) {
  std::string d = std::to_string(n), out;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i > 0 && (d.size() - i) % 3 == 0) out += ',';
    out += d[i];
  }
  return out;
}

// A SHA-256 as two lines of four groups of eight hex digits: easier to
// compare by eye than 64 digits in a row, and still the whole hash.
std::pair<std::string, std::string> hash_lines(std::string_view hex) {
  std::string a, b;
  for (size_t i = 0; i < hex.size(); i += 8) {
    std::string& line = i < 32 ? a : b;
    if (!line.empty()) line += ' ';
    line += hex.substr(i, 8);
  }
  return {a, b};
}

constexpr double kPt = 25.4 / 72;  // millimetres per point
constexpr double kMargin = 3;      // printers cannot print closer to the edge
constexpr double kGap = 1.4;       // between a caption and its value

struct Text {
  double x, y;
  Font font;
  double size;
  std::string text;
  bool centre = false;
};

struct Layout {
  std::vector<Text> texts;
  std::vector<double> rules;  // y of the horizontal rules
  bool fits = true;
};

// `body`: the text size of the bundle's identity and hashes; `des`: of
// the designation indicator (millimetres per em).
Layout lay_out(const MediaLabel& m, double body, double des) {
  const double W = kMediaLabelWidthMm, H = kMediaLabelHeightMm, inner = W - 2 * kMargin;
  Layout out;
  // The banner: bold, as large as 9 pt, smaller only if a long marking needs it.
  double banner = std::min(9 * kPt, inner / std::max(1e-9, text_width(m.marking, Font::kBold, 1)));
  double top_base = kMargin + 0.76 * banner;
  double bottom_base = H - kMargin - 0.24 * banner;
  out.texts.push_back({W / 2, top_base, Font::kBold, banner, m.marking, true});
  out.texts.push_back({W / 2, bottom_base, Font::kBold, banner, m.marking, true});
  double top_rule = top_base + 0.24 * banner + 0.6, bottom_rule = bottom_base - 0.76 * banner - 0.7;
  out.rules = {top_rule, bottom_rule};

  double y = top_rule + 0.3;  // top of the next line
  auto line = [&](double size) {
    y += 1.18 * size;
    return y - 0.26 * size;  // its baseline
  };
  auto caption_column = [&](std::initializer_list<std::string_view> captions) {
    double w = 0;
    for (auto c : captions) w = std::max(w, text_width(c, Font::kBold, body));
    return kMargin + w + kGap;
  };
  auto too_wide = [&](double x, std::string_view s, Font f) {
    if (x + text_width(s, f, body) > W - kMargin) out.fits = false;
  };

  // The designation indicator, DoDI 5200.48 style: "Caption: value".
  if (!m.designation.empty()) {
    double vx = 0;
    for (const auto& [caption, value] : m.designation) vx = std::max(vx, text_width(caption + ":", Font::kBold, des));
    vx += kMargin + kGap;
    for (const auto& [caption, value] : m.designation) {
      bool first = true;
      for (auto& l : wrap(value, Font::kRegular, des, W - kMargin - vx)) {
        double base = line(des);
        if (first) out.texts.push_back({kMargin, base, Font::kBold, des, caption + ":"});
        out.texts.push_back({vx, base, Font::kRegular, des, l});
        first = false;
      }
    }
    y += 0.9;
    out.rules.push_back(y - 0.45);
  }

  // Identity of the bundle and of this file.
  bool split = m.volumes > 0;
  double vx = caption_column({"Bundle", "Created", split ? "Volume" : "File", "SHA-256", "Payload"});
  double base = line(body);
  out.texts.push_back({kMargin, base, Font::kBold, body, "Bundle"});
  out.texts.push_back({vx, base, Font::kMono, body, m.bundle_id});
  too_wide(vx, m.bundle_id, Font::kMono);

  base = line(body);
  out.texts.push_back({kMargin, base, Font::kBold, body, "Created"});
  out.texts.push_back({vx, base, Font::kRegular, body, m.created});
  double sx = vx + text_width(m.created, Font::kRegular, body) + 2.5;
  double key_w = text_width("Signer", Font::kBold, body) + kGap + text_width(m.signer_key_id, Font::kMono, body);
  if (sx + key_w > W - kMargin) {  // no room beside the date: a line of its own
    base = line(body);
    sx = vx;
  }
  out.texts.push_back({sx, base, Font::kBold, body, "Signer"});
  double kx = sx + text_width("Signer", Font::kBold, body) + kGap;
  out.texts.push_back({kx, base, Font::kMono, body, m.signer_key_id});
  too_wide(kx, m.signer_key_id, Font::kMono);

  // "Volume  2 of 5  NAME.sealed.002, 4,700,000,000 bytes" (the count in
  // bold: it is what a person loading discs looks for).
  base = line(body);
  out.texts.push_back({kMargin, base, Font::kBold, body, split ? "Volume" : "File"});
  double fx = vx;
  if (split) {
    std::string count = std::to_string(m.volume) + " of " + std::to_string(m.volumes);
    out.texts.push_back({vx, base, Font::kBold, body, count});
    fx = vx + text_width(count, Font::kBold, body) + 2.0;
  }
  std::string what = m.file_name + ", " + grouped(m.file_bytes) + " bytes" + (split ? "" : " (the whole bundle)");
  auto parts = wrap(what, Font::kRegular, body, W - kMargin - fx);
  if (parts.size() > 1 && fx > vx) parts = wrap(what, Font::kRegular, body, W - kMargin - vx), base = line(body), fx = vx;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) base = line(body);
    out.texts.push_back({i == 0 ? fx : vx, base, Font::kRegular, body, parts[i]});
  }

  // The two hashes, each on two lines; the captions read down the column
  // ("Volume" over "SHA-256", "Payload" over "SHA-256").
  auto hash = [&](const char* first_caption, const char* second_caption, const std::string& hex) {
    auto [a, b] = hash_lines(hex);
    double b1 = line(body);
    if (*first_caption) out.texts.push_back({kMargin, b1, Font::kBold, body, first_caption});
    out.texts.push_back({vx, b1, Font::kMono, body, a});
    double b2 = line(body);
    if (*second_caption) out.texts.push_back({kMargin, b2, Font::kBold, body, second_caption});
    out.texts.push_back({vx, b2, Font::kMono, body, b});
    too_wide(vx, a, Font::kMono);
  };
  hash("SHA-256", "", m.file_sha256);
  y += 0.4;
  hash("Payload", "SHA-256", m.payload_sha256);
  if (y > bottom_rule - 0.3) out.fits = false;
  return out;
}

std::string svg(const Layout& l, const MediaLabel& m) {
  const double W = kMediaLabelWidthMm, H = kMediaLabelHeightMm;
  std::string s;
  s += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(W) + "mm\" height=\"" + num(H) +
       "mm\" viewBox=\"0 0 " + num(W) + " " + num(H) + "\">\n";
  s += "<title>" + xml_escape(m.marking + " - " + m.file_name) + "</title>\n";
  // White ground and a thin grey outline: the cut line on plain paper.
  s += "<rect x=\"0.3\" y=\"0.3\" width=\"" + num(W - 0.6) + "\" height=\"" + num(H - 0.6) +
       "\" rx=\"2.5\" fill=\"#ffffff\" stroke=\"#999999\" stroke-width=\"0.2\"/>\n";
  for (double y : l.rules)
    s += "<line x1=\"" + num(kMargin) + "\" y1=\"" + num(y) + "\" x2=\"" + num(W - kMargin) + "\" y2=\"" + num(y) +
         "\" stroke=\"#000000\" stroke-width=\"0.2\"/>\n";
  for (const auto& t : l.texts) {
    const char* family = t.font == Font::kMono ? "DejaVu Sans Mono, monospace" : "DejaVu Sans, sans-serif";
    s += "<text x=\"" + num(t.x) + "\" y=\"" + num(t.y) + "\" font-family=\"" + family + "\" font-size=\"" +
         num(t.size) + "\"" + (t.font == Font::kBold ? " font-weight=\"bold\"" : "") +
         (t.centre ? " text-anchor=\"middle\"" : "") + " fill=\"#000000\">" + xml_escape(t.text) + "</text>\n";
  }
  s += "</svg>\n";
  return s;
}

}  // namespace

RenderedLabel render_media_label(const MediaLabel& m) {
  // The largest size (7 pt down, in quarter points) at which everything
  // fits; then the space long designation values left over goes to the
  // hashes and ids, the lines a person compares character by character.
  for (double pt = 7; pt >= 3; pt -= 0.25) {
    if (!lay_out(m, pt * kPt, pt * kPt).fits) continue;
    for (double body = 7; body > pt; body -= 0.25) {
      Layout l = lay_out(m, body * kPt, pt * kPt);
      if (l.fits) return {svg(l, m), pt};
    }
    return {svg(lay_out(m, pt * kPt, pt * kPt), m), pt};
  }
  throw Error(Exit::kUsage, m.file_name + ": the label's text does not fit on a " + num(kMediaLabelWidthMm) + " x " +
                                num(kMediaLabelHeightMm) + " mm label even at 3 pt",
              "shorten the designation values or the bundle's file name");
}

// ---- Reading what is signed ----

namespace {

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

// SHA-256 of a file, with its size; polls for an interrupt.
std::pair<std::string, uint64_t> hash_file(const std::string& path, Progress& progress) {
  FileReader r(path);
  Sha256 h;
  std::vector<uint8_t> buf(4 << 20);
  uint64_t size = 0;
  for (;;) {
    check_interrupted();
    size_t n = r.read(buf);
    if (n == 0) break;
    h.update(std::span<const uint8_t>(buf.data(), n));
    size += n;
    progress.add(0, n);
  }
  progress.add(1, 0);
  return {h.hex_digest(), size};
}

uint64_t file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw_errno("cannot read", path);
  if (!S_ISREG(st.st_mode)) throw Error(Exit::kUsage, path + ": not a regular file");
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace

MediaLabelSet read_media_label_set(const std::string& input, bool show_progress) {
  const bool indexed = input.ends_with(".volumes");
  std::vector<std::string> paths;
  std::vector<std::string> index_sha;
  std::string index_id;  // the bundle-id of the index's trusted comment
  if (indexed) {
    // The index and its signature's trusted comment, read as the unpacker
    // reads them (common/bundle/volumes.h); the signature is not verified.
    if (file_size(input) > bundle::kMaxIndexBytes) throw bundle::VolumeError(input + ": too large for a volume index");
    const std::string index_name = fs::path(input).filename().string();
    bundle::VolumeIndex index = bundle::parse_index(read_file(input), index_name);
    const std::string sig_name = input + ".minisig";
    if (!exists(sig_name))
      throw Error(Exit::kUsage, sig_name + ": missing; the volume index is signed beside it",
                  "'packer split' and 'packer pack --volume-size' write both");
    auto sig = minisign::Signature::parse(read_file(sig_name), sig_name);
    index_id = bundle::check_index_comment(sig.trusted_comment, index_name, index.volumes.size());
    const fs::path dir = fs::path(input).parent_path();
    for (const auto& v : index.volumes) {
      paths.push_back((dir / v.name).string());
      index_sha.push_back(v.sha256);
      if (!exists(paths.back()))
        throw Error(Exit::kUsage, paths.back() + ": volume " + std::to_string(paths.size()) + " of " +
                                      std::to_string(index.volumes.size()) + " is missing",
                    "every volume the index lists must be beside it");
    }
    // A volume beyond the index would be read as part of the envelope.
    std::string extra = bundle::volume_path((dir / index.bundle_name).string(), static_cast<int>(paths.size()) + 1);
    if (paths.size() < bundle::kMaxVolumes && exists(extra))
      throw bundle::VolumeError(extra + ": a volume the index " + input + " does not list");
  } else {
    if (bundle::volume_number(input) || (!exists(input) && exists(bundle::index_path(input))))
      throw Error(Exit::kUsage, input + ": one volume of a set",
                  "pass the set's index, NAME.sealed.volumes: it lists and signs every volume");
    paths.push_back(input);
  }

  // Every file's SHA-256 (and, for a set, the one the signed index gives).
  uint64_t total = 0;
  for (const auto& p : paths) total += file_size(p);
  Progress hashing("hashing", show_progress, paths.size(), total);
  std::vector<std::pair<std::string, uint64_t>> hashed;
  for (size_t i = 0; i < paths.size(); ++i) {
    hashed.push_back(hash_file(paths[i], hashing));
    if (indexed && hashed.back().first != index_sha[i])
      throw Error(Exit::kVerify, paths[i] + ": SHA-256 " + hashed.back().first + " differs from the index's " +
                                     index_sha[i],
                  "the volume was changed or damaged after it was written; no label is made for it");
  }

  // The label, from the envelope that starts in the first volume: the
  // unpacker's strict reader over the volumes as one file.
  hashing.done();
  auto volumes = bundle::Volumes::open(indexed ? paths.front() : input);
  Progress reading("reading the envelope", show_progress, 1, volumes.size());
  uint64_t seen = 0;
  bundle::Envelope env = bundle::read_envelope(volumes, [&](uint64_t done, uint64_t) {
    reading.add(0, done - seen);
    seen = done;
  });
  reading.done();
  bundle::Label label = bundle::Label::parse(env.label);
  std::string id = label.require("bundle-id");
  if (!bundle::is_uuid(id)) throw bundle::LabelError("bundle-id " + quote(id) + " is not a lowercase UUID");
  if (label.require("payload-sha256") != env.payload_sha256)
    throw Error(Exit::kVerify, volumes.name() + ": payload.age has SHA-256 " + env.payload_sha256 +
                                   " but the label says payload-sha256: " + label.get("payload-sha256"));
  for (auto [text, member] : {std::pair{&env.label_sig, bundle::kLabelMember}, {&env.payload_sig, bundle::kPayloadMember}}) {
    auto sig = minisign::Signature::parse(*text, volumes.name() + ": " + std::string(member) + ".minisig");
    if (sig.trusted_comment != bundle::trusted_comment(id, member))
      throw Error(Exit::kVerify, volumes.name() + ": trusted comment of " + std::string(member) + ".minisig is " +
                                     quote(sig.trusted_comment) + ", not for bundle-id " + id);
  }
  if (indexed && index_id != id)
    throw bundle::VolumeError(input + ".minisig: the index is signed for bundle-id " + index_id + ", the label is " + id);

  MediaLabelSet set;
  set.bundle_id = id;
  set.marking = label.marking;
  for (size_t i = 0; i < paths.size(); ++i) {
    MediaLabel m;
    m.marking = label.marking;
    m.designation = bundle::designation_lines(label);
    m.bundle_id = id;
    m.created = label.get("created");
    m.signer_key_id = label.get("signer-key-id");
    m.payload_sha256 = env.payload_sha256;
    m.file_name = fs::path(paths[i]).filename().string();
    m.file_sha256 = hashed[i].first;
    m.file_bytes = hashed[i].second;
    if (indexed) m.volume = static_cast<int>(i + 1), m.volumes = static_cast<int>(paths.size());
    set.labels.push_back(std::move(m));
  }
  return set;
}

}  // namespace airlock::packer
