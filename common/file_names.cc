// Database file names and paths.

#include "common/file_names.h"

#include <charconv>
#include <cstdio>

namespace loci {
namespace {

// prefix + the number in at least 8 decimal digits + suffix.
std::string NumberedFileName(std::string_view prefix, uint64_t number, std::string_view suffix) {
  char digits[24];
  std::snprintf(digits, sizeof(digits), "%08llu", static_cast<unsigned long long>(number));
  std::string name(prefix);
  name += digits;
  name += suffix;
  return name;
}

// True, with *number set, if `name` is prefix + decimal digits + suffix.
bool ParseNumberedFileName(std::string_view name, std::string_view prefix, std::string_view suffix,
                           uint64_t* number) {
  if (name.size() <= prefix.size() + suffix.size() || !name.starts_with(prefix) ||
      !name.ends_with(suffix)) {
    return false;
  }
  std::string_view digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.front() < '0' || digits.front() > '9') return false;  // from_chars takes no sign
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *number);
  return ec == std::errc() && ptr == digits.data() + digits.size();
}

}  // namespace

std::string WalSegmentFileName(uint64_t segment_no) {
  return NumberedFileName("wal-", segment_no, ".log");
}

bool ParseWalSegmentFileName(std::string_view name, uint64_t* segment_no) {
  return ParseNumberedFileName(name, "wal-", ".log", segment_no);
}

std::string WalSegmentTempFileName(uint64_t segment_no) {
  return NumberedFileName("wal-", segment_no, ".new");
}

bool ParseWalSegmentTempFileName(std::string_view name, uint64_t* segment_no) {
  return ParseNumberedFileName(name, "wal-", ".new", segment_no);
}

std::string ArenaGenerationFileName(uint32_t generation) {
  return NumberedFileName("arena-", generation, ".blob");
}

bool ParseArenaGenerationFileName(std::string_view name, uint32_t* generation) {
  uint64_t n;
  if (!ParseNumberedFileName(name, "arena-", ".blob", &n) || n == 0 || n > UINT32_MAX) {
    return false;
  }
  *generation = static_cast<uint32_t>(n);
  return true;
}

std::string CheckpointFileName(uint64_t file_number) {
  return NumberedFileName("ckpt-", file_number, ".ckpt");
}

bool ParseCheckpointFileName(std::string_view name, uint64_t* file_number) {
  return ParseNumberedFileName(name, "ckpt-", ".ckpt", file_number);
}

std::string IndexSnapshotFileName(uint64_t file_number) {
  return NumberedFileName("atlas-", file_number, ".idx");
}

bool ParseIndexSnapshotFileName(std::string_view name, uint64_t* file_number) {
  return ParseNumberedFileName(name, "atlas-", ".idx", file_number);
}

bool IsDataFileName(std::string_view name) {
  uint64_t n64;
  uint32_t n32;
  return ParseWalSegmentFileName(name, &n64) || ParseWalSegmentTempFileName(name, &n64) ||
         ParseArenaGenerationFileName(name, &n32) || ParseCheckpointFileName(name, &n64) ||
         ParseIndexSnapshotFileName(name, &n64) || name == kSuperblockTempFileName;
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string path(dir);
  if (!path.empty() && path.back() != '/') path += '/';
  path += name;
  return path;
}

}  // namespace loci
