// Lloyd's k-means on float vectors (squared Euclidean distance), for the posting lists of a
// clustered partition. Deterministic: the same input and seed give the same centroids.

#ifndef LOCI_INDEX_KMEANS_H_
#define LOCI_INDEX_KMEANS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "index/kernels.h"

namespace loci::index {

struct KMeansResult {
  std::vector<float> centroids;      // k rows of dim
  std::vector<uint32_t> assignment;  // per point, its nearest centroid
};

// Clusters `n` points (rows of `dim` floats in `points`) into `k` clusters, 1 <= k <= n.
// Centroids start at k distinct points drawn with `seed`; an emptied cluster is re-seeded with
// the point farthest from its centroid. Clusters may still end empty when points repeat (a
// re-seeded centroid ties with another): callers must cope with empty clusters.
KMeansResult KMeans(const float* points, size_t n, size_t dim, size_t k, int iterations,
                    uint64_t seed, const Kernels& kernels);

}  // namespace loci::index

#endif  // LOCI_INDEX_KMEANS_H_
