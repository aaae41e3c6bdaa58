// k-means: random distinct seeds, Lloyd iterations, empty clusters re-seeded.

#include "index/kmeans.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>

namespace loci::index {

KMeansResult KMeans(const float* points, size_t n, size_t dim, size_t k, int iterations,
                    uint64_t seed, const Kernels& kernels) {
  KMeansResult r;
  r.centroids.resize(k * dim);
  r.assignment.assign(n, 0);
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  // A partial Fisher-Yates shuffle picks k distinct starting points.
  for (size_t i = 0; i < k; ++i) {
    std::uniform_int_distribution<size_t> pick(i, n - 1);
    std::swap(order[i], order[pick(rng)]);
    std::memcpy(&r.centroids[i * dim], points + size_t{order[i]} * dim, dim * sizeof(float));
  }
  std::vector<float> best_dist(n);
  std::vector<double> sums(k * dim);
  std::vector<uint32_t> counts(k);
  for (int it = 0; it <= iterations; ++it) {
    // Assign.
    for (size_t p = 0; p < n; ++p) {
      const float* x = points + p * dim;
      float best = std::numeric_limits<float>::max();
      uint32_t arg = 0;
      for (size_t c = 0; c < k; ++c) {
        const float d = kernels.l2sq_f32(x, &r.centroids[c * dim], dim);
        if (d < best) {
          best = d;
          arg = static_cast<uint32_t>(c);
        }
      }
      r.assignment[p] = arg;
      best_dist[p] = best;
    }
    if (it == iterations) break;
    // Update.
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(counts.begin(), counts.end(), 0u);
    for (size_t p = 0; p < n; ++p) {
      const uint32_t c = r.assignment[p];
      ++counts[c];
      const float* x = points + p * dim;
      double* s = &sums[c * dim];
      for (size_t i = 0; i < dim; ++i) s[i] += x[i];
    }
    for (size_t c = 0; c < k; ++c) {
      if (counts[c] == 0) {
        // Re-seed with the point farthest from its centroid, and take it out of its cluster's
        // running so it is not chosen twice.
        const size_t far = static_cast<size_t>(
            std::max_element(best_dist.begin(), best_dist.end()) - best_dist.begin());
        std::memcpy(&r.centroids[c * dim], points + far * dim, dim * sizeof(float));
        best_dist[far] = 0;
        continue;
      }
      const double inv = 1.0 / counts[c];
      for (size_t i = 0; i < dim; ++i)
        r.centroids[c * dim + i] = static_cast<float>(sums[c * dim + i] * inv);
    }
  }
  return r;
}

}  // namespace loci::index
