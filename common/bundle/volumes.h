// Volumes: a sealed bundle split for removable media (docs/format.md,
// "Volumes"). NAME.sealed.001, .002, ... whose concatenation is the
// envelope byte for byte; NAME.sealed.volumes, one `sha256sum` line per
// volume; NAME.sealed.volumes.minisig, its minisign signature with the
// trusted comment "airlock-bundle/1 bundle-id:<uuid> file:NAME.sealed.volumes
// volumes:<N>". Each disc can then be checked alone, by hand:
//   minisign -V -p KEY -m NAME.sealed.volumes && sha256sum -c --ignore-missing NAME.sealed.volumes
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bundle/envelope_write.h"
#include "common/error.h"
#include "common/io.h"

namespace airlock::minisign {
class SecretKey;
}

namespace airlock::bundle {

// A volume set or its index that is not what it should be: exit 1.
class VolumeError : public Error {
 public:
  explicit VolumeError(std::string message, std::string hint = {})
      : Error(Exit::kVerify, std::move(message), std::move(hint)) {}
};

// --- Sizes -----------------------------------------------------------------

struct VolumePreset {
  std::string_view name;
  uint64_t bytes;
  std::string_view medium;
};
// Exact capacities as the media are sold (decimal), and the largest file
// FAT32 can hold (2^32 - 1).
inline constexpr std::array<VolumePreset, 4> kVolumePresets = {{
    {"dvd", 4'700'000'000, "single-layer DVD"},
    {"dvd-dl", 8'500'000'000, "dual-layer DVD"},
    {"bd25", 25'000'000'000, "single-layer Blu-ray"},
    {"fat32", 4'294'967'295, "largest file on FAT32"},
}};

// Names stop at .999 (three digits, as `sha256sum` lists and shells sort
// them), so a set holds at most 999 volumes.
inline constexpr int kMaxVolumes = 999;
// No removable medium is smaller than 1 MiB, and smaller volumes only
// multiply files: with names stopping at .999 they would cap a bundle
// under 1 GiB for no gain.
inline constexpr uint64_t kMinVolumeSize = uint64_t{1} << 20;

// "4700000000", "4M" / "4MiB" (K, M, G: powers of 1024) or a preset name.
// Throws Error(kUsage) quoting the input and saying what is accepted; below
// kMinVolumeSize says the minimum and why.
uint64_t parse_volume_size(std::string_view text);

// "16,777,216 bytes (16 MiB)", "4,700,000,000 bytes (dvd)": for messages.
std::string volume_size_text(uint64_t bytes);

// How many volumes of `volume_size` hold `bytes` (at least one).
uint64_t volumes_needed(uint64_t bytes, uint64_t volume_size);

// --- Names -----------------------------------------------------------------

// "NAME.sealed.003" for volume 3 of bundle path "NAME.sealed" (1-based).
std::string volume_path(std::string_view bundle, int number);
// "NAME.sealed.volumes" and "NAME.sealed.volumes.minisig".
std::string index_path(std::string_view bundle);
std::string index_sig_path(std::string_view bundle);
// The volume number of a "….NNN" name (001..999), or nullopt.
std::optional<int> volume_number(std::string_view path);

// A bundle name that `sha256sum -c` reads back as written: no backslash,
// no line break (sha256sum escapes those), and a file name of its own.
// Throws Error(kUsage) naming it.
void check_volume_name(const std::string& bundle);

// --- The index -------------------------------------------------------------

struct IndexEntry {
  std::string name;    // file name, no directory: "NAME.sealed.003"
  std::string sha256;  // lowercase hex
};

struct VolumeIndex {
  std::string bundle_name;  // "NAME.sealed" (file name, no directory)
  std::vector<IndexEntry> volumes;
};

// Exactly `sha256sum` text output: "<64 hex>  NAME.sealed.NNN\n" per volume.
std::string format_index(const VolumeIndex& index);
// Strict reader of the above: lowercase hex, two spaces, the names
// NAME.sealed.001 .. NNN in order, where NAME.sealed is the index file's
// own name without ".volumes"; LF line endings; 1 to 999 lines. Throws
// VolumeError naming the line.
VolumeIndex parse_index(std::string_view text, std::string_view index_file_name);

// "airlock-bundle/1 bundle-id:<uuid> file:NAME.sealed.volumes volumes:<N>"
std::string index_trusted_comment(std::string_view bundle_id, std::string_view index_file_name, size_t volumes);
// The bundle-id of such a comment, checked against the index file's name
// and its number of lines; throws VolumeError quoting what differs.
std::string check_index_comment(std::string_view comment, std::string_view index_file_name, size_t volumes);

// Upper bound of an index file: 999 lines of at most 64 + 2 + 255 + 1 bytes.
inline constexpr uint64_t kMaxIndexBytes = 1 << 20;

// --- Writing ---------------------------------------------------------------

// Writes a byte stream as volumes of `volume_size` bytes (the last may be
// smaller; none is empty) while it streams: no full-size temporary copy.
// Each volume is hashed as it is written; one that is written again at a
// position (patch(), as the envelope does for payload.age's header in
// volume 001) is hashed again from the file at close(), when it is final:
// that reads it back once (from the page cache, as it was just written).
//
// Until commit() nothing is the user's: destroying the writer (an error,
// an interrupt) removes every volume and the index. Without `force`
// existing files are never replaced; with it each is written under a
// temporary name and renamed into place at commit().
class VolumeWriter : public EnvelopeOutput {
 public:
  VolumeWriter(std::string bundle, uint64_t volume_size, bool force);
  ~VolumeWriter() override;
  VolumeWriter(const VolumeWriter&) = delete;
  VolumeWriter& operator=(const VolumeWriter&) = delete;

  // Before any work: without `force`, refuses (exit 2) when a volume
  // NAME.sealed.001-999 or the index of `bundle` already exists; checks the
  // name (check_volume_name).
  static void refuse_existing(const std::string& bundle, bool force);

  void write(std::span<const uint8_t> data) override;
  using Writer::write;
  void finish() override;
  void patch(uint64_t offset, std::span<const uint8_t> data) override;

  // Ends the last volume, syncs them, hashes the patched ones; the index.
  const VolumeIndex& close();
  // Writes NAME.sealed.volumes and its signature (after close()); returns
  // the index file's SHA-256.
  std::string write_signed_index(const minisign::SecretKey& key, std::string_view bundle_id);
  // Reads every volume back and checks it against its hash; returns the
  // SHA-256 of their concatenation. `progress(bytes)` after each chunk.
  std::string reread(const std::function<void(uint64_t)>& progress = {});
  // Renames into place (with force) and keeps everything; with force, also
  // removes NAME.sealed.NNN left from an earlier, larger set.
  void commit();

  uint64_t bytes() const { return total_; }
  uint64_t volume_size() const { return size_; }
  const std::string& bundle() const { return bundle_; }
  std::vector<std::string> paths() const;
  const std::string& index_file() const { return index_path_; }

 private:
  class Pending;  // one file being written
  Pending& start_volume();
  Pending& reopen(size_t i);

  std::string bundle_, index_path_;
  uint64_t size_;
  bool force_;
  std::vector<std::unique_ptr<Pending>> volumes_;
  std::vector<std::unique_ptr<Pending>> index_files_;
  uint64_t total_ = 0;
  bool closed_ = false, committed_ = false;
  VolumeIndex index_;
};

// Where `packer pack` writes the envelope: one file (volume_size 0) or a
// volume set with its signed index.
class BundleOutput {
 public:
  BundleOutput(const std::string& path, uint64_t volume_size, bool force);
  ~BundleOutput();
  EnvelopeOutput& stream();
  // With volumes: ends them and writes the signed index; nothing for one file.
  void seal(const minisign::SecretKey& key, std::string_view bundle_id);
  uint64_t bytes() const;
  void commit();
  // The volume set, when there is one.
  const VolumeWriter* volumes() const { return volumes_.get(); }
  const std::string& index_sha256() const { return index_sha256_; }

 private:
  std::unique_ptr<OutputFile> file_;
  std::unique_ptr<FileEnvelopeOutput> file_out_;
  std::unique_ptr<VolumeWriter> volumes_;
  std::string index_sha256_;
};

}  // namespace airlock::bundle
