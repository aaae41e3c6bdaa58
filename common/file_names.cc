// Numbered file names.

#include "common/file_names.h"

#include <charconv>
#include <cstdio>

namespace loci {

std::string NumberedFileName(std::string_view prefix, uint64_t number, std::string_view suffix) {
  char digits[24];
  std::snprintf(digits, sizeof(digits), "%08llu", static_cast<unsigned long long>(number));
  std::string name(prefix);
  name += digits;
  name += suffix;
  return name;
}

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

}  // namespace loci
