#include "packer/handling/split.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <utility>

#include "common/bundle/envelope_read.h"
#include "common/bundle/format.h"
#include "common/bundle/label.h"
#include "common/bundle/volumes.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/minisign/minisign.h"
#include "common/progress.h"
#include "common/prompt.h"
#include "common/secure.h"

namespace airlock::packer {

namespace fs = std::filesystem;

namespace {

using FileId = std::pair<dev_t, ino_t>;

std::optional<FileId> file_id(const std::string& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

// Progress of one pass over `total` bytes, fed with running totals.
struct Pass {
  Progress bar;
  uint64_t seen = 0;
  Pass(const char* verb, bool on, uint64_t total) : bar(verb, on, 1, total) {}
  void to(uint64_t done) {
    bar.add(0, done - seen);
    seen = done;
  }
  void add(uint64_t n) { to(seen + n); }
};

// The label, and that the bundle is what it says: its payload's size and
// hash (computed by read_envelope) and, when the -s key made them, both
// signatures and their trusted comments. Returns the label.
bundle::Label check_bundle(const bundle::Envelope& env, const std::string& name, const minisign::SecretKey& sk,
                           SplitResult& r) {
  bundle::Label label = bundle::Label::parse(env.label);
  if (label.require("format") != bundle::kFormat)
    throw bundle::LabelError("unknown format \"" + label.get("format") + "\"");
  std::string id = label.require("bundle-id");
  if (!bundle::is_uuid(id)) throw bundle::LabelError("bundle-id \"" + id + "\" is not a lowercase UUID");
  if (label.require("payload-bytes") != std::to_string(env.payload_size) ||
      label.require("payload-sha256") != env.payload_sha256)
    throw Error(Exit::kVerify,
                name + ": payload.age (" + std::to_string(env.payload_size) + " bytes, SHA-256 " + env.payload_sha256 +
                    ") is not what the label says; the bundle is damaged",
                "split the bundle as it was sealed (packer pack wrote it), not a copy that changed");

  auto psig = minisign::Signature::parse(env.payload_sig, name + ": payload.age.minisig");
  auto lsig = minisign::Signature::parse(env.label_sig, name + ": LABEL.txt.minisig");
  minisign::PublicKey pk = sk.public_key();
  r.bundle_signer_key_id = minisign::key_id_hex(lsig.key_id);
  r.same_signer = lsig.key_id == pk.key_id && psig.key_id == pk.key_id;
  if (r.same_signer) {
    // Our own key: everything the unpacker will check can be checked here,
    // so a damaged bundle is not split and vouched for.
    minisign::verify_message(pk, lsig, {reinterpret_cast<const uint8_t*>(env.label.data()), env.label.size()});
    minisign::verify_prehashed(pk, psig, env.payload_blake2b);
    for (const auto& [sig, member] : {std::pair{&lsig, bundle::kLabelMember}, std::pair{&psig, bundle::kPayloadMember}})
      if (sig->trusted_comment != bundle::trusted_comment(id, member))
        throw Error(Exit::kVerify, name + ": trusted comment of " + std::string(member) + ".minisig is " +
                                       quote(sig->trusted_comment) + ", not for bundle-id " + id);
  }
  return label;
}

}  // namespace

minisign::SecretKey load_signing_key(const std::string& secret_key, const std::string& key_passphrase_file) {
  SecureBytes text = read_secret_file(secret_key);
  if (!minisign::SecretKey::is_encrypted(text.view(), secret_key)) return minisign::SecretKey::parse(text.view(), nullptr, secret_key);
  SecureBytes pass;
  if (!key_passphrase_file.empty()) {
    pass = read_passphrase_file(key_passphrase_file);
  } else if (stdin_is_terminal()) {
    pass = prompt_passphrase("Passphrase for " + secret_key + ": ");
  } else {
    throw Error(Exit::kUsage, secret_key + ": the signing key is encrypted and no passphrase was given",
                "pass --key-passphrase-file FILE (first line is the passphrase), or run on a terminal");
  }
  return minisign::SecretKey::parse(text.view(), &pass, secret_key);
}

SplitResult split(const SplitOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  sodium_ready();
  SplitResult r;
  r.bundle = o.bundle;

  // Everything that can be refused is refused before the bundle is read.
  r.volume_size = bundle::parse_volume_size(o.volume_size);
  minisign::SecretKey sk = load_signing_key(o.secret_key, o.key_passphrase_file);
  r.signer_key_id = minisign::key_id_hex(sk.key_id());
  bundle::Volumes src = bundle::Volumes::open(o.bundle);
  r.bundle_bytes = src.size();
  r.target = o.out_dir.empty() ? src.name() : (fs::path(o.out_dir) / fs::path(src.name()).filename()).string();
  uint64_t needed = bundle::volumes_needed(r.bundle_bytes, r.volume_size);
  if (needed > static_cast<uint64_t>(bundle::kMaxVolumes))
    throw Error(Exit::kUsage,
                o.bundle + ": " + std::to_string(r.bundle_bytes) + " bytes need " + std::to_string(needed) +
                    " volumes of " + bundle::volume_size_text(r.volume_size) + "; names stop at .999",
                "choose --volume-size " + std::to_string(bundle::volumes_needed(r.bundle_bytes, bundle::kMaxVolumes)) +
                    " or more");
  // Never write over what is being read (a volume set split again into
  // its own directory), --force or not.
  std::set<FileId> reading;
  for (const auto& p : src.paths())
    if (auto id = file_id(p)) reading.insert(*id);
  std::vector<std::string> outputs = {bundle::index_path(r.target), bundle::index_sig_path(r.target)};
  for (int i = 1; i <= bundle::kMaxVolumes; ++i) outputs.push_back(bundle::volume_path(r.target, i));
  for (const auto& p : outputs)
    if (auto id = file_id(p); id && reading.count(*id))
      throw Error(Exit::kUsage, p + ": is part of the bundle being split; not writing over it",
                  "give another directory with -o DIR");
  bundle::VolumeWriter::refuse_existing(r.target, o.force);  // and that DIR exists

  // 1. The bundle is sound: its structure, its label, its payload's hash,
  //    and its signatures when they are the -s key's.
  bool show = o.output.show_progress();
  bundle::Envelope env;
  {
    Pass pass("checking", show, r.bundle_bytes);
    env = bundle::read_envelope(src, [&](uint64_t done, uint64_t total) {
      pass.bar.set_totals(1, total);
      pass.to(done);
    });
    pass.bar.done();
  }
  bundle::Label label = check_bundle(env, src.name(), sk, r);
  r.bundle_id = label.require("bundle-id");
  r.marking = label.marking;
  r.payload_sha256 = env.payload_sha256;

  // 2. The copy, hashed on the way in (the whole) and out (each volume).
  bundle::VolumeWriter out(r.target, r.volume_size, o.force);
  Sha256 whole;
  {
    Pass pass("splitting", show, r.bundle_bytes);
    std::vector<uint8_t> buf(4 << 20);
    for (uint64_t off = 0; off < r.bundle_bytes;) {
      check_interrupted();
      size_t n = src.pread(off, buf);
      if (n == 0) throw Error(Exit::kUsage, src.name() + ": shrank while being split");
      std::span<const uint8_t> chunk(buf.data(), n);
      whole.update(chunk);
      out.write(chunk);
      off += n;
      pass.add(n);
    }
    pass.bar.done();
  }
  r.bundle_sha256 = whole.hex_digest();
  r.index_sha256 = out.write_signed_index(sk, r.bundle_id);

  // 3. Nothing lost: each volume read back from the file system has the
  //    hash in the index, and together they are the bundle.
  {
    Pass pass("re-reading", show, r.bundle_bytes);
    std::string again = out.reread([&](uint64_t n) { pass.add(n); });
    pass.bar.done();
    if (again != r.bundle_sha256 || out.bytes() != r.bundle_bytes)
      throw Error(Exit::kUsage, r.target + ".001...: the volumes read back (SHA-256 " + again + ", " +
                                    std::to_string(out.bytes()) + " bytes) are not the bundle (" + r.bundle_sha256 +
                                    ", " + std::to_string(r.bundle_bytes) + " bytes); nothing was kept");
  }
  out.commit();
  r.volumes = out.paths();
  r.index = out.index_file();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace airlock::packer
