// The loci subcommands. Each Register* function adds its subcommands to the CLI11 app and
// appends, for each, the function that runs it once parsing selected it. A run function
// prints its result on stdout and returns the process exit code (cli_support.h); on failure
// it has printed exactly one line on stderr.

#ifndef LOCI_TOOLS_LOCI_COMMANDS_H_
#define LOCI_TOOLS_LOCI_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

namespace loci::cli {

struct Command {
  CLI::App* app;             // the subcommand, owned by the parent app
  std::function<int()> run;  // runs it with the parsed arguments
};

// init, put, update, retire, drop-field, checkpoint.
void RegisterWriteCommands(CLI::App* app, std::vector<Command>* commands);

// get, history, info, check.
void RegisterReadCommands(CLI::App* app, std::vector<Command>* commands);

// search.
void RegisterSearchCommand(CLI::App* app, std::vector<Command>* commands);

// link, unlink, trace, episode, events, changes, list: the trace graph (loci/trace.h).
void RegisterTraceCommands(CLI::App* app, std::vector<Command>* commands);

// fuse, provenance: the MemOS operations.
void RegisterMemosCommands(CLI::App* app, std::vector<Command>* commands);

// import: cubes and edges from JSON Lines.
void RegisterImportCommand(CLI::App* app, std::vector<Command>* commands);

// wal-dump.
void RegisterWalDump(CLI::App* app, std::vector<Command>* commands);

// salvage.
void RegisterSalvageCommand(CLI::App* app, std::vector<Command>* commands);

// purge.
void RegisterPurgeCommand(CLI::App* app, std::vector<Command>* commands);

// prune: apply a retention policy now.
void RegisterPruneCommand(CLI::App* app, std::vector<Command>* commands);

// compact: compact the blob arena now.
void RegisterCompactCommand(CLI::App* app, std::vector<Command>* commands);

}  // namespace loci::cli

#endif  // LOCI_TOOLS_LOCI_COMMANDS_H_
