// Readers for the vector-benchmark files of `loci-bench vector`: TEXMEX .fvecs / .bvecs / .ivecs
// and IDX image files (Fashion-MNIST), each optionally gzip'd. Every reader validates what it
// reads (magic, dimensions, truncation) and reports a problem as a Status naming the file and
// the offending record; no input can crash it.

#ifndef LOCI_TOOLS_BENCH_VECTOR_DATA_H_
#define LOCI_TOOLS_BENCH_VECTOR_DATA_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "loci/status.h"

namespace loci::bench {

// n row vectors of `dim` floats, stored row after row.
struct VectorSet {
  size_t n = 0;
  uint32_t dim = 0;
  std::vector<float> values;  // n * dim
  std::string format;         // "fvecs", "bvecs", "idx-u8"...: what the file held

  const float* row(size_t i) const { return values.data() + i * dim; }
};

// Ground truth: `rows` lists of `cols` neighbour ids (0-based base indices, nearest first).
struct NeighborTable {
  size_t rows = 0;
  uint32_t cols = 0;
  std::vector<int32_t> ids;  // rows * cols

  const int32_t* row(size_t i) const { return ids.data() + i * cols; }
};

// Reads a .fvecs or .bvecs file (the values become floats) or an IDX file (magic 0x08xx for
// uint8, 0x0Dxx for float32; the first dimension counts vectors, the others make up one vector).
// The format is chosen by the name, ignoring a trailing ".gz": *.fvecs, *.bvecs, and names
// containing "idx" (train-images-idx3-ubyte). Reads at most `limit` vectors when limit > 0.
Status LoadVectors(const std::string& path, size_t limit, VectorSet* out);

// Reads an .ivecs file (optionally gzip'd) of neighbour lists.
Status LoadNeighbors(const std::string& path, NeighborTable* out);

// Scales every row of `set` to unit L2 norm (an all-zero row stays zero).
void NormalizeRows(VectorSet* set);

}  // namespace loci::bench

#endif  // LOCI_TOOLS_BENCH_VECTOR_DATA_H_
