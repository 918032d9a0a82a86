// packer label BUNDLE|NAME.sealed.volumes -o DIR: one printable SVG label
// per medium (packer/handling/media_label.h).
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/audit.h"
#include "common/error.h"
#include "common/io.h"
#include "packer/commands.h"
#include "packer/handling/media_label.h"

namespace airlock::packer {

namespace {

struct LabelOptions {
  std::string input, out_dir, audit_log;
  bool force = false;
  OutputOptions output;
};

int run_label(const LabelOptions& o) {
  const std::string log = audit_log_path(o.audit_log);
  // The output directory first: a typo should not cost a pass over the bundle.
  if (::mkdir(o.out_dir.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("cannot create directory", o.out_dir);
  struct stat st {};
  if (::stat(o.out_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error(Exit::kUsage, o.out_dir + ": not a directory");

  MediaLabelSet set = read_media_label_set(o.input, o.output.show_progress() && !o.output.json);

  // Every label is laid out, and every name checked, before any is written.
  std::vector<RenderedLabel> rendered;
  std::vector<std::string> paths;
  for (const auto& m : set.labels) {
    rendered.push_back(render_media_label(m));
    paths.push_back((std::filesystem::path(o.out_dir) / (m.file_name + ".svg")).string());
  }
  std::vector<std::unique_ptr<OutputFile>> files;
  for (size_t i = 0; i < paths.size(); ++i) {
    files.push_back(std::make_unique<OutputFile>(paths[i], 0644, o.force));
    files.back()->write(rendered[i].svg);
  }
  for (auto& f : files) f->commit();

  AuditEvent ev;
  ev.event = "label";
  ev.outcome = "ok";
  ev.detail = "wrote " + std::to_string(paths.size()) + " media label" + (paths.size() == 1 ? "" : "s") + " for " +
              o.input + " to " + o.out_dir;
  ev.bundle_id = set.bundle_id;
  ev.marking = set.marking;
  if (!set.labels.empty()) {
    ev.bundle_sha256 = set.labels.front().payload_sha256;
    ev.signer_key_id = set.labels.front().signer_key_id;
  }
  audit_append(log, ev);

  for (size_t i = 0; i < paths.size(); ++i)
    if (rendered[i].body_pt < 5.5)
      warn(paths[i] + ": its text is " + std::to_string(rendered[i].body_pt).substr(0, 4) +
           " pt to fit long values; check that it is readable when printed");
  if (o.output.json) {
    nlohmann::ordered_json j{{"input", o.input}, {"bundle_id", set.bundle_id}, {"marking", set.marking}};
    j["labels"] = nlohmann::json::array();
    for (size_t i = 0; i < paths.size(); ++i) {
      const auto& m = set.labels[i];
      j["labels"].push_back(nlohmann::ordered_json{{"svg", paths[i]},      {"file", m.file_name},
                                                   {"volume", m.volume},   {"volumes", m.volumes},
                                                   {"bytes", m.file_bytes}, {"sha256", m.file_sha256},
                                                   {"text_pt", rendered[i].body_pt}});
    }
    std::cout << j.dump(2) << "\n";
  } else if (!o.output.quiet) {
    for (size_t i = 0; i < paths.size(); ++i) {
      const auto& m = set.labels[i];
      std::cerr << "packer: wrote " << paths[i];
      if (m.volumes) std::cerr << " (volume " << m.volume << " of " << m.volumes << ")";
      std::cerr << "\n";
    }
  }
  return 0;
}

}  // namespace

Command label_command() {
  return {"label", "Write a printable label (SVG, 89 x 51 mm) for a bundle or for each of its volumes",
          [](CLI::App& app) -> std::function<int()> {
            auto o = std::make_shared<LabelOptions>();
            app.add_option("BUNDLE", o->input, "A bundle NAME.sealed, or a volume set's index NAME.sealed.volumes")
                ->required();
            app.add_option("-o,--output", o->out_dir, "Directory for the labels (created if missing)")->required();
            app.add_flag("-f,--force", o->force, "Replace existing labels");
            app.add_option("--audit-log", o->audit_log,
                           "Audit log (default $AIRLOCK_AUDIT_LOG or ~/.local/state/airlock/audit.jsonl)");
            o->output.add_to(app);
            app.footer(
                "Writes DIR/NAME.sealed.svg for a bundle, or DIR/NAME.sealed.NNN.svg for each volume the\n"
                "index lists. Each label shows the marking banner at top and bottom, the designation\n"
                "indicator, bundle-id, created, signer key id, the file (volume i of N) with its SHA-256,\n"
                "and payload.age's SHA-256. Every file is hashed first: a volume that differs from the\n"
                "index, or a label that does not describe payload.age, gets no label (exit 1).\n"
                "Needs no key and verifies no signature: the label is a handling aid, and\n"
                "'unpacker verify' on the secure node is the proof.\n\n"
                "Examples:\n"
                "  packer label project.sealed -o labels/\n"
                "  packer label project.sealed.volumes -o labels/\n"
                "  rsvg-convert -d 300 -p 300 labels/project.sealed.001.svg -o label-001.png\n"
                "Exit status: 0 written; 1 a file disagrees with what is signed; 2 usage or I/O error\n"
                "(an existing label without --force).");
            return [o]() -> int {
              try {
                return run_label(*o);
              } catch (const Error& e) {
                try {
                  // A file that disagrees with what is signed is refused; the rest failed.
                  audit_append(audit_log_path(o->audit_log),
                               {.event = "label", .outcome = e.exit() == Exit::kVerify ? "refused" : "failed",
                                .detail = o->input + ": " + e.what()});
                } catch (const Error&) {
                }
                throw;
              }
            };
          }};
}

}  // namespace airlock::packer
