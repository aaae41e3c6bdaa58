// XXH3-64 seeded checksums and OS randomness.

#include "common/hash.h"

#include <sys/random.h>

#include <cstring>
#include <random>

// The Debian library: XXH3, and its runtime-dispatched variant (SSE2/AVX2/AVX-512).
#include <xxhash.h>
#define XXH_DISPATCH_DISABLE_REPLACE
#include <xxh_x86dispatch.h>

namespace loci {

namespace {
// Long inputs (blob checksums, verified on every read) run about 3x faster with the AVX2 kernel
// the dispatcher picks than with the baseline SSE2 build; short ones gain nothing.
constexpr size_t kDispatchMinBytes = 256;
}  // namespace

uint64_t Hash64(const void* data, size_t len, uint64_t seed) {
  if (len >= kDispatchMinBytes) return XXH3_64bits_withSeed_dispatch(data, len, seed);
  return XXH3_64bits_withSeed(data, len, seed);
}

uint64_t Hash64(std::string_view data, uint64_t seed) {
  return Hash64(data.data(), data.size(), seed);
}

void RandomBytes(void* out, size_t len) {
  auto* p = static_cast<unsigned char*>(out);
  while (len > 0) {
    ssize_t n = getrandom(p, len, 0);
    if (n <= 0) {
      // getrandom cannot fail for small requests on Linux >= 3.17; fall back regardless.
      std::random_device rd;
      for (; len > 0; --len) *p++ = static_cast<unsigned char>(rd());
      return;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
}

uint64_t RandomU64() {
  uint64_t v;
  RandomBytes(&v, sizeof(v));
  return v;
}

}  // namespace loci
