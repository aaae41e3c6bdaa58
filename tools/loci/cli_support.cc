// Exit codes, error reporting, database opening and file reading for the loci commands.

#include "tools/loci/cli_support.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "loci/options.h"

namespace loci::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case Status::Code::kOk:
      return kExitOk;
    case Status::Code::kCorruption:
      return kExitCorruption;
    case Status::Code::kIOError:
    case Status::Code::kBusy:
    case Status::Code::kPoisoned:
      return kExitIo;
    case Status::Code::kNotFound:
    case Status::Code::kPruned:
    case Status::Code::kNotSupported:
    case Status::Code::kInvalidArgument:
      return kExitUsage;
  }
  return kExitUsage;
}

namespace {

void PrintErrorLine(std::string_view command, std::string_view message) {
  std::string line = "loci: ";
  if (!command.empty()) {
    line += command;
    line += ": ";
  }
  // One line, and nothing a terminal would act on: messages quote names and values the caller
  // or the database gave (a space name may hold an escape sequence).
  for (char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n' || c == '\r') {
      line += ' ';
    } else if ((u < 0x20 && c != '\t') || u == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", u);
      line += buf;
    } else {
      line += c;
    }
  }
  std::cout.flush();
  std::cerr << line << '\n';
  std::cerr.flush();
}

}  // namespace

int ReportFailure(std::string_view command, const Status& status) {
  std::string message = status.message();
  if (status.IsCorruption()) message = "corruption: " + message;
  if (message.empty()) message = status.ToString();
  PrintErrorLine(command, message);
  return ExitCodeFor(status);
}

int ReportUsage(std::string_view command, std::string_view message) {
  PrintErrorLine(command, message);
  return kExitUsage;
}

Status OpenDb(const std::string& dir, OpenMode mode, std::unique_ptr<Db>* db) {
  return OpenDb(dir, mode, Options(), db);
}

Status OpenDb(const std::string& dir, OpenMode mode, Options options, std::unique_ptr<Db>* db) {
  switch (mode) {
    case OpenMode::kCreate:
      options.create_if_missing = true;
      options.error_if_exists = true;
      break;
    case OpenMode::kReadWrite:
      break;
    case OpenMode::kReadOnly:
      options.read_only = true;
      break;
  }
  return Db::Open(options, dir, db);
}

Status ReadFileBytes(const std::string& path, std::string* contents) {
  contents->clear();
  const bool from_stdin = path == "-";
  std::FILE* file = from_stdin ? stdin : std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int err = errno;
    const std::string what = path + ": " + std::strerror(err);
    return err == ENOENT ? Status::NotFound(what) : Status::IOError(what);
  }
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0) contents->append(buf, n);
  const bool failed = std::ferror(file) != 0;
  const int err = errno;
  if (!from_stdin) std::fclose(file);
  if (failed) {
    const std::string what = path + ": cannot read: " + std::strerror(err);
    return err == EISDIR ? Status::InvalidArgument(what) : Status::IOError(what);
  }
  return Status::OK();
}

}  // namespace loci::cli
