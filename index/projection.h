// Projection: the leading principal directions of a partition's residuals, learned once from
// the sample the partition is first clustered from (design.md §6).
//
// Embeddings spread their variance unevenly: on Fashion-MNIST the top 128 of 784 principal
// components of the residuals from the list centroids hold about 0.8 of it. Pages keep, beside
// each vector's INT8 code, a 4-bit code of its residual projected on these `width` directions
// (width / 2 bytes, against 392 for the hi plane at 784 dimensions). The scan ranks by that
// prefix and refines the best candidates to the exact INT8 distance. The prefix estimates
// q.r by (W q).(W r): exact on the principal subspace, blind to the rest, whose share of the
// variance the energy threshold bounds.
//
// Immutable once learned; any number of threads may call ApplyQuantized.

#ifndef LOCI_INDEX_PROJECTION_H_
#define LOCI_INDEX_PROJECTION_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "index/kernels.h"
#include "index/quantizer.h"

namespace loci::index {

struct ProjectionOptions {
  // Widths are multiples of this (one 64-dimension unit of the 4-bit plane layout).
  uint32_t granule = 64;
  // Widest prefix worth having, and at most this fraction of the dimensions: past it the
  // prefix saves too little of the scan.
  uint32_t max_width = 256;
  uint32_t max_width_divisor = 3;
  // The prefix must hold at least this fraction of the sample's variance, or the data are too
  // isotropic to rank by a prefix.
  double energy = 0.7;
  uint64_t seed = 0x50726f6a;
};

class Projection {
 public:
  // Learns from `n` rows of `dim` floats (residuals: their mean should be about zero), the
  // even rows to find the directions and the odd ones to measure the variance they hold.
  // Returns nullptr when no allowed width holds options.energy of the odd rows' variance.
  // Deterministic for the same input; costs O(n * dim^2) time and O(dim^2) memory.
  static std::unique_ptr<Projection> Learn(const float* rows, size_t n, uint32_t dim,
                                           const ProjectionOptions& options);

  // A projection onto `directions` (width rows of dim floats, orthonormal: an index snapshot's
  // copy of a learned one) that held `energy` of its sample's variance.
  // REQUIRES: directions.size() == width * dim.
  static std::unique_ptr<Projection> FromDirections(uint32_t dim, uint32_t width,
                                                    std::vector<float> directions, double energy);

  uint32_t dim() const { return dim_; }
  // The directions, width rows of dim floats.
  const std::vector<float>& directions() const { return directions_; }
  // Directions kept: a multiple of options.granule.
  uint32_t width() const { return width_; }
  // Fraction of the sample's variance they hold.
  double energy() const { return energy_; }

  // out[0, width) <- W x, the coordinates of x on the principal directions, from x's INT8
  // codes, offset to unsigned (code + 128, CodeStride(dim) of them, x ~ scale * code), against
  // INT8 copies of the directions: a quarter of the bytes of FP32 and a fraction of the time,
  // with an error far below the 4-bit prefix codes' own. Searches project their query this
  // way, inserts their residual.
  void ApplyQuantized(const Kernels& kernels, const uint8_t* codes, float scale, float* out) const;

  // Memory held.
  size_t bytes() const { return directions_.size() * sizeof(float) + codes_.size(); }
  // Bytes ApplyQuantized reads.
  size_t quantized_bytes() const { return codes_.size(); }

 private:
  Projection(uint32_t dim, uint32_t width) : dim_(dim), width_(width) {}
  // Fills codes_ and encoded_ from directions_.
  void EncodeDirections();

  const uint32_t dim_;
  const uint32_t width_;
  double energy_ = 0;
  std::vector<float> directions_;  // width rows of dim floats, orthonormal
  AlignedVector<int8_t> codes_;    // the rows in INT8, CodeStride(dim) bytes each
  std::vector<EncodedVector> encoded_;
};

// Encodes y[0, n) (n a multiple of 64) as symmetric 4-bit codes v in [-7, 7], stored as v + 8
// in the nibble layout of quantizer.h's SplitNibbles (n / 2 bytes at plane), and returns the
// scale: y[i] ~ scale * v[i]. All-zero input encodes as zeros with scale 0.
float EncodePrefix(const float* y, size_t n, uint8_t* plane);

}  // namespace loci::index

#endif  // LOCI_INDEX_PROJECTION_H_
