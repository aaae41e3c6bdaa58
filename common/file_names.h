// Numbered file names ("wal-00000012.log", "arena-00000003.blob", "ckpt-00000007.ckpt"): one
// format and one strict parser for every kind of numbered file a database holds.

#ifndef LOCI_COMMON_FILE_NAMES_H_
#define LOCI_COMMON_FILE_NAMES_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace loci {

// prefix + the number in at least 8 decimal digits + suffix.
std::string NumberedFileName(std::string_view prefix, uint64_t number, std::string_view suffix);

// True, with *number set, if `name` is prefix + decimal digits + suffix.
bool ParseNumberedFileName(std::string_view name, std::string_view prefix, std::string_view suffix,
                           uint64_t* number);

}  // namespace loci

#endif  // LOCI_COMMON_FILE_NAMES_H_
