#include "packer/stream/relocate.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "common/io.h"

namespace airlock::packer {

namespace fs = std::filesystem;

// --------------------------------------------------------------------- ELF

namespace {

std::string trim_slashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

// The entry's path relative to the environment, or nullopt when it does not
// point inside it.
std::optional<std::string> inside(const std::string& abs_entry, const std::vector<std::string>& prefixes) {
  std::string norm = trim_slashes(fs::path(abs_entry).lexically_normal().string());
  for (const auto& raw : prefixes) {
    std::string p = trim_slashes(fs::path(raw).lexically_normal().string());
    if (p.size() < 2 || p[0] != '/') continue;  // never treat "/" as the environment
    if (norm == p) return std::string();
    if (norm.size() > p.size() && norm.compare(0, p.size(), p) == 0 && norm[p.size()] == '/')
      return norm.substr(p.size() + 1);
  }
  return std::nullopt;
}

}  // namespace

std::string relocate_search_path(std::string_view value, std::string_view rel_path,
                                 const std::vector<std::string>& prefixes) {
  fs::path file_dir = fs::path("/" + std::string(rel_path)).lexically_normal().parent_path();
  std::string out;
  size_t start = 0;
  for (;;) {
    size_t colon = value.find(':', start);
    std::string entry(value.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
    if (!entry.empty() && entry[0] == '/') {
      if (auto sub = inside(entry, prefixes)) {
        std::string rel = fs::path("/" + *sub).lexically_normal().lexically_relative(file_dir).string();
        entry = rel.empty() || rel == "." ? "$ORIGIN" : "$ORIGIN/" + trim_slashes(rel);
      }
    }
    out += entry;
    if (colon == std::string_view::npos) break;
    out += ':';
    start = colon + 1;
  }
  return out;
}

void ElfPatch::apply(std::span<uint8_t> file) const {
  for (const auto& e : edits) elf::rewrite_string(file, info, e.where, e.new_value, e.tag, name);
}

void ElfPatch::apply_at(uint64_t offset, std::span<uint8_t> chunk) const {
  for (const auto& e : edits) {
    uint64_t begin = e.where.file_offset, end = begin + e.old_value.size() + 1;  // with the NUL
    uint64_t lo = std::max(begin, offset), hi = std::min<uint64_t>(end, offset + chunk.size());
    if (lo >= hi) continue;
    for (uint64_t pos = lo; pos < hi; ++pos) {
      size_t i = static_cast<size_t>(pos - begin);
      char old = i < e.old_value.size() ? e.old_value[i] : '\0';
      uint8_t& byte = chunk[static_cast<size_t>(pos - offset)];
      if (byte != static_cast<uint8_t>(old))
        throw elf::ElfRewriteError(name, e.tag, e.old_value, e.new_value, "the file changed since it was read");
      byte = i < e.new_value.size() ? static_cast<uint8_t>(e.new_value[i]) : 0;
    }
  }
}

namespace {

std::optional<ElfPatch> plan(std::string_view rel_path, elf::DynamicInfo info,
                             const std::vector<std::string>& prefixes, const std::string& name) {
  ElfPatch patch;
  patch.name = name;
  patch.info = std::move(info);
  auto consider = [&](const std::optional<elf::DynString>& s, const char* tag) {
    if (!s) return;
    std::string nv = relocate_search_path(s->value, rel_path, prefixes);
    if (nv == s->value) return;
    // DT_RPATH and DT_RUNPATH may share one string: patch it once.
    for (const auto& e : patch.edits)
      if (e.where.index == s->index) return;
    elf::check_rewrite(patch.info, *s, nv, tag, name);
    patch.edits.push_back({tag, s->value, nv, *s});
  };
  consider(patch.info.runpath, "RUNPATH");
  consider(patch.info.rpath, "RPATH");
  if (patch.edits.empty()) return std::nullopt;
  return patch;
}

}  // namespace

std::optional<ElfPatch> plan_elf_patch(std::string_view rel_path, std::span<const uint8_t> file,
                                       const std::vector<std::string>& prefixes, const std::string& name) {
  if (elf::probe(file).kind != elf::Kind::kElf64Le) return std::nullopt;
  return plan(rel_path, elf::read_dynamic(file, name), prefixes, name);
}

std::optional<ElfPatch> plan_elf_patch_file(std::string_view rel_path, const std::string& path,
                                            const std::vector<std::string>& prefixes,
                                            std::shared_ptr<const elf::DynamicInfo>* read) {
  uint8_t head[16] = {};
  {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("cannot open", path);
    ssize_t n = ::pread(fd.get(), head, sizeof head, 0);
    if (n < 0) throw_errno("read failed", path);
    if (elf::probe(std::span<const uint8_t>(head, static_cast<size_t>(n))).kind != elf::Kind::kElf64Le)
      return std::nullopt;
  }
  elf::DynamicInfo info = elf::read_dynamic_file(path);
  if (read) *read = std::make_shared<const elf::DynamicInfo>(info);
  return plan(rel_path, std::move(info), prefixes, path);
}

// ------------------------------------------------------------------ prefix

PrefixScanner::PrefixScanner(std::vector<std::string> needles) {
  for (auto& n : needles) {
    if (n.empty() || std::find(needles_.begin(), needles_.end(), n) != needles_.end()) continue;
    if (needles_.size() == 64) break;  // found_mask_ has 64 bits; prefixes are a handful
    max_len_ = std::max(max_len_, n.size());
    needles_.push_back(std::move(n));
  }
  all_mask_ = needles_.size() == 64 ? ~0ull : (1ull << needles_.size()) - 1;
  carry_.reserve(max_len_);
}

void PrefixScanner::reset() {
  found_mask_ = 0;
  fed_ = 0;
  head_nul_ = false;
  carry_.clear();
  start_len_ = 0;
}

std::vector<std::string> PrefixScanner::found_needles() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < needles_.size(); ++i)
    if (found_mask_ & (1ull << i)) out.push_back(needles_[i]);
  return out;
}

bool PrefixScanner::is_elf() const { return elf::has_elf_magic(std::span<const uint8_t>(start_, start_len_)); }

void PrefixScanner::search(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < needles_.size(); ++i) {
    if (found_mask_ & (1ull << i)) continue;
    if (::memmem(p, n, needles_[i].data(), needles_[i].size())) found_mask_ |= 1ull << i;
  }
}

void PrefixScanner::feed(std::span<const uint8_t> chunk) {
  const uint8_t* p = chunk.data();
  size_t n = chunk.size();
  if (n == 0) return;
  if (fed_ < kHeadSize && !head_nul_) {
    size_t look = std::min<uint64_t>(n, kHeadSize - fed_);
    head_nul_ = std::memchr(p, 0, look) != nullptr;
  }
  if (start_len_ < sizeof start_) {
    size_t take = std::min(n, sizeof start_ - start_len_);
    std::memcpy(start_ + start_len_, p, take);
    start_len_ += take;
  }
  fed_ += n;
  if (found_mask_ == all_mask_ || max_len_ == 0) return;

  size_t keep = max_len_ - 1;
  if (!carry_.empty()) {
    // An occurrence crossing the boundary starts in the carried tail and
    // ends within the first keep bytes of this chunk.
    size_t old = carry_.size();
    carry_.insert(carry_.end(), p, p + std::min(n, keep));
    search(carry_.data(), carry_.size());
    carry_.resize(old);
  }
  search(p, n);
  if (keep == 0) return;
  if (n >= keep) {
    carry_.assign(p + n - keep, p + n);
  } else {
    carry_.insert(carry_.end(), p, p + n);
    if (carry_.size() > keep) carry_.erase(carry_.begin(), carry_.begin() + static_cast<long>(carry_.size() - keep));
  }
}

const char* to_string(RelocateMode m) { return m == RelocateMode::kText ? "text" : "binary"; }

namespace {

bool known_text(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  static constexpr std::string_view kExt[] = {".py", ".pth", ".sh", ".csh", ".fish", ".cfg", ".ini", ".txt",
                                              ".json", ".toml", ".pc", ".la", ".cmake", ".conf", ".bat"};
  for (auto e : kExt)
    if (base.size() > e.size() && base.substr(base.size() - e.size()) == e) return true;
  // python3.12-config and friends are shell scripts; conda's activation
  // scripts have a .sh suffix (above).
  if (base.size() > 7 && base.substr(base.size() - 7) == "-config") return true;
  return false;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

bool never_relocated(std::string_view path) {
  // Bytecode: the prefix is only in co_filename, which importlib replaces
  // with the real source path when it loads a .pyc (_imp._fix_co_filename);
  // patching marshal data in place could only damage it. Static archives
  // and objects: build-time paths used only when linking.
  for (std::string_view suf : {".pyc", ".pyo", ".a", ".o"})
    if (ends_with(path, suf)) return true;
  return false;
}

std::optional<RelocateMode> relocation_mode(std::string_view path, const PrefixScanner& scan) {
  if (!scan.found() || scan.is_elf() || never_relocated(path)) return std::nullopt;
  if (scan.has_shebang() || known_text(path) || !scan.head_has_nul()) return RelocateMode::kText;
  return RelocateMode::kBinary;
}

}  // namespace airlock::packer
