#include "unpacker/checks/manifest_check.h"

#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "common/bundle/format.h"

namespace airlock::unpacker {

using bundle::EntryType;
using bundle::Manifest;

namespace {

constexpr size_t kMaxReported = 8;

bool is_root(const std::string& p) {
  for (auto r : bundle::kPayloadRoots)
    if (p == r) return true;
  return false;
}

EntryType to_type(Kind k) {
  return k == Kind::kDir ? EntryType::kDir : k == Kind::kFile ? EntryType::kFile : EntryType::kHardlink;
}

}  // namespace

Manifest check_manifest(ExtractResult& got, const std::string& bundle_id) {
  if (got.manifest_error) std::rethrow_exception(got.manifest_error);
  Manifest m = got.manifest ? std::move(*got.manifest) : Manifest::parse(got.manifest_text);
  got.manifest.reset();
  // The manifest travels inside the payload, the bundle id in the signed
  // label: they must agree, or the payload belongs to another bundle.
  if (m.bundle_id != bundle_id)
    throw bundle::ManifestError("bundle_id \"" + m.bundle_id + "\" differs from the label's bundle-id " + bundle_id);

  // Views into the manifest and marks by index: no path is copied.
  std::unordered_map<std::string_view, size_t> listed;
  listed.reserve(m.files.size());
  for (size_t i = 0; i < m.files.size(); ++i)
    if (!listed.emplace(m.files[i].path, i).second)
      throw bundle::ManifestError("path \"" + m.files[i].path + "\" listed twice");

  std::vector<std::string> problems;
  auto problem = [&](std::string p) {
    if (problems.size() < kMaxReported) problems.push_back(std::move(p));
    else if (problems.size() == kMaxReported) problems.push_back("...");
  };
  std::vector<bool> present(m.files.size());
  for (const auto& e : got.entries) {
    auto it = listed.find(e.path);
    if (it == listed.end()) {
      // The payload roots themselves may come as entries of their own.
      if (!(e.kind == Kind::kDir && is_root(e.path))) problem("member \"" + e.path + "\" is not in the manifest");
      continue;
    }
    present[it->second] = true;
    const bundle::FileEntry& f = m.files[it->second];
    if (f.type != to_type(e.kind)) {
      problem("\"" + e.path + "\" is a " + to_string(to_type(e.kind)) + " but the manifest says " + to_string(f.type));
      continue;
    }
    // Modes too: a payload must not install a world-writable directory its
    // signed manifest lists as 0755. (A hardlink shares its target's.)
    if (f.type != EntryType::kHardlink && f.mode != e.perm) {
      problem("\"" + e.path + "\" has mode " + bundle::mode_string(e.perm) + ", the manifest says " +
              bundle::mode_string(f.mode));
      continue;
    }
    if (f.type == EntryType::kFile) {
      if (f.size != e.size)
        problem("\"" + e.path + "\" is " + std::to_string(e.size) + " bytes, the manifest says " +
                std::to_string(f.size));
      else if (f.sha256 != e.sha256)
        problem("\"" + e.path + "\" has SHA-256 " + e.sha256 + ", the manifest says " + f.sha256);
    } else if (f.type == EntryType::kHardlink && f.target != e.target) {
      problem("hardlink \"" + e.path + "\" points to \"" + e.target + "\", the manifest says \"" + f.target + "\"");
    }
  }
  std::unordered_set<std::string_view> implicit(got.implicit_dirs.begin(), got.implicit_dirs.end());
  for (size_t i = 0; i < m.files.size(); ++i) {
    if (present[i]) continue;
    const bundle::FileEntry& f = m.files[i];
    // A listed directory may have been created as a parent without an entry.
    if (f.type == EntryType::kDir && implicit.count(f.path)) continue;
    problem("listed member \"" + f.path + "\" is missing from the payload");
  }
  if (!problems.empty()) {
    std::string msg = "payload does not match its manifest:";
    for (const auto& p : problems) msg += "\n  " + p;
    throw Error(Exit::kVerify, msg, "the bundle was altered or built wrongly; do not use it");
  }

  // What later steps rely on must name regular files of the payload.
  auto is_file = [&](const std::string& p) {
    auto it = listed.find(p);
    return it != listed.end() &&
           (m.files[it->second].type == EntryType::kFile || m.files[it->second].type == EntryType::kHardlink);
  };
  if (!m.interpreter.empty() && !is_file(m.interpreter))
    throw bundle::ManifestError("interpreter \"" + m.interpreter + "\" is not a file of the payload");
  if (!m.interpreter.empty() && m.interpreter.compare(0, 4, "env/") != 0)
    throw bundle::ManifestError("interpreter \"" + m.interpreter + "\" is not under env/");
  for (const auto& r : m.relocate)
    if (!is_file(r.path) || r.path.compare(0, 4, "env/") != 0)
      throw bundle::ManifestError("relocate entry \"" + r.path + "\" is not a file under env/");
  for (const auto& w : m.wheels) {
    auto it = listed.find(w.path);
    if (it == listed.end() || m.files[it->second].type != EntryType::kFile || m.files[it->second].sha256 != w.sha256)
      throw bundle::ManifestError("wheel \"" + w.path + "\" is not a listed file with that SHA-256");
  }
  return m;
}

}  // namespace airlock::unpacker
