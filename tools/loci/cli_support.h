// What every loci command shares: exit codes, the one-line error report, opening a database
// in the mode a command needs, and reading a payload file.

#ifndef LOCI_TOOLS_LOCI_CLI_SUPPORT_H_
#define LOCI_TOOLS_LOCI_CLI_SUPPORT_H_

#include <memory>
#include <string>
#include <string_view>

#include "loci/db.h"
#include "loci/status.h"

namespace loci::cli {

// Process exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;       // bad arguments, invalid input, not found
inline constexpr int kExitCorruption = 2;  // damaged database files
inline constexpr int kExitIo = 3;          // I/O failure, database busy, poisoned instance

// The exit code for a failed `status`. REQUIRES: !status.ok().
int ExitCodeFor(const Status& status);

// Prints "loci: <command>: <message>" as one line on stderr (newlines in the message are
// flattened, other control characters escaped as \xNN) and returns the exit code for `status`.
// REQUIRES: !status.ok().
int ReportFailure(std::string_view command, const Status& status);

// Prints "loci: <command>: <message>" as one line on stderr and returns kExitUsage.
int ReportUsage(std::string_view command, std::string_view message);

enum class OpenMode {
  kCreate,     // create a new database; fail if one exists
  kReadWrite,  // an existing database, writer lock taken
  kReadOnly,   // an existing database, no writer lock, nothing modified
};

// Opens the database in `dir`. Errors carry the engine's message.
Status OpenDb(const std::string& dir, OpenMode mode, std::unique_ptr<Db>* db);
// The same with `options` (its mode fields are set from `mode`).
Status OpenDb(const std::string& dir, OpenMode mode, Options options, std::unique_ptr<Db>* db);

// Reads all of `path` (binary; "-" is standard input) into *contents.
Status ReadFileBytes(const std::string& path, std::string* contents);

}  // namespace loci::cli

#endif  // LOCI_TOOLS_LOCI_CLI_SUPPORT_H_
