// Selection of the k smallest of scored candidates (usually a few hundred), for the scan's
// buffers.
//
// std::nth_element over the candidates themselves mispredicted about one branch per comparison
// and moved 24-byte records: it took ~16% of a Fashion-MNIST query. Here the scores live in a
// separate array of order-preserving integer keys; a few counting passes over it (branch-free
// and vectorized) find a threshold, and one pass compacts keys and items together.

#ifndef LOCI_INDEX_BEST_K_H_
#define LOCI_INDEX_BEST_K_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace loci::index {

// The int32 whose signed order is float f's order (-0 below +0), with every NaN last: a NaN
// distance is never among the best.
inline int32_t OrderedKey(float f) {
  if (std::isnan(f)) return INT32_MAX;
  int32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits < 0 ? bits ^ 0x7fffffff : bits;
}

// The float of an OrderedKey.
inline float FromOrderedKey(int32_t key) {
  const int32_t bits = key < 0 ? key ^ 0x7fffffff : key;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Number of keys[0, n) that are <= t.
size_t CountAtMost(const int32_t* keys, size_t n, int32_t t);

// Where the best k of keys[0, n) end (0 < k < n): a threshold t with count(keys <= t) >= k, which
// the search stops refining once that count is at most k + slack. If the count is still above
// k + slack, no key lies strictly between `below` and t: exactly count_below keys are <= below
// (count_below < k), and the rest of the best k equal t. When count_below is 0, `below` is
// meaningless (it may have wrapped around from below INT32_MIN).
struct KeyThreshold {
  int32_t t;
  size_t count;        // keys <= t
  int32_t below;       // see above; meaningful when count > k + slack
  size_t count_below;  // keys <= below
};
KeyThreshold FindKeyThreshold(const int32_t* keys, size_t n, size_t k, size_t slack);

// Keeps the best k of the parallel arrays keys/items (by key, smallest first) in their order,
// and up to `slack` more whose keys come next; all of them when there are at most k + slack.
// Returns the largest key kept. REQUIRES: keys->size() == items->size() >= k > 0.
template <typename T>
int32_t KeepBest(std::vector<int32_t>* keys, std::vector<T>* items, size_t k, size_t slack) {
  const size_t n = keys->size();
  int32_t* key = keys->data();
  T* item = items->data();
  if (n <= k + slack) {
    int32_t largest = key[0];
    for (size_t i = 1; i < n; ++i) largest = key[i] > largest ? key[i] : largest;
    return largest;
  }
  const KeyThreshold at = FindKeyThreshold(key, n, k, slack);
  size_t kept = 0;
  int32_t largest = INT32_MIN;  // at least k >= 1 keys are kept
  if (at.count <= k + slack) {
    for (size_t i = 0; i < n; ++i) {
      // Branch-free: whether a key passes is a coin toss for the branch predictor.
      const bool keep = key[i] <= at.t;
      largest = keep && key[i] > largest ? key[i] : largest;
      key[kept] = key[i];
      item[kept] = item[i];
      kept += keep ? 1 : 0;
    }
  } else {
    // Everything <= below, and of the keys equal to t the first ones, up to k in all.
    size_t ties = k - at.count_below;
    largest = at.t;
    for (size_t i = 0; i < n; ++i) {
      const bool tie = key[i] == at.t && ties > 0;
      ties -= tie ? 1 : 0;
      const bool keep = (at.count_below > 0 && key[i] <= at.below) || tie;
      key[kept] = key[i];
      item[kept] = item[i];
      kept += keep ? 1 : 0;
    }
  }
  keys->resize(kept);
  items->resize(kept);
  return largest;
}

}  // namespace loci::index

#endif  // LOCI_INDEX_BEST_K_H_
