#include "packer/pack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <chrono>
#include <filesystem>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <map>
#include <thread>

#include "common/age/age.h"
#include "common/audit.h"
#include "common/bundle/envelope_write.h"
#include "common/bundle/format.h"
#include "common/bundle/label.h"
#include "common/bundle/manifest.h"
#include "common/bundle/volumes.h"
#include "common/elf/elf.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/io.h"
#include "common/minisign/minisign.h"
#include "common/progress.h"
#include "common/prompt.h"
#include "common/write_behind.h"
#include "common/zstd_stream.h"
#include "packer/stream/environment.h"
#include "packer/stream/files_text.h"
#include "packer/checks/pack_checks.h"
#include "packer/target/portable.h"
#include "packer/target/target.h"
#include "packer/stream/payload_writer.h"
#include "packer/stream/read_ahead.h"
#include "packer/stream/relocate.h"
#include "packer/handling/split.h"
#include "packer/stream/walk.h"
#include "packer/checks/wheelhouse.h"
#include "version.h"

namespace airlock::packer {

namespace fs = std::filesystem;

namespace {

// The thread that walks: started with the walk to run, told the
// wheelhouse directory once it is known, and on the way out (any exception
// of pack()) stopped and joined before what it reads goes away.
class WalkThread {
 public:
  explicit WalkThread(WalkFeed& feed) : feed_(feed) {}
  ~WalkThread() {
    feed_.stop();
    {
      std::lock_guard lk(mu_);
      cancel_ = true;
    }
    cv_.notify_all();
    join();
  }
  WalkThread(const WalkThread&) = delete;
  WalkThread& operator=(const WalkThread&) = delete;

  void start(std::function<void()> walk) {
    thread_ = std::thread([this, walk = std::move(walk)] {
      std::exception_ptr failure;
      try {
        walk();
      } catch (const WalkFeed::Stopped&) {
      } catch (...) {
        failure = std::current_exception();
      }
      feed_.finish(failure);
    });
  }
  void set_wheelhouse(const std::string& dir) {
    {
      std::lock_guard lk(mu_);
      wheelhouse_ = dir;
    }
    cv_.notify_all();
  }
  // On the walking thread: waits for set_wheelhouse().
  std::string wheelhouse() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return wheelhouse_.has_value() || cancel_; });
    if (cancel_) throw WalkFeed::Stopped{};
    return *wheelhouse_;
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  WalkFeed& feed_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<std::string> wheelhouse_;
  bool cancel_ = false;
  std::thread thread_;
};

std::string python_summary(const Environment& env) {
  return env.python.version + " " + env.python.interpreter_tag + " " + env.python.platform_tag;
}

}  // namespace

PackResult pack(const PackOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  sodium_ready();
  PackResult r;
  r.out = o.out;

  // The designation indicator a CUI marking needs: refused before the
  // environment is read, so a missing one costs nothing.
  ResolvedDesignation designation = resolve_designation(o.designation, o.marking);
  for (const auto& w : designation.warnings) warn(w);

  // Options that contradict each other, and the target: before any work.
  uint64_t volume_size = o.volume_size.empty() ? 0 : bundle::parse_volume_size(o.volume_size);
  if (volume_size) bundle::VolumeWriter::refuse_existing(o.out, o.force);
  else refuse_existing_output(o.out, o.force);
  if (!o.sbom_out.empty()) {
    if (o.sbom_out == o.out) throw Error(Exit::kUsage, "--sbom-out names the bundle itself (" + o.out + ")");
    refuse_existing_output(o.sbom_out, o.force);
  }
  if (!o.requirements.empty() && ::access(o.requirements.c_str(), R_OK) != 0)
    throw_errno("cannot read requirements file", o.requirements);
  if (!o.wheelhouse.empty()) {
    struct stat wst {};
    if (::stat(o.wheelhouse.c_str(), &wst) != 0) throw_errno("cannot use as wheelhouse", o.wheelhouse);
    if (!S_ISDIR(wst.st_mode)) throw Error(Exit::kUsage, o.wheelhouse + ": the wheelhouse is not a directory");
  }
  std::optional<Target> target;
  if (!o.target.empty()) target = resolve_target(o.target);
  if (o.portable) {
    if (!target)
      throw Error(Exit::kUsage, "--portable needs --target: the bundle carries what the target lacks",
                  "name the secure node with --target (a preset such as rhel8, glibc-X.Y, or the file "
                  "'unpacker probe' wrote on the node)");
    if (o.no_check)
      throw Error(Exit::kUsage, "--portable cannot be combined with --no-check",
                  "what --portable carries is planned by the checks' library doctor");
    require_patchelf();
  }

  // Keys and recipients first: a typo should fail before any work.
  minisign::SecretKey sk = load_signing_key(o.secret_key, o.key_passphrase_file);
  r.signer_key_id = minisign::key_id_hex(sk.key_id());
  std::vector<age::X25519Recipient> recipients;
  for (const auto& s : o.recipients) recipients.push_back(age::X25519Recipient::parse(s));
  if (!o.recipients_file.empty()) {
    auto more = age::parse_recipients_file(read_file(o.recipients_file), o.recipients_file);
    recipients.insert(recipients.end(), more.begin(), more.end());
  }
  std::optional<SecureBytes> passphrase;
  if (!o.passphrase_file.empty()) passphrase = read_passphrase_file(o.passphrase_file);
  if (recipients.empty() == !passphrase.has_value())
    throw Error(Exit::kUsage, "give the secure node's key with -R age1... (or --recipients-file), or --passphrase-file, and not both",
                "the node's operator gets the age1... recipient from 'unpacker keygen'");

  // The walk runs on a thread of its own: while the wheelhouse is prepared
  // and checked (pip's rehearsal takes seconds), and on while the first
  // files are already being read and compressed. What it finds wrong (a
  // loop, a dangling link) reaches this thread through the reader and
  // fails the pack like any other error: no output is left.
  //
  // It starts before the environment's own interpreter is asked about
  // itself (tens of milliseconds); should the directory not be an
  // environment after all, the walk is stopped on the way out.
  char real[PATH_MAX];
  const std::string root = ::realpath(o.env_dir.c_str(), real) ? real : "";
  Walker walker(WalkOptions{o.skip_broken_links});
  WalkFeed feed;
  walker.feed_to(&feed);
  std::optional<WheelSource> wheels_slot;  // outlives the walking thread, which may be in it
  WalkThread walking(feed);
  std::string runtime_dir;  // --portable: what is carried, walked after the environment
  auto start_walk = [&] {
    walking.start([&] {
      walker.walk(root, "env");
      if (!runtime_dir.empty()) walker.walk(runtime_dir, std::string("env/") + kRuntimeDir);
      std::string dir = walking.wheelhouse();  // once it is known
      if (!dir.empty()) {
        // Wheelhouse entries are filtered before anyone reads them.
        walker.hold();
        walker.walk(dir, "wheels");
        walker.publish_held(
            [&](std::vector<WalkEntry>& held) { filter_wheelhouse_entries(held, walker.result(), o.allow_sdist); });
      }
    });
  };
  // With --portable some files are read from patched copies, known only
  // after the checks: the walk waits for them.
  if (!root.empty() && !o.portable) start_walk();
  Environment env = inspect_environment(o.env_dir);
  r.python = python_summary(env);
  note("environment " + env.prefix + " (" + to_string(env.kind) + ", Python " + r.python + ")", o.output);
  if (env.prefix != root)  // the same realpath() twice; only a rename in between tells them apart
    throw Error(Exit::kUsage, o.env_dir + ": moved while being packed (" + root + ", now " + env.prefix + ")",
                "pack again when nothing is changing the environment");

  WheelSource& wheels = wheels_slot.emplace(prepare_wheelhouse(env, o));
  // The checks run alongside the walk and the stream, except for
  // --portable, whose plan decides what is walked.
  CheckSummary check;
  std::optional<PackChecks> checking;
  if (o.portable) check = run_pack_checks(env, wheels, o);
  else checking.emplace(env, wheels, o);
  PortableBuild portable;
  std::map<std::pair<uint64_t, uint64_t>, Walker::Replacement> replacements;
  if (o.portable) {
    portable = build_portable(check.report.portable_plan, env, target->label());
    runtime_dir = portable.runtime_dir;
    for (const auto& [id, rep] : portable.replacements) replacements[id] = {rep.source, rep.size};
    if (!replacements.empty())
      walker.replace = [&replacements](dev_t dev, ino_t ino) -> const Walker::Replacement* {
        auto it = replacements.find({static_cast<uint64_t>(dev), static_cast<uint64_t>(ino)});
        return it == replacements.end() ? nullptr : &it->second;
      };
    if (!root.empty()) start_walk();
  }
  walking.set_wheelhouse(wheels.dir);

  bundle::Manifest m;
  m.bundle_id = bundle::new_bundle_id();
  m.created = bundle::rfc3339_now();
  m.source_prefix = env.prefix;
  m.interpreter = "env/" + env.interpreter;
  m.python = {env.python.version, env.python.interpreter_tag, env.python.platform_tag, env.python.implementation,
              env.python.abi_tag};
  r.bundle_id = m.bundle_id;
  r.created = m.created;

  int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  feed.check();  // a walk that already failed stops here, before any output
  bundle::BundleOutput outfile(o.out, volume_size, o.force);  // one file, or volumes
  bundle::EnvelopeWriter envelope(outfile.stream(), std::time(nullptr));
  std::unique_ptr<age::Encryptor> enc =
      passphrase ? age::Encryptor::to_passphrase(envelope.payload(), *passphrase)
                 : age::Encryptor::to_recipients(envelope.payload(), recipients);
  // Encrypting, hashing and writing the compressed stream run on a thread
  // of their own, so that this thread keeps zstd's workers fed meanwhile.
  WriteBehind sealing(*enc);
  ZstdWriter zstd(sealing, o.level, threads);
  PayloadWriter tar(zstd);

  bool totals_final = feed.done();
  auto [walked_entries, walked_bytes] = feed.totals();  // grow until the walk ends
  Progress progress("packing", o.output.show_progress(), walked_entries, walked_bytes, totals_final);
  unsigned entries_since_totals = 0;
  // The manifest's "files", rendered as each entry is written (the stream
  // keeps the other threads busy meanwhile), not all at the end.
  FilesText files_json;
  auto listed = [&files_json](std::string_view path, bundle::EntryType type, uint32_t mode, uint64_t size = 0,
                              std::string_view sha256 = {}, std::string_view link = {}) {
    files_json.add(path, type, mode, size, sha256, link);
  };
  // The environment's ELF files, for the library doctor: their tables were
  // read to plan the RUNPATH patch, and are not read again.
  EnvElfCollector env_elf;
  // The reader thread reads, hashes, patches and scans ahead; this thread
  // writes the tar in entry order.
  std::optional<ReadAhead> reader(std::in_place, feed, env.prefix_strings);
  ReadAhead::Event ev;
  while (reader->next(ev)) {
    const WalkEntry& e = *ev.entry;
    bool in_env = e.path.rfind("env/", 0) == 0;
    if (ev.kind == ReadAhead::Kind::kData) {
      tar.data(ev.data);
      progress.add(0, ev.data.size());
      continue;
    }
    if (ev.kind == ReadAhead::Kind::kFileEnd) {
      const FileResult& s = ev.result;
      if (s.elf_patched) ++r.elf_patched;
      if (s.relocate) m.relocate.push_back({e.path, to_string(*s.relocate)});
      if (!in_env) wheels.record_hash(e.path, s.sha256, m.wheels);
      if (in_env) r.env_bytes += s.size;
      env_elf.file(e, s);
      ++r.files;
      listed(e.path, bundle::EntryType::kFile, e.mode, s.size, s.sha256);
      progress.add(1, 0);
      continue;
    }
    check_interrupted();
    // A rehearsal that failed: the pack stops here, the report follows.
    if (checking && checking->failed_early()) {
      checking->finish(nullptr);  // throws with the report
      throw Error(Exit::kVerify, "the checks failed; no bundle was written");
    }
    if (!totals_final && ++entries_since_totals >= 64) {
      entries_since_totals = 0;
      totals_final = feed.done();
      auto [n, b] = feed.totals();
      progress.set_totals(n, b, totals_final);
    }
    if (!e.was_link_to().empty()) m.dereferenced.push_back({e.path, e.was_link_to()});
    switch (e.type) {
      case EntryType::kDir:
        tar.add_dir(e.path, e.mode, e.mtime);
        listed(e.path, bundle::EntryType::kDir, e.mode);
        ++r.dirs;
        progress.add(1, 0);
        break;
      case EntryType::kHardlink:
        tar.add_hardlink(e.path, e.link_target(), e.mtime);
        env_elf.hardlink(e);
        listed(e.path, bundle::EntryType::kHardlink, 0, 0, "", e.link_target());
        ++r.hardlinks;
        progress.add(1, 0);
        break;
      case EntryType::kFile:
        tar.begin_file(e.path, e.mode, e.mtime, e.size);  // its data and kFileEnd follow
        break;
    }
  }
  reader.reset();   // its threads and buffers are done with
  walking.join();  // it has ended: the reader saw the feed's end
  if (checking) check = checking->finish(&env_elf.files());  // with errors: the report, and no output
  WalkResult& walked = walker.result();
  for (const auto& s : walked.skipped) m.skipped.push_back({s.path, s.reason});

  // airlock/: requirements as given, the hash lock, the SBOM, the manifest.
  int64_t now = std::time(nullptr);
  auto add_meta = [&](std::string_view path, const std::string& content) {
    tar.add_bytes(std::string(path), 0644, now, content);
    listed(path, bundle::EntryType::kFile, 0644, content.size(), sha256_hex(content));
  };
  tar.add_dir("airlock", 0755, now);
  listed("airlock", bundle::EntryType::kDir, 0755);
  add_meta(bundle::kRequirementsPath, wheels.requirements_text);
  add_meta(bundle::kLockPath, requirements_lock(m.wheels));
  std::vector<SbomCarried> carried;
  for (const CarriedFile& f : portable.carried)
    carried.push_back({f.path, f.soname, f.host_path, f.kind, f.sha256, f.package, f.version});
  std::string sbom = make_pack_sbom(check, m, o, carried);
  add_meta(bundle::kSbomPath, sbom);
  m.extra["check"] = check.to_json();
  nlohmann::json runtime = portable.record;
  runtime["target"] = target ? nlohmann::json(target->label()) : nlohmann::json("none");
  runtime["needs_glibc"] = check.report.label_needs_glibc();
  if (!check.ran && !o.portable) runtime["needs_glibc"] = "unknown";
  m.extra["runtime"] = runtime;
  if (!o.link_test_skip.empty()) m.extra["link_test"] = {{"skip", o.link_test_skip}};
  m.extra["tool"] = {{"name", "airlock packer"}, {"version", AIRLOCK_VERSION}};
  auto [manifest_head, manifest_tail] = m.dump_around_files();
  tar.begin_file(bundle::kManifestPath, 0644, now, manifest_head.size() + files_json.bytes() + manifest_tail.size());
  auto bytes = [](std::string_view t) { return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(t.data()), t.size()); };
  tar.data(bytes(manifest_head));
  files_json.drain([&](std::span<const uint8_t> piece) { tar.data(piece); });
  tar.data(bytes(manifest_tail));
  tar.close();
  zstd.finish();  // ends the frame, the age stream, and flushes the envelope
  envelope.end_payload();
  progress.done();
  if (checking) checking->print_warnings(check);
  for (const auto& w : walked.warnings) warn(w);

  r.payload_bytes = envelope.payload_bytes();
  r.payload_sha256 = envelope.payload_sha256();
  r.content_bytes = tar.bytes_out();
  r.content_files = tar.members();
  r.wheels = m.wheels.size();
  r.relocate_listed = m.relocate.size();
  r.dereferenced = m.dereferenced.size();
  r.skipped = m.skipped.size();

  // Signatures and label.
  auto payload_sig = minisign::sign_prehashed(sk, std::span<const uint8_t, 64>(envelope.payload_blake2b()),
                                              bundle::trusted_comment(m.bundle_id, bundle::kPayloadMember),
                                              "signature from airlock packer");
  bundle::Label label;
  label.marking = o.marking.empty() ? "UNMARKED" : o.marking;
  label.set("format", std::string(bundle::kFormat));
  label.set("bundle-id", m.bundle_id);
  label.set("created", m.created);
  label.set("marking", label.marking);
  for (auto& [key, value] : designation.value.label_fields()) label.set(key, value);
  label.set("signer-key-id", r.signer_key_id);
  std::string rcpt;
  for (const auto& rc : recipients) rcpt += (rcpt.empty() ? "" : " ") + rc.encode();
  label.set("recipients", passphrase ? "passphrase" : rcpt);
  label.set("payload-bytes", std::to_string(r.payload_bytes));
  label.set("payload-sha256", r.payload_sha256);
  label.set("content-bytes", std::to_string(r.content_bytes));
  label.set("content-files", std::to_string(r.content_files));
  label.set("python", r.python);
  label.set("source-prefix", env.prefix);
  label.set("wheels", std::to_string(r.wheels));
  label.set("check", check.label_value());
  label.set("target", target ? target->label() : "none");
  label.set("needs-glibc", runtime["needs_glibc"].get<std::string>());
  if (check.report.portable_plan.carry_glibc) label.set("carries-glibc", check.report.portable_plan.host_glibc);
  label.set("tool", std::string("airlock packer ") + AIRLOCK_VERSION);
  label.free_text = bundle::label_instructions(fs::path(o.out).filename().string());
  std::string label_text = label.format();
  auto label_sig = minisign::sign_prehashed(
      sk, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(label_text.data()), label_text.size()),
      bundle::trusted_comment(m.bundle_id, bundle::kLabelMember), "signature from airlock packer");

  envelope.add_member(bundle::kPayloadSigMember, payload_sig.file_text());
  envelope.add_member(bundle::kLabelMember, label_text);
  envelope.add_member(bundle::kLabelSigMember, label_sig.file_text());
  envelope.close();
  outfile.seal(sk, m.bundle_id);  // volumes: hashed when final, the index signed
  r.bundle_bytes = outfile.bytes();
  if (const bundle::VolumeWriter* vw = outfile.volumes()) {
    r.volumes = vw->paths();
    r.volume_size = vw->volume_size();
    r.volume_index = vw->index_file();
    r.volume_index_sha256 = outfile.index_sha256();
  }
  if (!o.sbom_out.empty()) write_new_file(o.sbom_out, sbom, 0644, o.force);
  outfile.commit();
  if (o.exiting_after) {
    // Still reachable (not a leak to a leak checker); never freed.
    static std::vector<std::shared_ptr<void>>* kept = new std::vector<std::shared_ptr<void>>;
    kept->push_back(std::make_shared<WalkResult>(walker.take()));
    kept->push_back(std::make_shared<bundle::Manifest>(std::move(m)));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace airlock::packer
