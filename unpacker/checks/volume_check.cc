#include "unpacker/checks/volume_check.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>

#include "common/bundle/envelope_read.h"
#include "common/cli.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/io.h"
#include "common/progress.h"

namespace airlock::unpacker {

using bundle::VolumeError;

namespace {

std::string base_name(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

std::string dir_name(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? "." : s == 0 ? "/" : p.substr(0, s);
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

std::optional<uint64_t> size_of(const std::string& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<uint64_t>(st.st_size);
}

// A small file whole, refusing one larger than `cap` before reading it.
std::string read_capped(const std::string& path, uint64_t cap, const char* what) {
  FileReader r(path);
  struct stat st {};
  if (::fstat(r.fd(), &st) != 0) throw_errno("cannot stat", path);
  if (!S_ISREG(st.st_mode)) throw Error(Exit::kUsage, path + ": not a regular file");
  if (static_cast<uint64_t>(st.st_size) > cap)
    throw VolumeError(path + ": " + std::to_string(st.st_size) + " bytes, more than " + std::to_string(cap) +
                      " for " + what);
  return read_file(path);
}

std::string range_text(const SignedIndex& ix) {
  const auto& v = ix.index.volumes;
  return ix.path + " lists " + std::to_string(v.size()) + " volume" + (v.size() == 1 ? "" : "s") + ", " +
         v.front().name + (v.size() > 1 ? " to " + v.back().name : "");
}

// The size all volumes but the last share, judged from those present
// other than `skip`: the most common size (the larger on a tie).
std::optional<uint64_t> common_size(const SignedIndex& ix, size_t skip) {
  std::map<uint64_t, int> seen;
  for (size_t i = 0; i + 1 < ix.index.volumes.size(); ++i)
    if (i != skip)
      if (auto s = size_of(ix.volume_path(i))) ++seen[*s];
  if (seen.empty()) return std::nullopt;
  auto best = seen.begin();
  for (auto it = seen.begin(); it != seen.end(); ++it)
    if (it->second >= best->second) best = it;
  return best->first;
}

// What is wrong with the size of volume i ("" when nothing is).
std::string size_problem(const SignedIndex& ix, size_t i, uint64_t size) {
  std::string name = ix.volume_path(i);
  if (size == 0) return name + " is empty";
  bool last = i + 1 == ix.index.volumes.size();
  auto common = common_size(ix, i);
  if (!common) return "";
  if (!last && size < *common)
    return name + " is truncated: " + std::to_string(size) + " bytes, the other volumes have " +
           std::to_string(*common);
  if (size > *common)
    return name + (last ? ", the last volume," : "") + " is " + std::to_string(size) +
           " bytes, larger than the other volumes (" + std::to_string(*common) + ")";
  return "";
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& p : v) s += (s.empty() ? "" : "; ") + p;
  return s;
}

const char* kRecopyHint =
    "copy each volume named again from its disc; any disc can be checked alone with "
    "'unpacker verify-volume -p KEY NAME.sealed.NNN' (the index and its .minisig beside it)";

}  // namespace

TrustedKeys load_trusted_keys(const std::vector<std::string>& files) {
  if (files.empty()) throw Error(Exit::kUsage, "no trusted public key given", "pass the signer's key with -p FILE");
  TrustedKeys keys;
  for (const auto& k : files) keys.emplace_back(k, minisign::PublicKey::parse(read_file(k), k));
  return keys;
}

std::string SignedIndex::volume_path(size_t i) const {
  return (dir == "." ? "" : dir + "/") + index.volumes.at(i).name;
}

SignedIndex read_signed_index(const std::string& index_path, const TrustedKeys& keys) {
  SignedIndex ix;
  ix.path = index_path;
  ix.dir = dir_name(index_path);
  std::string sig_path = index_path + ".minisig";
  std::string text = read_capped(index_path, bundle::kMaxIndexBytes, "a volume index");
  if (!exists(sig_path))
    throw VolumeError(sig_path + " is missing: " + index_path + " cannot be trusted without it",
                      "copy NAME.sealed.volumes.minisig beside the index; it is on every disc with the index");
  std::string sig_text = read_capped(sig_path, bundle::kMaxSignatureBytes, "a signature");
  auto sig = minisign::Signature::parse(sig_text, sig_path);

  // Signed by one of the -p keys; the lines are read only once trusted.
  std::string why;
  for (const auto& [file, pk] : keys) {
    try {
      minisign::verify_message(pk, sig, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
      ix.signer_key_id = minisign::key_id_hex(pk.key_id);
      ix.signer_key_file = file;
      break;
    } catch (const minisign::MinisignError& e) {
      if (why.empty() || e.kind() != minisign::ErrorKind::kWrongKey) why = file + ": " + e.what();
    }
  }
  if (ix.signer_key_id.empty())
    throw VolumeError(index_path + ": not signed by a trusted key (signed by key id " +
                          minisign::key_id_hex(sig.key_id) + "; " + why + ")",
                      "only keys given with -p are trusted; an index that was altered no longer verifies");
  std::string name = base_name(index_path);
  ix.index = bundle::parse_index(text, name);
  ix.bundle_id = bundle::check_index_comment(sig.trusted_comment, name, ix.index.volumes.size());
  ix.sha256 = sha256_hex(text);
  return ix;
}

CheckedVolume check_volume(const SignedIndex& ix, const std::string& volume,
                           const std::function<void(uint64_t)>& progress) {
  std::string name = base_name(volume);
  const auto& list = ix.index.volumes;
  auto it = std::find_if(list.begin(), list.end(), [&](const auto& e) { return e.name == name; });
  if (it == list.end()) throw VolumeError(volume + " is not in the index: " + range_text(ix));
  size_t i = static_cast<size_t>(it - list.begin());
  CheckedVolume cv{volume, static_cast<int>(i) + 1, 0, ""};

  FileReader in(volume);
  struct stat st {};
  if (::fstat(in.fd(), &st) != 0) throw_errno("cannot stat", volume);
  if (!S_ISREG(st.st_mode)) throw VolumeError(volume + " is not a regular file");
  cv.bytes = static_cast<uint64_t>(st.st_size);
  // Sizes first: cheap, and a clearer word than a hash for a short copy.
  if (std::string p = size_problem(ix, i, cv.bytes); !p.empty()) throw VolumeError(p, kRecopyHint);

  Sha256 h;
  std::vector<uint8_t> buf(4 << 20);
  for (;;) {
    check_interrupted();
    size_t n = in.read(buf);
    if (n == 0) break;
    h.update(std::span<const uint8_t>(buf.data(), n));
    if (progress) progress(n);
  }
  cv.sha256 = h.hex_digest();
  if (cv.sha256 != it->sha256)
    throw VolumeError(volume + " is damaged or was altered: its SHA-256 is " + cv.sha256 + ", the index says " +
                          it->sha256,
                      kRecopyHint);
  return cv;
}

std::vector<CheckedVolume> check_volume_set(const SignedIndex& ix, bool show_progress) {
  const auto& list = ix.index.volumes;
  std::vector<std::string> problems;
  // Present, and nothing more: a missing volume and a stray one are both
  // named before a byte is read.
  for (size_t i = 0; i < list.size(); ++i)
    if (!exists(ix.volume_path(i))) problems.push_back(ix.volume_path(i) + " is missing");
  std::string prefix = ix.index.bundle_name + ".";
  if (std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(ix.dir.c_str()), ::closedir); d) {
    std::vector<std::string> extra;
    while (dirent* e = ::readdir(d.get())) {
      std::string n = e->d_name;
      if (n.size() != prefix.size() + 3 || !n.starts_with(prefix)) continue;
      auto num = bundle::volume_number(n);
      if (num && static_cast<size_t>(*num) > list.size())
        extra.push_back((ix.dir == "." ? "" : ix.dir + "/") + n + " is not in the index");
    }
    std::sort(extra.begin(), extra.end());
    problems.insert(problems.end(), extra.begin(), extra.end());
  }
  if (!problems.empty())
    throw VolumeError(join(problems) + " (" + range_text(ix) + ")",
                      "bring every volume the index lists and nothing else under these names");

  uint64_t total = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    uint64_t s = size_of(ix.volume_path(i)).value_or(0);
    if (std::string p = size_problem(ix, i, s); !p.empty()) problems.push_back(p);
    total += s;
  }
  if (!problems.empty()) throw VolumeError(join(problems), kRecopyHint);

  // Every volume hashed; all the damaged ones named.
  Progress bar("checking volumes", show_progress, list.size(), total);
  std::vector<CheckedVolume> out;
  for (size_t i = 0; i < list.size(); ++i) {
    try {
      out.push_back(check_volume(ix, ix.volume_path(i), [&](uint64_t n) { bar.add(0, n); }));
    } catch (const VolumeError& e) {
      problems.push_back(e.what());
    }
    bar.add(1, 0);
  }
  bar.done();
  if (!problems.empty()) throw VolumeError(join(problems), kRecopyHint);
  return out;
}

VolumeSetCheck check_volumes_first(const std::string& bundle, const TrustedKeys& keys, bool progress) {
  VolumeSetCheck vc;
  std::string base;
  if (bundle.size() > 4 && bundle.ends_with(".001")) base = bundle.substr(0, bundle.size() - 4);
  else if (!exists(bundle) && exists(bundle + ".001")) base = bundle;
  else return vc;  // one file: its own signatures cover it
  vc.volumes = true;
  std::string index = bundle::index_path(base);
  if (!exists(index)) {
    warn(index + " not found: the volumes were not checked one by one (a bad volume shows only as a damaged "
                 "bundle; the bundle's own signatures still cover all of it)");
    return vc;
  }
  vc.index = read_signed_index(index, keys);
  vc.count = check_volume_set(vc.index, progress).size();
  vc.indexed = true;
  return vc;
}

}  // namespace airlock::unpacker
