// `packer label`: a printable label (SVG) for each medium that carries a
// bundle: one for a whole NAME.sealed, or one per volume NAME.sealed.NNN of
// a set described by NAME.sealed.volumes.
//
// The label is 89 x 51 mm (business-card size): it fits a disc's sleeve or
// case, a USB stick's tag or pouch, and the courier's envelope, and prints
// on business-card label stock or plain paper. It shows the marking banner
// top and bottom, the designation indicator, bundle-id, created, signer key
// id, volume i of N with the volume's SHA-256, and payload.age's SHA-256.
// Everything comes from what is signed (the label, the volume index); the
// label itself proves nothing: `unpacker verify` does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace airlock::packer {

// What one printed label shows.
struct MediaLabel {
  std::string marking;                                            // the banner
  std::vector<std::pair<std::string, std::string>> designation;  // (caption, value)
  std::string bundle_id, created, signer_key_id, payload_sha256;
  std::string file_name;  // NAME.sealed, or NAME.sealed.NNN
  uint64_t file_bytes = 0;
  std::string file_sha256;      // of this file (the whole bundle, or this volume)
  int volume = 0, volumes = 0;  // 0 of 0: a whole bundle, not split
};

// The label's size in millimetres (the SVG's width and height).
inline constexpr double kMediaLabelWidthMm = 89, kMediaLabelHeightMm = 51;

struct RenderedLabel {
  std::string svg;
  double body_pt = 0;  // the text size that made everything fit (7 pt at most)
};

// Lays the label out: long values wrap, and the text shrinks (from 7 pt)
// until everything fits. Fonts are generic families (sans-serif,
// monospace) with DejaVu, which every Debian system has, named first.
RenderedLabel render_media_label(const MediaLabel& label);

// Everything `packer label` prints, read from a bundle or from a volume
// index NAME.sealed.volumes and the volumes beside it (the index is read by
// common/bundle/volumes.h). Each volume's SHA-256 and the label's
// payload-sha256 are checked against the files (a label is only printed
// for the bytes it describes), and the trusted comments must carry the
// label's bundle-id; the signatures themselves are not verified (no key is
// needed). Errors: kUsage for I/O, kVerify for disagreements.
struct MediaLabelSet {
  std::string bundle_id, marking;
  std::vector<MediaLabel> labels;  // one a file, in volume order
};
// With `progress`, the two passes over the files (hashing, then reading
// the envelope) are shown on stderr.
MediaLabelSet read_media_label_set(const std::string& input, bool progress = false);

}  // namespace airlock::packer
