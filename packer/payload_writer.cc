#include "packer/payload_writer.h"

#include <archive.h>
#include <archive_entry.h>

#include <exception>

#include "common/error.h"

namespace airlock::packer {

namespace {
struct ArchiveFree { void operator()(archive* a) const { archive_write_free(a); } };
struct EntryFree { void operator()(archive_entry* e) const { archive_entry_free(e); } };
}  // namespace

struct PayloadWriter::Impl {
  PayloadWriter* self;
  Writer& out;
  std::unique_ptr<archive, ArchiveFree> a{archive_write_new()};
  std::exception_ptr failure;  // an exception thrown by `out` inside the callback

  static la_ssize_t on_write(archive*, void* ctx, const void* buf, size_t n) {
    auto* impl = static_cast<Impl*>(ctx);
    try {
      impl->out.write(std::span<const uint8_t>(static_cast<const uint8_t*>(buf), n));
      impl->self->bytes_out_ += n;
      return static_cast<la_ssize_t>(n);
    } catch (...) {
      impl->failure = std::current_exception();
      return -1;
    }
  }

  void check(int rc, const std::string& what) {
    if (failure) std::rethrow_exception(failure);
    if (rc < ARCHIVE_OK)
      throw Error(Exit::kUsage, "writing payload tar: " + what + ": " + archive_error_string(a.get()));
  }

  std::unique_ptr<archive_entry, EntryFree> entry(const std::string& path, int64_t mtime) {
    std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
    archive_entry_set_pathname_utf8(e.get(), path.c_str());
    archive_entry_set_mtime(e.get(), mtime, 0);
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    return e;
  }
};

PayloadWriter::PayloadWriter(Writer& out) : impl_(std::make_unique<Impl>(Impl{this, out})) {
  archive* a = impl_->a.get();
  if (!a) throw std::bad_alloc();
  impl_->check(archive_write_set_format_pax_restricted(a), "format");
  // No blocking: every header and data write goes straight to `out`.
  impl_->check(archive_write_set_bytes_per_block(a, 0), "block size");
  impl_->check(archive_write_open2(a, impl_.get(), nullptr, &Impl::on_write, nullptr, nullptr), "open");
}

PayloadWriter::~PayloadWriter() = default;

void PayloadWriter::add_dir(const std::string& path, uint32_t mode, int64_t mtime) {
  auto e = impl_->entry(path, mtime);
  archive_entry_set_filetype(e.get(), AE_IFDIR);
  archive_entry_set_perm(e.get(), mode & 0777);
  impl_->check(archive_write_header(impl_->a.get(), e.get()), path);
  ++members_;
}

void PayloadWriter::begin_file(const std::string& path, uint32_t mode, int64_t mtime, uint64_t size) {
  auto e = impl_->entry(path, mtime);
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), mode & 0777);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
  impl_->check(archive_write_header(impl_->a.get(), e.get()), path);
  ++members_;
}

void PayloadWriter::data(std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    la_ssize_t n = archive_write_data(impl_->a.get(), bytes.data(), bytes.size());
    if (impl_->failure) std::rethrow_exception(impl_->failure);
    if (n <= 0) impl_->check(ARCHIVE_FATAL, "data");
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
}

void PayloadWriter::add_hardlink(const std::string& path, const std::string& target, int64_t mtime) {
  auto e = impl_->entry(path, mtime);
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0644);
  archive_entry_set_hardlink_utf8(e.get(), target.c_str());
  archive_entry_set_size(e.get(), 0);
  impl_->check(archive_write_header(impl_->a.get(), e.get()), path);
  ++members_;
}

void PayloadWriter::add_bytes(const std::string& path, uint32_t mode, int64_t mtime, std::string_view content) {
  begin_file(path, mode, mtime, content.size());
  data(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(content.data()), content.size()));
}

void PayloadWriter::close() {
  impl_->check(archive_write_close(impl_->a.get()), "close");
}

}  // namespace airlock::packer
