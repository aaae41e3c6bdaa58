// Checksums: XXH3-64 (the Debian xxHash library, CPU-dispatched for long inputs), seeded so that a
// checksum binds data to where it belongs (segment salt, generation, offset) and misplaced bytes
// fail as surely as random damage.

#ifndef LOCI_COMMON_HASH_H_
#define LOCI_COMMON_HASH_H_

#include <cstdint>
#include <string_view>

namespace loci {

uint64_t Hash64(std::string_view data, uint64_t seed);
uint64_t Hash64(const void* data, size_t len, uint64_t seed);

// A 128-bit random identifier (database UUID, segment salts), from the OS entropy source.
void RandomBytes(void* out, size_t len);
uint64_t RandomU64();

}  // namespace loci

#endif  // LOCI_COMMON_HASH_H_
