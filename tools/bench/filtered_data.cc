#include "tools/bench/filtered_data.h"

#include <algorithm>
#include <cmath>

#include "tools/bench/bench_util.h"

namespace loci::bench {

namespace {

// Norm of a cube's noise relative to its (unit) centre: members of one cluster then have
// cosine about 0.5 with each other, unrelated vectors about 0.
constexpr double kNoiseNorm = 1.0;
// Streams of the Rng seeds, so that no two uses share one.
constexpr uint64_t kCentreStream = 1ull << 60;
constexpr uint64_t kQueryStream = 2ull << 60;

uint64_t Mix(uint64_t a, uint64_t b) {
  return a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E5ull);
}

// A standard normal draw (Box-Muller, one of the pair).
double Gaussian(Rng* rng) {
  const double u1 = (static_cast<double>(rng->Next() >> 11) + 1.0) * 0x1.0p-53;
  const double u2 = static_cast<double>(rng->Next() >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

void Normalise(float* v, uint32_t dim) {
  double norm = 0;
  for (uint32_t k = 0; k < dim; ++k) norm += double{v[k]} * v[k];
  const double inv = 1.0 / std::sqrt(norm);
  for (uint32_t k = 0; k < dim; ++k) v[k] = static_cast<float>(v[k] * inv);
}

}  // namespace

FilteredCorpus::FilteredCorpus(uint64_t seed, uint32_t cubes, uint32_t dim, uint32_t spaces)
    : seed_(seed), cubes_(cubes), dim_(dim), spaces_(spaces) {
  centres_.resize(size_t{kClusters} * dim);
  Rng centre_rng(Mix(seed, kCentreStream));
  for (uint32_t c = 0; c < kClusters; ++c) {
    float* centre = &centres_[size_t{c} * dim];
    for (uint32_t k = 0; k < dim; ++k) centre[k] = static_cast<float>(Gaussian(&centre_rng));
    Normalise(centre, dim);
  }
  noise_scale_.resize(dim);
  double total = 0;
  for (uint32_t k = 0; k < dim; ++k) {
    noise_scale_[k] = static_cast<float>(std::exp(-3.0 * k / dim));
    total += double{noise_scale_[k]} * noise_scale_[k];
  }
  for (float& s : noise_scale_) s = static_cast<float>(s * kNoiseNorm / std::sqrt(total));

  Rng rng(seed);
  cluster_.resize(cubes);
  edge_begin_.reserve(size_t{cubes} + 1);
  for (uint32_t i = 0; i < cubes; ++i) {
    cluster_[i] = static_cast<uint8_t>(rng.Uniform(kClusters));
    edge_begin_.push_back(edges_.size());
    const uint32_t s = SpaceOf(i);
    const uint32_t j = EventOf(i);
    if (j % kEpisodeEvents != 0) edges_.push_back({CubeOf(s, j - 1), i, EdgeType::kNext});
    if (j == 0) continue;
    const uint32_t refs = j == 1 ? 1 : 1 + static_cast<uint32_t>(rng.Uniform(2));
    const uint32_t first = static_cast<uint32_t>(rng.Uniform(j));
    edges_.push_back({i, CubeOf(s, first), EdgeType::kRefers});
    if (refs == 2) {
      uint32_t second = static_cast<uint32_t>(rng.Uniform(j - 1));
      if (second >= first) ++second;
      edges_.push_back({i, CubeOf(s, second), EdgeType::kRefers});
    }
  }
  edge_begin_.push_back(edges_.size());
}

Timestamp FilteredCorpus::ValidFrom(uint32_t i) const {
  const uint32_t j = EventOf(i);
  // Spaces start an hour apart, so that their windows differ.
  return kStart + SpaceOf(i) * 60 * kMinute + (j / kEpisodeEvents) * kDay +
         (j % kEpisodeEvents) * kMinute;
}

void FilteredCorpus::Sample(uint64_t stream, uint32_t cluster, float* out) const {
  Rng rng(Mix(seed_, stream));
  const float* centre = &centres_[size_t{cluster} * dim_];
  for (uint32_t k = 0; k < dim_; ++k) {
    out[k] = centre[k] + noise_scale_[k] * static_cast<float>(Gaussian(&rng));
  }
  Normalise(out, dim_);
}

void FilteredCorpus::Vector(uint32_t i, float* out) const { Sample(i, cluster_[i], out); }

std::vector<FilteredQuery> FilteredCorpus::Queries(uint64_t seed, uint32_t count) const {
  Rng rng(Mix(seed, kQueryStream));
  std::vector<FilteredQuery> queries(count);
  for (uint32_t q = 0; q < count; ++q) {
    FilteredQuery& query = queries[q];
    const uint32_t cluster = static_cast<uint32_t>(rng.Uniform(kClusters));
    query.vector.resize(dim_);
    Sample(Mix(seed, kQueryStream + q), cluster, query.vector.data());
    query.topic = cluster % kTopics;
    query.space = static_cast<uint32_t>(rng.Uniform(std::min(spaces_, cubes_)));
    const Timestamp first = FirstTime(query.space);
    const Timestamp span = LastTime(query.space) - first;
    const Timestamp length = std::max<Timestamp>(span / 3, 1);
    const Timestamp slack = std::max<Timestamp>(span - length, 0);
    query.window_from = first + static_cast<Timestamp>(rng.Uniform(slack + 1));
    query.window_to = query.window_from + length;
  }
  return queries;
}

}  // namespace loci::bench
