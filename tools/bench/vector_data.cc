// The readers of vector_data.h. All input goes through one small reader that decompresses gzip
// transparently (zlib reads a plain file as is), so every format also works gzip'd.

#include "tools/bench/vector_data.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string_view>

#ifdef LOCI_BENCH_HAVE_ZLIB
#include <zlib.h>
#endif

namespace loci::bench {

namespace {

static_assert(std::endian::native == std::endian::little,
              "the xvecs readers assume a little-endian host");

// Bounds that keep a corrupt header from asking for absurd allocations.
constexpr uint32_t kMaxDim = 1u << 20;
constexpr uint64_t kMaxValues = uint64_t{1} << 34;  // 64 GiB of floats

// Sequential reader of a possibly gzip'd file.
class InputFile {
 public:
  InputFile() = default;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile() {
#ifdef LOCI_BENCH_HAVE_ZLIB
    if (gz_ != nullptr) gzclose(gz_);
#else
    if (file_ != nullptr) std::fclose(file_);
#endif
  }

  Status Open(const std::string& path) {
    path_ = path;
#ifdef LOCI_BENCH_HAVE_ZLIB
    gz_ = gzopen(path.c_str(), "rb");
    if (gz_ == nullptr) return Status::IOError(path + ": " + std::strerror(errno));
    gzbuffer(gz_, 1 << 20);
#else
    file_ = std::fopen(path.c_str(), "rb");
    if (file_ == nullptr) return Status::IOError(path + ": " + std::strerror(errno));
    unsigned char magic[2] = {0, 0};
    const size_t got = std::fread(magic, 1, 2, file_);
    if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
      return Status::NotSupported(path +
                                  ": gzip'd, but loci-bench was built without zlib "
                                  "(apt-get install zlib1g-dev, then re-run cmake)");
    }
    std::rewind(file_);
#endif
    return Status::OK();
  }

  // Reads up to `n` bytes into `buf`; *got < n only at the end of the data.
  Status Read(void* buf, size_t n, size_t* got) {
    *got = 0;
    char* p = static_cast<char*>(buf);
    while (*got < n) {
#ifdef LOCI_BENCH_HAVE_ZLIB
      // gzread takes an unsigned and returns an int: read in chunks well below INT_MAX.
      const unsigned want = static_cast<unsigned>(std::min<size_t>(n - *got, 1u << 30));
      const int r = gzread(gz_, p + *got, want);
      if (r < 0) return GzError(*got);
      if (r == 0) {
        // A truncated gzip stream ends without error from gzread but leaves one in gzerror.
        int errnum = Z_OK;
        gzerror(gz_, &errnum);
        if (errnum != Z_OK) return GzError(*got);
        break;
      }
#else
      const size_t r = std::fread(p + *got, 1, n - *got, file_);
      if (r == 0) {
        if (std::ferror(file_)) return Status::IOError(path_ + ": read failed");
        break;
      }
#endif
      *got += static_cast<size_t>(r);
    }
    offset_ += *got;
    return Status::OK();
  }

  // Bytes of (decompressed) data consumed so far.
  uint64_t offset() const { return offset_; }
  const std::string& path() const { return path_; }

 private:
#ifdef LOCI_BENCH_HAVE_ZLIB
  // `got`: bytes the failing Read had delivered.
  Status GzError(size_t got) {
    int errnum = Z_OK;
    const char* msg = gzerror(gz_, &errnum);
    if (errnum == Z_ERRNO) return Status::IOError(path_ + ": " + std::strerror(errno));
    // zlib's message already names the file.
    return Status::Corruption(std::string(msg) + " (truncated or damaged gzip data, after " +
                              std::to_string(offset_ + got) + " decompressed bytes)");
  }
  gzFile gz_ = nullptr;
#else
  FILE* file_ = nullptr;
#endif
  std::string path_;
  uint64_t offset_ = 0;
};

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The file name without directories and without a trailing ".gz".
std::string BaseName(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  if (EndsWith(name, ".gz")) name.resize(name.size() - 3);
  return name;
}

// Reads a TEXMEX xvecs file: records of int32 dim followed by dim values of type T, all with
// the same dim. Calls emit(record, values) per record. Stops after `limit` records if > 0.
template <typename T, typename Emit>
Status ReadXvecs(InputFile* in, size_t limit, uint32_t* dim_out, size_t* n_out, Emit emit) {
  uint32_t dim = 0;
  size_t n = 0;
  std::vector<T> values;
  while (limit == 0 || n < limit) {
    const uint64_t record_offset = in->offset();
    int32_t d = 0;
    size_t got = 0;
    LOCI_RETURN_IF_ERROR(in->Read(&d, sizeof(d), &got));
    if (got == 0) break;  // clean end
    const std::string where = in->path() + ": record " + std::to_string(n) + " (byte " +
                              std::to_string(record_offset) + ")";
    if (got < sizeof(d)) return Status::Corruption(where + ": truncated dimension field");
    if (d <= 0 || static_cast<uint32_t>(d) > kMaxDim) {
      return Status::Corruption(where + ": implausible dimension " + std::to_string(d) +
                                " (wrong format or not an xvecs file?)");
    }
    if (n == 0) {
      dim = static_cast<uint32_t>(d);
    } else if (static_cast<uint32_t>(d) != dim) {
      return Status::Corruption(where + ": dimension " + std::to_string(d) +
                                " differs from the first record's " + std::to_string(dim));
    }
    if (static_cast<uint64_t>(n + 1) * dim > kMaxValues) {
      return Status::InvalidArgument(in->path() + ": too many values");
    }
    values.resize(dim);
    LOCI_RETURN_IF_ERROR(in->Read(values.data(), dim * sizeof(T), &got));
    if (got < dim * sizeof(T)) {
      return Status::Corruption(where + ": truncated, " + std::to_string(got) + " of " +
                                std::to_string(dim * sizeof(T)) + " value bytes present");
    }
    LOCI_RETURN_IF_ERROR(emit(n, values));
    ++n;
  }
  if (n == 0) return Status::Corruption(in->path() + ": no records");
  *dim_out = dim;
  *n_out = n;
  return Status::OK();
}

uint32_t LoadBigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// IDX (LeCun's MNIST format): magic 00 00 <type> <ndims>, ndims big-endian uint32 sizes, then
// the values row-major (multi-byte types big-endian).
Status ReadIdx(InputFile* in, size_t limit, VectorSet* out) {
  const std::string& path = in->path();
  unsigned char magic[4];
  size_t got = 0;
  LOCI_RETURN_IF_ERROR(in->Read(magic, 4, &got));
  if (got < 4) return Status::Corruption(path + ": shorter than an IDX header");
  const unsigned type = magic[2];
  const unsigned ndims = magic[3];
  if (magic[0] != 0 || magic[1] != 0 || (type != 0x08 && type != 0x0D) || ndims == 0) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%02x %02x %02x %02x", magic[0], magic[1], magic[2], magic[3]);
    return Status::Corruption(path + ": bad IDX magic " + buf +
                              " (expected 00 00 08 nd for uint8 or 00 00 0d nd for float32)");
  }
  if (ndims < 2) {
    return Status::InvalidArgument(path +
                                   ": IDX with one dimension holds scalars (a label file?), not "
                                   "vectors");
  }
  unsigned char sizes[4 * 255];
  LOCI_RETURN_IF_ERROR(in->Read(sizes, 4 * ndims, &got));
  if (got < 4 * ndims) return Status::Corruption(path + ": truncated IDX header");
  const uint64_t count = LoadBigEndian32(sizes);
  uint64_t dim = 1;
  for (unsigned i = 1; i < ndims; ++i) {
    dim *= LoadBigEndian32(sizes + 4 * i);
    if (dim == 0 || dim > kMaxDim) {
      return Status::Corruption(path + ": implausible IDX vector size");
    }
  }
  if (count == 0) return Status::Corruption(path + ": IDX header announces no vectors");
  const uint64_t n = limit > 0 ? std::min<uint64_t>(count, limit) : count;
  if (n * dim > kMaxValues) return Status::InvalidArgument(path + ": too many values");
  const size_t elem = type == 0x08 ? 1 : 4;
  std::vector<unsigned char> raw(static_cast<size_t>(n * dim * elem));
  LOCI_RETURN_IF_ERROR(in->Read(raw.data(), raw.size(), &got));
  if (got < raw.size()) {
    return Status::Corruption(path + ": truncated: holds " + std::to_string(got / (dim * elem)) +
                              " of the " + std::to_string(count) + " vectors its header announces");
  }
  if (n == count) {
    unsigned char extra;
    LOCI_RETURN_IF_ERROR(in->Read(&extra, 1, &got));
    if (got != 0) {
      return Status::Corruption(path + ": data continues past the " + std::to_string(count) +
                                " vectors its header announces");
    }
  }
  out->n = static_cast<size_t>(n);
  out->dim = static_cast<uint32_t>(dim);
  out->values.resize(out->n * out->dim);
  if (type == 0x08) {
    for (size_t i = 0; i < raw.size(); ++i) out->values[i] = raw[i];
    out->format = "idx-u8";
  } else {
    for (size_t i = 0; i < out->values.size(); ++i) {
      const uint32_t bits = LoadBigEndian32(raw.data() + 4 * i);
      const float x = std::bit_cast<float>(bits);
      if (!std::isfinite(x)) {
        return Status::Corruption(path + ": vector " + std::to_string(i / dim) +
                                  " holds a NaN or Inf");
      }
      out->values[i] = x;
    }
    out->format = "idx-f32";
  }
  return Status::OK();
}

}  // namespace

Status LoadVectors(const std::string& path, size_t limit, VectorSet* out) {
  *out = VectorSet();
  const std::string name = BaseName(path);
  const bool fvecs = EndsWith(name, ".fvecs");
  const bool bvecs = EndsWith(name, ".bvecs");
  if (!fvecs && !bvecs && name.find("idx") == std::string::npos) {
    return Status::InvalidArgument(path +
                                   ": unknown vector format (expected *.fvecs, *.bvecs or an "
                                   "IDX file such as train-images-idx3-ubyte, optionally .gz)");
  }
  InputFile in;
  LOCI_RETURN_IF_ERROR(in.Open(path));
  if (fvecs) {
    LOCI_RETURN_IF_ERROR(ReadXvecs<float>(
        &in, limit, &out->dim, &out->n, [&](size_t record, const std::vector<float>& v) {
          for (float x : v) {
            if (!std::isfinite(x)) {
              return Status::Corruption(path + ": record " + std::to_string(record) +
                                        " holds a NaN or Inf");
            }
          }
          out->values.insert(out->values.end(), v.begin(), v.end());
          return Status::OK();
        }));
    out->format = "fvecs";
    return Status::OK();
  }
  if (bvecs) {
    LOCI_RETURN_IF_ERROR(ReadXvecs<uint8_t>(
        &in, limit, &out->dim, &out->n, [&](size_t, const std::vector<uint8_t>& v) {
          out->values.insert(out->values.end(), v.begin(), v.end());
          return Status::OK();
        }));
    out->format = "bvecs";
    return Status::OK();
  }
  return ReadIdx(&in, limit, out);
}

Status LoadNeighbors(const std::string& path, NeighborTable* out) {
  *out = NeighborTable();
  if (!EndsWith(BaseName(path), ".ivecs")) {
    return Status::InvalidArgument(path + ": ground truth must be an .ivecs file");
  }
  InputFile in;
  LOCI_RETURN_IF_ERROR(in.Open(path));
  LOCI_RETURN_IF_ERROR(ReadXvecs<int32_t>(&in, 0, &out->cols, &out->rows,
                                          [&](size_t, const std::vector<int32_t>& v) {
                                            out->ids.insert(out->ids.end(), v.begin(), v.end());
                                            return Status::OK();
                                          }));
  return Status::OK();
}

void NormalizeRows(VectorSet* set) {
  for (size_t i = 0; i < set->n; ++i) {
    float* v = set->values.data() + i * set->dim;
    double norm2 = 0;
    for (uint32_t j = 0; j < set->dim; ++j) norm2 += static_cast<double>(v[j]) * v[j];
    if (norm2 == 0) continue;
    const float inv = static_cast<float>(1.0 / std::sqrt(norm2));
    for (uint32_t j = 0; j < set->dim; ++j) v[j] *= inv;
  }
}

}  // namespace loci::bench
