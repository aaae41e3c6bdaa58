// loci's command line: builds the CLI11 app from the registered subcommands (commands.h),
// parses argv and runs the selected subcommand. Every failure, a parse error included, is one
// line on stderr and a non-zero exit code (cli_support.h); --help prints the usual help.

#include "tools/loci/run_loci.h"

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "tools/loci/cli_support.h"
#include "tools/loci/commands.h"

namespace loci::cli {

int RunLoci(int argc, const char* const* argv) {
  CLI::App app{"Inspect, edit and check a Loci database.", "loci"};
  app.require_subcommand(1);
  app.footer(
      "TIME is RFC 3339 (2023-05-08T13:56:00Z, 2023-05-08T15:56:00.25+02:00), integer\n"
      "microseconds since the Unix epoch, or 'forever'.\n"
      "Exit codes: 0 ok, 1 bad arguments / invalid input / not found, 2 corruption,\n"
      "3 I/O error or database busy. Errors are one line on stderr.");
  std::vector<Command> commands;
  RegisterWriteCommands(&app, &commands);
  RegisterReadCommands(&app, &commands);
  RegisterSearchCommand(&app, &commands);
  RegisterTraceCommands(&app, &commands);
  RegisterMemosCommands(&app, &commands);
  RegisterImportCommand(&app, &commands);
  RegisterWalDump(&app, &commands);
  RegisterSalvageCommand(&app, &commands);
  RegisterPurgeCommand(&app, &commands);
  RegisterPruneCommand(&app, &commands);
  RegisterCompactCommand(&app, &commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::string command;
    for (const CLI::App* sub : app.get_subcommands()) command = sub->get_name();
    if (command.empty() && argc > 1 && argv[1][0] != '-') {
      return ReportUsage("", "unknown command '" + std::string(argv[1]) + "' (see 'loci --help')");
    }
    const std::string help = command.empty() ? "loci --help" : "loci " + command + " --help";
    return ReportUsage(command, std::string(e.what()) + " (see '" + help + "')");
  }

  try {
    for (const Command& c : commands) {
      if (c.app->parsed()) return c.run();
    }
  } catch (const std::exception& e) {
    // Nothing here should throw but allocation; still, keep the one-line contract.
    return ReportUsage("", std::string("internal error: ") + e.what());
  }
  return ReportUsage("", "no command given (see 'loci --help')");
}

}  // namespace loci::cli
