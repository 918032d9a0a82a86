#include "unpacker/checks/verify.h"

#include <unistd.h>

#include <chrono>
#include <iostream>

#include "common/bundle/format.h"
#include "common/io.h"
#include "common/minisign/minisign.h"

namespace airlock::unpacker {

using bundle::Label;
using bundle::LabelError;

uint64_t label_number(const Label& l, std::string_view key) {
  std::string v = l.require(key);
  if (v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos)
    throw LabelError("\"" + std::string(key) + "\" is not a decimal number: \"" + v + "\"");
  return std::stoull(v);
}

namespace {

struct Progress {
  bool on;
  std::chrono::steady_clock::time_point last{};
  void operator()(uint64_t done, uint64_t total) {
    if (!on) return;
    auto now = std::chrono::steady_clock::now();
    if (done != total && now - last < std::chrono::milliseconds(250)) return;
    last = now;
    std::cerr << "\rverifying payload.age: " << (total ? done * 100 / total : 100) << "% of " << (total >> 20)
              << " MiB" << (done == total ? "\n" : "") << std::flush;
  }
};

}  // namespace

VerifiedBundle verify_bundle(const std::string& path, const std::vector<std::string>& trusted, bool progress) {
  if (trusted.empty()) throw Error(Exit::kUsage, "no trusted public key given", "pass the signer's key with -p FILE");
  // Keys first: a bad key file is a usage error, reported before any work.
  std::vector<std::pair<std::string, minisign::PublicKey>> keys;
  for (const auto& k : trusted) keys.emplace_back(k, minisign::PublicKey::parse(read_file(k), k));

  // A volume set with its signed index: each volume is checked against it
  // before anything of the bundle is read, so a bad disc is named as such.
  VolumeSetCheck checked_volumes = check_volumes_first(path, keys, progress);
  auto volumes = bundle::Volumes::open(path);
  Progress pr{progress};
  bundle::Envelope env = bundle::read_envelope(volumes, std::ref(pr));
  const std::string& name = volumes.name();

  auto psig = minisign::Signature::parse(env.payload_sig, name + ": payload.age.minisig");
  auto lsig = minisign::Signature::parse(env.label_sig, name + ": LABEL.txt.minisig");

  // Both signatures must verify under the SAME trusted key: two keys each
  // vouching for one half would let a label be paired with another payload.
  const minisign::PublicKey* signer = nullptr;
  std::string signer_file, why;
  for (const auto& [file, pk] : keys) {
    try {
      minisign::verify_message(pk, lsig, {reinterpret_cast<const uint8_t*>(env.label.data()), env.label.size()});
      minisign::verify_prehashed(pk, psig, env.payload_blake2b);
      signer = &pk;
      signer_file = file;
      break;
    } catch (const minisign::MinisignError& e) {
      if (why.empty() || e.kind() != minisign::ErrorKind::kWrongKey) why = file + ": " + e.what();
    }
  }
  if (!signer) {
    std::string ids = minisign::key_id_hex(psig.key_id);
    if (lsig.key_id != psig.key_id) ids += " (payload) and " + minisign::key_id_hex(lsig.key_id) + " (label)";
    throw Error(Exit::kVerify,
                name + ": not signed by a trusted key (signed by key id " + ids + "; " + why + ")",
                "only keys given with -p are trusted; get the signer's .pub through a channel you trust");
  }

  // The label is trusted from here on, and only now parsed.
  Label label = Label::parse(env.label);
  if (label.require("format") != bundle::kFormat)
    throw LabelError("unknown format \"" + label.get("format") + "\" (this unpacker reads " +
                     std::string(bundle::kFormat) + ")");
  std::string id = label.require("bundle-id");
  if (!bundle::is_uuid(id)) throw LabelError("bundle-id \"" + id + "\" is not a lowercase UUID");
  if (checked_volumes.indexed && checked_volumes.index.bundle_id != id)
    throw Error(Exit::kVerify,
                checked_volumes.index.path + " is the index of bundle-id " + checked_volumes.index.bundle_id +
                    ", but the label's bundle-id is " + id,
                "the index and the volumes belong to different bundles");

  // The trusted comments bind both signatures to this bundle: without this
  // check a validly signed label from another bundle could be swapped in.
  for (const auto& [sig, member] : {std::pair{&lsig, bundle::kLabelMember}, std::pair{&psig, bundle::kPayloadMember}}) {
    std::string want = bundle::trusted_comment(id, member);
    if (sig->trusted_comment != want)
      throw Error(Exit::kVerify,
                  name + ": trusted comment of " + std::string(member) + ".minisig is \"" + sig->trusted_comment +
                      "\", expected \"" + want + "\"",
                  "the label and the payload do not belong to the same bundle");
  }

  std::string key_id = minisign::key_id_hex(signer->key_id);
  if (std::string lk = label.get("signer-key-id"); !lk.empty() && lk != key_id)
    throw LabelError("signer-key-id " + lk + " differs from the key that signed it, " + key_id);

  // payload.age must be exactly the file the label describes.
  uint64_t want_bytes = label_number(label, "payload-bytes");
  if (want_bytes != env.payload_size)
    throw Error(Exit::kVerify, name + ": payload.age is " + std::to_string(env.payload_size) +
                                   " bytes but the label says payload-bytes: " + std::to_string(want_bytes));
  std::string want_sha = label.require("payload-sha256");
  if (want_sha != env.payload_sha256)
    throw Error(Exit::kVerify, name + ": payload.age has SHA-256 " + env.payload_sha256 +
                                   " but the label says payload-sha256: " + want_sha);

  VerifiedBundle vb{std::move(volumes), std::move(env), std::move(label), id, key_id, signer_file, 0, 0};
  vb.volume_check = std::move(checked_volumes);
  vb.content_bytes = label_number(vb.label, "content-bytes");
  if (!vb.label.get("content-files").empty()) vb.content_files = label_number(vb.label, "content-files");
  return vb;
}

std::string label_text(const VerifiedBundle& vb) {
  // The label is signed, but it is still shown on a terminal: control
  // characters (escape sequences) are replaced so it cannot rewrite the screen.
  std::string s = vb.envelope.label;
  // Under the banner, the designation indicator as DoDI 5200.48 shows it
  // ("Controlled by: ...", "CUI Category: ..."), made from the signed keys.
  if (std::string block = bundle::designation_text(vb.label); !block.empty())
    s.insert(s.find('\n') + 1, block + "\n");
  for (char& c : s)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') || c == 0x7f) c = '?';
  return s;
}

AuditEvent audit_event(const VerifiedBundle* vb, std::string event, std::string outcome, std::string detail) {
  AuditEvent ev;
  ev.event = std::move(event);
  ev.outcome = std::move(outcome);
  ev.detail = std::move(detail);
  if (vb) {
    ev.bundle_id = vb->bundle_id;
    ev.bundle_sha256 = vb->envelope.payload_sha256;
    ev.signer_key_id = vb->signer_key_id;
    ev.marking = vb->label.marking;
    if (vb->volume_check.volumes) {
      ev.extra["volumes"] = vb->volumes.paths().size();
      ev.extra["volume_index"] = vb->volume_check.indexed ? vb->volume_check.index.path : "none";
      if (vb->volume_check.indexed) ev.extra["volume_index_sha256"] = vb->volume_check.index.sha256;
    }
  }
  return ev;
}

}  // namespace airlock::unpacker
