#include "packer/checks/pack_checks.h"

#include <filesystem>
#include <iostream>

#include "common/cli.h"
#include "packer/pack.h"
#include "packer/handling/sbom.h"

namespace airlock::packer {

nlohmann::json CheckSummary::to_json() const {
  nlohmann::json j = report_json(report);
  j["ran"] = ran;
  return j;
}

std::string CheckSummary::label_value() const {
  if (!ran) return "skipped (--no-check)";
  size_t w = report.count(Severity::kWarning);
  return std::string(report.ok() ? "passed" : "failed") + ", " + std::to_string(w) + (w == 1 ? " warning" : " warnings");
}

namespace {

CheckOptions pack_check_options(const Environment& env, const WheelSource& wheels, const PackOptions& o) {
  CheckOptions co;
  co.env_dir = o.env_dir;
  co.environment = &env;
  co.requirements = wheels.dir.empty() ? "" : o.requirements;
  co.wheelhouse = wheels.dir;
  co.allow_sdist = o.allow_sdist;
  co.rehearse = !o.no_check && !wheels.dir.empty();
  co.doctor = !o.no_check || o.portable;  // --portable is planned by the doctor
  co.target = o.target;
  co.portable = o.portable;
  return co;
}

void announce(const PackOptions& o) {
  note(o.no_check ? "checks skipped (--no-check)" : "checking: offline install rehearsal and shared libraries",
       o.output);
}

// Errors stop the pack: the report, then the error that says so.
void refuse_failed(const CheckSummary& s) {
  if (!s.ran || s.report.ok()) return;
  std::cerr << format_report(s.report);
  size_t n = s.report.count(Severity::kError);
  throw Error(Exit::kVerify,
              "the checks found " + std::to_string(n) + (n == 1 ? " error" : " errors") +
                  "; no bundle was written (a bundle that fails on the secure node costs a courier trip)",
              "fix what is listed above and pack again; 'packer check' repeats the checks alone; "
              "--no-check seals anyway and says so in the label");
}

void warn_all(const CheckSummary& s, const PackOptions& o) {
  if (!s.ran || o.output.quiet) return;
  for (const Finding& f : s.report.findings)
    if (f.severity == Severity::kWarning) warn(f.message);
}

}  // namespace

CheckSummary run_pack_checks(const Environment& env, const WheelSource& wheels, const PackOptions& o) {
  announce(o);
  CheckSummary s;
  s.ran = !o.no_check;
  s.report = run_checks(pack_check_options(env, wheels, o));
  refuse_failed(s);
  warn_all(s, o);
  return s;
}

void EnvElfCollector::file(const WalkEntry& e, const FileResult& r) {
  if (!r.elf || e.path.rfind("env/", 0) != 0) return;
  index_[e.path] = {files_.files.size(), !e.was_link_to().empty()};
  files_.files.push_back({e.path.substr(4), r.elf});
}

void EnvElfCollector::hardlink(const WalkEntry& e) {
  auto it = index_.find(e.link_target());
  if (it == index_.end() || e.path.rfind("env/", 0) != 0) return;
  auto& [index, via_link] = it->second;
  std::string name = e.path.substr(4);
  if (via_link && e.was_link_to().empty()) {
    std::swap(name, files_.files[index].first);
    via_link = false;
  }
  files_.other_names.push_back(std::move(name));
}

PackChecks::PackChecks(const Environment& env, const WheelSource& wheels, const PackOptions& o) : o_(o) {
  announce(o);
  CheckOptions co = pack_check_options(env, wheels, o);
  std::shared_future<const EnvElfFiles*> files = files_.get_future().share();
  co.env_files = [files] { return files.get(); };  // Cancelled when the pack is abandoned
  co.rehearsed = [this](bool ok) {
    if (!ok) failed_early_ = true;
  };
  summary_.ran = !o.no_check;
  thread_ = std::thread([this, co = std::move(co)] {
    try {
      summary_.report = run_checks(co);
    } catch (const Cancelled&) {
    } catch (...) {
      failure_ = std::current_exception();
      failed_early_ = true;
    }
  });
}

PackChecks::~PackChecks() {
  if (!thread_.joinable()) return;
  if (!files_given_) files_.set_exception(std::make_exception_ptr(Cancelled{}));
  thread_.join();
}

CheckSummary PackChecks::finish(const EnvElfFiles* files) {
  files_given_ = true;
  files_.set_value(files);
  thread_.join();
  if (failure_) std::rethrow_exception(failure_);
  refuse_failed(summary_);
  return std::move(summary_);
}

void PackChecks::print_warnings(const CheckSummary& s) const { warn_all(s, o_); }

std::string make_pack_sbom(const CheckSummary& check, const bundle::Manifest& m, const PackOptions& o,
                           const std::vector<SbomCarried>& carried) {
  SbomInput in;
  in.env_dir = check.report.environment.prefix;
  in.python_version = check.report.environment.python.version;
  in.python_implementation = check.report.environment.python.implementation;
  in.wheels = check.report.wheels;
  in.bundle_id = m.bundle_id;
  in.bundle_name = std::filesystem::path(o.out).filename().string();
  in.timestamp = m.created;
  in.carried = carried;
  return make_sbom(in);
}

}  // namespace airlock::packer
