// loci compact: compacts the blob arena now (Db::Compact): the live blobs of every generation
// holding dead bytes (or, with --max-live-fraction, of the mostly dead ones) are copied forward
// and the emptied generation files removed. Progress on stderr when it is a terminal.

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>

#include "loci/db.h"
#include "tools/loci/cli_support.h"
#include "tools/loci/commands.h"

namespace loci::cli {

namespace {

struct CompactArgs {
  std::string dir;
  double max_live_fraction = 1.0;
};

std::string Plural(uint64_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

int RunCompact(const CompactArgs& a) {
  if (!(a.max_live_fraction >= 0 && a.max_live_fraction <= 1)) {
    return ReportUsage("compact", "--max-live-fraction must lie between 0 and 1");
  }
  std::unique_ptr<Db> db;
  Status s = OpenDb(a.dir, OpenMode::kReadWrite, &db);
  if (!s.ok()) return ReportFailure("compact", s);
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  CompactOptions options;
  options.max_live_fraction = a.max_live_fraction;
  if (tty) {
    options.progress = [](uint64_t copied, uint64_t total) {
      std::cerr << "\rcopying live blobs: " << copied * 100 / std::max<uint64_t>(total, 1)
                << "% of " << total << " bytes" << std::flush;
    };
  }
  CompactResult result;
  s = db->Compact(options, &result);
  if (tty) std::cerr << "\r\x1b[K" << std::flush;
  if (!s.ok()) return ReportFailure("compact", s);
  if (result.generations_removed == 0) {
    std::cout << "nothing to compact: no arena generation holds dead bytes\n";
    return kExitOk;
  }
  std::cout << "removed " << Plural(result.generations_removed, "arena generation")
            << " after copying " << Plural(result.blobs_copied, "live blob") << " ("
            << Plural(result.bytes_copied, "byte") << "); the arena went from "
            << result.arena_bytes_before << " to " << result.arena_bytes_after << " bytes\n";
  return kExitOk;
}

}  // namespace

void RegisterCompactCommand(CLI::App* app, std::vector<Command>* commands) {
  auto compact = std::make_shared<CompactArgs>();
  CLI::App* cmd = app->add_subcommand(
      "compact",
      "Give back the space of erased blobs now: copy the live blobs of the arena files that "
      "hold dead ones forward, then remove those files");
  cmd->add_option("DIR", compact->dir, "Database directory")->required();
  cmd->add_option("--max-live-fraction", compact->max_live_fraction,
                  "Only compact files at most this fraction live (default 1: any dead byte)")
      ->type_name("F");
  commands->push_back({cmd, [compact] { return RunCompact(*compact); }});
}

}  // namespace loci::cli
