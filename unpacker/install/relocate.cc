#include "unpacker/install/relocate.h"

#include "common/elf/elf.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"
#include "common/io.h"

namespace airlock::unpacker {

RelocateResult relocate_text(std::string& data, std::string_view from, std::string_view to) {
  RelocateResult r;
  if (from.empty() || from == to) return r;
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = data.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(data, pos, hit - pos);
    out.append(to);
    ++r.replaced;
  }
  if (r.replaced == 0) return r;
  out.append(data, pos, std::string::npos);
  data = std::move(out);
  return r;
}

RelocateResult relocate_binary(std::string& data, std::string_view from, std::string_view to) {
  RelocateResult r;
  if (from.empty() || from == to) return r;
  if (data.find(from) == std::string::npos) return r;
  if (to.size() > from.size()) {
    r.fits = false;
    return r;
  }
  // Each occurrence lies in a C string ending at the next NUL: rewrite the
  // whole string (every prefix in it), then pad to its old length.
  size_t pos = 0;
  for (size_t hit; (hit = data.find(from, pos)) != std::string::npos;) {
    size_t end = data.find('\0', hit);
    if (end == std::string::npos) end = data.size();
    std::string s = data.substr(hit, end - hit);
    RelocateResult t = relocate_text(s, from, to);
    r.replaced += t.replaced;
    s.resize(end - hit, '\0');
    data.replace(hit, end - hit, s);
    pos = end;
  }
  return r;
}

size_t apply_relocation(int dirfd, const bundle::Manifest& m, const std::string& new_env) {
  if (m.relocate.empty()) return 0;
  if (m.source_prefix.empty() || m.source_prefix.front() != '/')
    throw Error(Exit::kVerify, "manifest: source_prefix \"" + m.source_prefix + "\" is not an absolute path");
  size_t changed = 0;
  for (const auto& e : m.relocate) {
    UniqueFd fd(::openat(dirfd, e.path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
    if (!fd && errno == EACCES) {
      // A read-only file (e.g. 0444): make it writable for the rewrite.
      struct stat st {};
      if (::fstatat(dirfd, e.path.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
          ::fchmodat(dirfd, e.path.c_str(), (st.st_mode & 0777) | 0200, 0) == 0) {
        fd = UniqueFd(::openat(dirfd, e.path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
        ::fchmodat(dirfd, e.path.c_str(), st.st_mode & 0777, 0);
      }
    }
    if (!fd) throw_errno("cannot open for relocation", e.path);
    FileReader in(fd.release(), e.path);
    VectorWriter buf;
    copy_stream(in, buf);
    std::string data(buf.out.begin(), buf.out.end());
    RelocateResult r = e.mode == "binary" ? relocate_binary(data, m.source_prefix, new_env)
                                          : relocate_text(data, m.source_prefix, new_env);
    if (!r.fits)
      throw Error(Exit::kUsage,
                  e.path + ": cannot relocate this binary file: the new environment path \"" + new_env + "\" (" +
                      std::to_string(new_env.size()) + " bytes) is longer than the original prefix \"" +
                      m.source_prefix + "\" (" + std::to_string(m.source_prefix.size()) + " bytes)",
                  "unpack to a shorter path with -C (DEST/env must be at most " +
                      std::to_string(m.source_prefix.size()) + " characters)");
    if (r.replaced == 0) continue;
    if (::pwrite(in.fd(), data.data(), data.size(), 0) != static_cast<ssize_t>(data.size()))
      throw_errno("cannot rewrite", e.path);
    if (::ftruncate(in.fd(), static_cast<off_t>(data.size())) != 0) throw_errno("cannot rewrite", e.path);
    ++changed;
  }
  return changed;
}

size_t place_runtime(const std::string& staging, const bundle::Manifest& m, const std::string& dest) {
  auto rt = m.extra.find("runtime");
  if (rt == m.extra.end() || !rt->is_object() || !rt->contains("interp")) return 0;
  const nlohmann::json& r = *rt;
  auto bad = [](const std::string& why) { return Error(Exit::kVerify, "manifest: runtime: " + why); };
  if (!r["interp"].is_array() || !r.value("loader", nlohmann::json()).is_string() ||
      !r.value("interp_placeholder", nlohmann::json()).is_string())
    throw bad("interp, loader and interp_placeholder must be a list and two strings");
  std::string loader = r["loader"], placeholder = r["interp_placeholder"];
  // Both name files of this payload: the same rules as its members.
  auto inside_env = [](const std::string& p) {
    return p.rfind("env/", 0) == 0 && p.find("/../") == std::string::npos && p.find("/./") == std::string::npos &&
           p.find('\0') == std::string::npos && p.size() > 4 && p.back() != '/';
  };
  if (!inside_env(loader)) throw bad("loader \"" + loader + "\" is not a path inside env/");
  std::string interp = dest + "/" + loader;
  if (interp.size() + 1 > placeholder.size() + 1)
    throw Error(Exit::kUsage,
                "the destination path is too long for this bundle's carried C library: the programs' interpreter "
                "would be \"" + interp + "\" (" + std::to_string(interp.size()) + " bytes), and the packer left room for " +
                    std::to_string(placeholder.size()),
                "unpack to a shorter path with -C");
  size_t placed = 0;
  for (const auto& p : r["interp"]) {
    if (!p.is_string() || !inside_env(p.get<std::string>())) throw bad("interp lists a path outside env/");
    elf::rewrite_interp_file(staging + "/" + p.get<std::string>(), placeholder, interp);
    ++placed;
  }
  return placed;
}

}  // namespace airlock::unpacker
