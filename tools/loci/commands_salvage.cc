// loci salvage SRC DST: copies what verifies out of a damaged database into a new one
// (Db::Salvage) and says, in words, what could not be recovered.
//
// Exit 0 once DST is written, whatever was lost; 1 for bad arguments (DST not new or empty,
// SRC not a database); 2 only if nothing at all in SRC could be read; 3 for I/O errors.

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common/time_format.h"
#include "loci/db.h"
#include "tools/loci/cli_support.h"
#include "tools/loci/commands.h"
#include "tools/loci/text_encoding.h"

namespace loci::cli {

namespace {

// Lost versions named on one line, at most; the rest are counted.
constexpr size_t kMaxNamedPerLine = 20;

struct SalvageArgs {
  std::string src;
  std::string dst;
};

// "cube 5 version 3 (committed 2026-01-01T00:00:00Z)", "probably cube 7 version 1 (...)".
std::string DescribeVersion(const LostVersion& v) {
  std::string out = v.certain ? "" : "probably ";
  out += "cube " + std::to_string(v.id) + " version " + std::to_string(v.version);
  if (v.committed) out += " (committed " + FormatRfc3339(*v.committed) + ")";
  return out;
}

std::string DescribeVersions(const std::vector<LostVersion>& versions) {
  std::string out;
  for (size_t i = 0; i < versions.size() && i < kMaxNamedPerLine; ++i) {
    out += (i > 0 ? ", " : "") + DescribeVersion(versions[i]);
  }
  if (versions.size() > kMaxNamedPerLine) {
    out += " and " + std::to_string(versions.size() - kMaxNamedPerLine) + " more";
  }
  return out;
}

// One line per loss: where, what, and which versions it took (when known).
std::string DescribeLoss(const SalvageLoss& loss) {
  std::string line = "lost: ";
  if (!loss.file.empty()) {
    line += EscapeText(loss.file) + " at offset " + std::to_string(loss.offset);
    if (loss.length > 0) line += " (" + std::to_string(loss.length) + " bytes)";
    line += ": ";
  }
  line += EscapeText(loss.what);
  line += loss.versions.empty() ? "; what it held is not known"
                                : "; versions lost: " + DescribeVersions(loss.versions);
  return line;
}

void PrintReport(const SalvageArgs& a, const SalvageReport& report) {
  std::cout << "salvaged " << EscapeText(a.src) << " into " << EscapeText(a.dst) << ": "
            << report.spaces << " space(s), " << report.cubes << " cube(s), " << report.versions
            << " version(s), " << report.blobs << " blob(s) of " << report.blob_bytes << " bytes\n";
  uint64_t named = 0;
  for (const SalvageLoss& loss : report.losses) {
    std::cout << DescribeLoss(loss) << '\n';
    named += loss.versions.size();
  }
  for (const std::string& note : report.notes) std::cout << "note: " << EscapeText(note) << '\n';
  if (report.version_gaps) {
    std::cout << "note: some cubes' version numbers skip the versions lost; the copy records "
                 "this and opens normally\n";
  }
  if (report.losses.empty()) {
    std::cout << "nothing lost\n";
  } else {
    std::cout << report.losses.size() << " loss(es), " << named
              << " version(s) named; check the copy with 'loci check " << EscapeText(a.dst)
              << "'\n";
  }
}

int RunSalvage(const SalvageArgs& a) {
  Options options;
  SalvageReport report;
  Status s = Db::Salvage(options, a.src, a.dst, &report);
  if (!s.ok()) return ReportFailure("salvage", s);
  PrintReport(a, report);
  return kExitOk;
}

}  // namespace

void RegisterSalvageCommand(CLI::App* app, std::vector<Command>* commands) {
  auto args = std::make_shared<SalvageArgs>();
  CLI::App* cmd = app->add_subcommand(
      "salvage",
      "Copy every version that verifies out of a damaged database SRC into a new database DST "
      "(SRC is only read); print what could not be recovered");
  cmd->add_option("SRC", args->src, "Damaged database directory (read only)")->required();
  cmd->add_option("DST", args->dst, "New database directory (must not exist, or be empty)")
      ->required();
  commands->push_back({cmd, [args] { return RunSalvage(*args); }});
}

}  // namespace loci::cli
