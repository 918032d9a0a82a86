// `packer pack`: walk -> tar -> zstd -> age -> envelope, in one streaming
// pass with no temporary copy of the payload. Every file's SHA-256 is
// computed on the way; the label and the two signatures follow the payload.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/cli.h"
#include "packer/handling/designation.h"

namespace airlock::packer {

struct PackOptions {
  std::string env_dir;
  std::string requirements;  // -r; may be empty
  std::string wheelhouse;    // --wheelhouse
  bool download = false;     // --download: pip download into a temporary wheelhouse
  std::vector<std::string> pip_download_args;  // passed through to pip download
  std::string secret_key;
  std::string key_passphrase_file;
  std::vector<std::string> recipients;
  std::string recipients_file;
  std::string passphrase_file;
  std::string marking;
  DesignationOptions designation;  // required with a marking that begins with CUI
  int level = 3;
  int threads = 0;  // 0: one per core
  std::string out;
  std::string volume_size;  // --volume-size: NAME.sealed.001, ... and a signed index ("" = one file)
  bool force = false;
  bool skip_broken_links = false;
  bool no_check = false;
  bool allow_sdist = false;
  std::string target;     // --target: preset, glibc-X.Y or probe file ("" = none)
  bool portable = false;  // --portable: carry what the target lacks
  std::vector<std::string> link_test_skip;  // globs the unpacker's link test leaves out
  std::string sbom_out;
  std::string audit_log;
  OutputOptions output;
  // The process ends soon after pack() returns (the command line): the
  // walk's entries (two strings each, some 110,000 for a CPython prefix)
  // and the manifest's lists are left for the system to reclaim with the
  // process instead of being freed one by one (tens of milliseconds at
  // the end of every pack).
  bool exiting_after = false;
};

struct PackResult {
  std::string bundle_id, out, created;
  uint64_t bundle_bytes = 0;
  uint64_t payload_bytes = 0;
  std::string payload_sha256;
  uint64_t content_bytes = 0;
  uint64_t content_files = 0;  // payload members, manifest included
  uint64_t files = 0, hardlinks = 0, dirs = 0, wheels = 0;
  uint64_t env_bytes = 0;
  size_t elf_patched = 0, relocate_listed = 0, dereferenced = 0, skipped = 0;
  std::string signer_key_id;
  std::string python;
  double seconds = 0;
  // --volume-size: the volumes, their size and the index with its SHA-256.
  std::vector<std::string> volumes;
  uint64_t volume_size = 0;
  std::string volume_index, volume_index_sha256;
};

PackResult pack(const PackOptions& opts);

}  // namespace airlock::packer
