// What the salvage scanners of checkpoint files and WAL segments share: finding the end of
// the bytes that matter, bounding the work of resynchronisation, and turning damaged bytes
// into a loss that names what they still decode to.

#ifndef LOCI_ENGINE_SALVAGE_SCAN_UTIL_H_
#define LOCI_ENGINE_SALVAGE_SCAN_UTIL_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/salvage_scan.h"
#include "query/version.h"

namespace loci::engine::salvage_scan {

// The offset of the first non-zero byte of `image` at or after `from`, or image.size().
inline size_t FirstNonZero(std::string_view image, size_t from) {
  for (size_t i = from; i < image.size(); ++i) {
    if (image[i] != 0) return i;
  }
  return image.size();
}

// One past the last non-zero byte of image[from, to), or `from` if there is none: zeros at
// the end of a damaged region are unwritten space, not damage.
inline size_t EndOfNonZero(std::string_view image, size_t from, size_t to) {
  while (to > from && image[to - 1] == 0) --to;
  return to;
}

// Bounds the bytes hashed while looking for the next piece that verifies after damage: every
// candidate offset may claim a length up to the end of the file, so without a bound garbage
// could make a scan quadratic in the file's size.
class HashBudget {
 public:
  explicit HashBudget(size_t image_size) : left_(32 * uint64_t{image_size} + (1u << 20)) {}
  // Whether `bytes` more may be hashed (and, if so, counts them).
  bool Spend(uint64_t bytes) {
    if (bytes > left_) return false;
    left_ -= bytes;
    return true;
  }

 private:
  uint64_t left_;
};

// A version that damaged bytes decode to, as a loss names it (unverified).
inline LostVersion Suspect(const Version& v) {
  return LostVersion{v.id, v.number, v.tx_from, /*certain=*/false};
}

// `message` without a leading "<file>: " or "<file> ": statuses name their file, a loss names
// it apart.
inline std::string WithoutFile(const std::string& message, const std::string& file) {
  if (message.compare(0, file.size(), file) != 0) return message;
  std::string rest = message.substr(file.size());
  if (rest.compare(0, 2, ": ") == 0) return rest.substr(2);
  if (rest.compare(0, 1, " ") == 0) return rest.substr(1);
  return message;
}

inline SalvageLoss Damage(const std::string& file, uint64_t offset, uint64_t length,
                          std::string what) {
  SalvageLoss loss;
  loss.file = file;
  loss.offset = offset;
  loss.length = length;
  loss.what = std::move(what);
  return loss;
}

}  // namespace loci::engine::salvage_scan

#endif  // LOCI_ENGINE_SALVAGE_SCAN_UTIL_H_
