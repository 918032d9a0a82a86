#include "packer/handling/sbom.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/bundle/format.h"
#include "common/io.h"
#include "version.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace airlock::packer {

namespace {

// purl components are percent-encoded except for the unreserved characters.
std::string purl_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

json licenses_json(const std::vector<std::string>& names, bool is_expression) {
  json arr = json::array();
  // The schema allows either licence objects or exactly one expression.
  if (is_expression && names.size() == 1) {
    arr.push_back({{"expression", names[0]}});
    return arr;
  }
  for (const std::string& n : names) arr.push_back({{"license", {{"name", n}}}});
  return arr;
}

std::string read_text(const fs::path& p) {
  try {
    return read_file(p.string());
  } catch (const Error&) {
    return {};
  }
}

void scan_site_packages(const fs::path& env, const fs::path& site, std::vector<InstalledDist>& out) {
  std::error_code ec;
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(site, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(it->path());
  std::sort(entries.begin(), entries.end());
  for (const fs::path& p : entries) {
    std::string fn = p.filename().string();
    fs::path meta;
    if (fn.size() > 10 && fn.ends_with(".dist-info")) meta = p / "METADATA";
    else if (fn.ends_with(".egg-info")) meta = fs::is_directory(p) ? p / "PKG-INFO" : p;
    else continue;
    std::string text = read_text(meta);
    if (text.empty()) continue;
    Metadata m = parse_metadata(text);
    if (m.name.empty() || m.version.empty()) continue;
    InstalledDist d;
    d.name = m.name;
    d.version = m.version;
    d.purl = pypi_purl(m.name, m.version);
    d.source = fs::relative(p, env).string();
    d.licenses = license_names(m);
    for (const std::string& r : m.requires_dist) {
      Requirement req = parse_requirement(r);
      if (!req.only_for_extra() && !req.name.empty()) d.depends.push_back(normalize_name(req.name));
    }
    out.push_back(std::move(d));
  }
}

void scan_conda_meta(const fs::path& env, std::vector<InstalledDist>& out) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(env / "conda-meta", ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".json") files.push_back(it->path());
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    json j = json::parse(read_text(f), nullptr, false);
    if (!j.is_object() || !j.contains("name") || !j.contains("version")) continue;
    InstalledDist d;
    d.name = j.value("name", "");
    d.version = j.value("version", "");
    std::string build = j.value("build", ""), subdir = j.value("subdir", "");
    d.purl = "pkg:conda/" + purl_encode(d.name) + "@" + purl_encode(d.version);
    std::string q;
    if (!build.empty()) q += "build=" + purl_encode(build);
    if (!subdir.empty()) q += std::string(q.empty() ? "" : "&") + "subdir=" + purl_encode(subdir);
    if (!q.empty()) d.purl += "?" + q;
    d.source = fs::relative(f, env).string();
    if (j.contains("license") && j["license"].is_string() && !j["license"].get<std::string>().empty())
      d.licenses.push_back(j["license"].get<std::string>());
    if (j.contains("sha256") && j["sha256"].is_string()) d.sha256 = j["sha256"].get<std::string>();
    if (j.contains("depends") && j["depends"].is_array())
      for (const auto& dep : j["depends"])
        if (dep.is_string()) {
          std::string s = dep.get<std::string>();
          d.depends.push_back(s.substr(0, s.find(' ')));
        }
    out.push_back(std::move(d));
  }
}

bool is_sha256_hex(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

std::string pypi_purl(const std::string& name, const std::string& version) {
  // purl's pypi type: lower case, '_' -> '-' (PEP 503 normalisation does that and more).
  return "pkg:pypi/" + purl_encode(normalize_name(name)) + "@" + purl_encode(version);
}

std::vector<InstalledDist> installed_distributions(const std::string& env_dir) {
  std::vector<InstalledDist> out;
  if (env_dir.empty()) return out;
  fs::path env(env_dir);
  std::error_code ec;
  if (fs::is_directory(env / "conda-meta", ec)) scan_conda_meta(env, out);
  // Python distributions (pip-installed in a conda env too) live under
  // lib/pythonX.Y/site-packages.
  for (const char* lib : {"lib", "lib64"}) {
    std::vector<fs::path> pydirs;
    for (fs::directory_iterator it(env / lib, ec), end; !ec && it != end; it.increment(ec)) {
      std::string fn = it->path().filename().string();
      if (fn.rfind("python", 0) == 0 && it->is_directory() && !fs::is_symlink(it->path())) pydirs.push_back(it->path());
    }
    ec.clear();
    std::sort(pydirs.begin(), pydirs.end());
    for (const fs::path& p : pydirs) scan_site_packages(env, p / "site-packages", out);
  }
  return out;
}

std::string make_sbom(const SbomInput& in) {
  json components = json::array();
  json dependencies = json::array();
  // name (normalised) -> bom-ref, separately for the wheelhouse and the
  // environment: a wheel's requirement is met by another wheel.
  std::map<std::string, std::string> wheel_refs, env_refs;
  std::set<std::string> used_refs;
  auto unique_ref = [&](std::string ref) {
    std::string r = ref;
    for (int i = 2; used_refs.count(r); ++i) r = ref + "#" + std::to_string(i);
    used_refs.insert(r);
    return r;
  };

  if (!in.python_version.empty()) {
    std::string ref = unique_ref("interpreter:" + in.python_implementation + "@" + in.python_version);
    components.push_back({{"type", "platform"},
                          {"bom-ref", ref},
                          {"name", in.python_implementation},
                          {"version", in.python_version},
                          {"description", "Python interpreter of the bundled environment"},
                          {"purl", "pkg:generic/" + purl_encode(in.python_implementation) + "@" +
                                       purl_encode(in.python_version)}});
  }

  std::vector<std::pair<std::string, std::vector<std::string>>> deps;  // ref -> normalised names
  for (const WheelInfo& w : in.wheels) {
    std::string ref = unique_ref("wheel:" + w.filename);
    wheel_refs.emplace(normalize_name(w.metadata.name), ref);
    json c{{"type", "library"},
           {"bom-ref", ref},
           {"name", w.metadata.name},
           {"version", w.metadata.version},
           {"purl", pypi_purl(w.metadata.name, w.metadata.version)},
           {"hashes", json::array({{{"alg", "SHA-256"}, {"content", w.sha256}}})},
           {"properties", json::array({{{"name", "airlock:wheel"}, {"value", w.filename}}})}};
    std::vector<std::string> lic = license_names(w.metadata);
    if (!lic.empty()) c["licenses"] = licenses_json(lic, !w.metadata.license_expression.empty());
    components.push_back(std::move(c));
    std::vector<std::string> names;
    for (const std::string& r : w.metadata.requires_dist) {
      Requirement req = parse_requirement(r);
      if (!req.only_for_extra() && !req.name.empty()) names.push_back(normalize_name(req.name));
    }
    deps.emplace_back(ref, names);
  }

  for (const SbomCarried& f : in.carried) {
    json c{{"type", "library"},
           {"bom-ref", unique_ref("carried:" + f.path)},
           {"name", f.soname},
           {"hashes", json::array({{{"alg", "SHA-256"}, {"content", f.sha256}}})},
           {"description", f.kind == "glibc" ? "C library runtime carried from the packing host"
                                             : "shared library carried from the packing host"},
           {"properties", json::array({{{"name", "airlock:carried-from"}, {"value", f.host_path}},
                                       {{"name", "airlock:payload-path"}, {"value", f.path}}})}};
    if (!f.version.empty()) c["version"] = f.version;
    if (!f.package.empty()) {
      std::string name = f.package.substr(0, f.package.find(':'));
      std::string arch = f.package.find(':') == std::string::npos ? "" : f.package.substr(f.package.find(':') + 1);
      std::string purl = "pkg:deb/debian/" + purl_encode(name);
      if (!f.version.empty()) purl += "@" + purl_encode(f.version);
      if (!arch.empty()) purl += "?arch=" + purl_encode(arch);
      c["purl"] = purl;
      c["properties"].push_back({{"name", "airlock:debian-package"}, {"value", f.package}});
    }
    components.push_back(std::move(c));
  }

  std::vector<std::pair<std::string, std::vector<std::string>>> env_deps;
  for (const InstalledDist& d : installed_distributions(in.env_dir)) {
    std::string ref = unique_ref("env:" + d.source);
    env_refs.emplace(normalize_name(d.name), ref);
    json c{{"type", "library"},
           {"bom-ref", ref},
           {"name", d.name},
           {"version", d.version},
           {"purl", d.purl},
           {"properties", json::array({{{"name", "airlock:installed-in-env"}, {"value", d.source}}})}};
    if (is_sha256_hex(d.sha256)) c["hashes"] = json::array({{{"alg", "SHA-256"}, {"content", d.sha256}}});
    if (!d.licenses.empty()) c["licenses"] = licenses_json(d.licenses, false);
    components.push_back(std::move(c));
    std::vector<std::string> names;
    for (const std::string& n : d.depends) names.push_back(normalize_name(n));
    env_deps.emplace_back(ref, names);
  }

  auto add_deps = [&](const auto& list, const std::map<std::string, std::string>& first,
                      const std::map<std::string, std::string>& second) {
    for (const auto& [ref, names] : list) {
      json on = json::array();
      std::set<std::string> seen;
      for (const std::string& n : names) {
        auto it = first.find(n);
        if (it == first.end()) it = second.find(n);
        if (it == second.end() || it->second == ref || !seen.insert(it->second).second) continue;
        on.push_back(it->second);
      }
      dependencies.push_back({{"ref", ref}, {"dependsOn", on}});
    }
  };
  add_deps(deps, wheel_refs, env_refs);
  add_deps(env_deps, env_refs, wheel_refs);

  json metadata{{"timestamp", in.timestamp.empty() ? bundle::rfc3339_now() : in.timestamp},
                {"tools",
                 {{"components", json::array({{{"type", "application"},
                                               {"name", "airlock"},
                                               {"version", AIRLOCK_VERSION},
                                               {"description", "packer: seals a Python environment for an air-gapped node"}}})}}}};
  if (!in.bundle_name.empty()) {
    json c{{"type", "file"}, {"name", in.bundle_name}};
    if (!in.bundle_id.empty()) c["bom-ref"] = "bundle:" + in.bundle_id;
    metadata["component"] = c;
  }
  json bom{{"$schema", "http://cyclonedx.org/schema/bom-1.5.schema.json"},
           {"bomFormat", "CycloneDX"},
           {"specVersion", kSbomSpecVersion},
           {"version", 1},
           {"metadata", metadata},
           {"components", components},
           {"dependencies", dependencies}};
  if (!in.bundle_id.empty()) bom["serialNumber"] = "urn:uuid:" + in.bundle_id;
  return bom.dump(2) + "\n";
}

}  // namespace airlock::packer
