// Projection: principal directions by randomized subspace iteration (Eigen), and the 4-bit
// prefix codes.

#include "index/projection.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <random>

namespace loci::index {

namespace {

using Matrix = Eigen::MatrixXf;

// An orthonormal basis of y's column space.
Matrix Orthonormal(const Matrix& y) {
  Eigen::HouseholderQR<Matrix> qr(y);
  return qr.householderQ() * Matrix::Identity(y.rows(), y.cols());
}

}  // namespace

std::unique_ptr<Projection> Projection::Learn(const float* rows, size_t n, uint32_t dim,
                                              const ProjectionOptions& options) {
  const uint32_t granule = std::max<uint32_t>(1, options.granule);
  const uint32_t limit =
      std::min(options.max_width, dim / std::max<uint32_t>(1, options.max_width_divisor)) /
      granule * granule;
  if (n < 2 || limit == 0) return nullptr;

  // Directions are learned from the even rows and judged by the variance they hold of the odd
  // ones: in-sample, the top eigenvalues of a sample covariance overstate it (isotropic noise
  // in 300 dimensions, 128 rows: the top 64 of 300 directions "hold" over 0.75 of it).
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Rows = Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>;
  const Rows learn(rows, static_cast<Eigen::Index>((n + 1) / 2), dim,
                   Eigen::OuterStride<>(2 * Eigen::Index{dim}));
  const Rows judge(rows + dim, static_cast<Eigen::Index>(n / 2), dim,
                   Eigen::OuterStride<>(2 * Eigen::Index{dim}));
  Matrix second_moment = Matrix::Zero(dim, dim);
  second_moment.selfadjointView<Eigen::Lower>().rankUpdate(learn.transpose(), 1.0f);
  second_moment = second_moment.selfadjointView<Eigen::Lower>();
  const double total = judge.squaredNorm();
  if (!(total > 0) || !(second_moment.trace() > 0)) return nullptr;

  // The top eigenvectors by randomized subspace iteration (Halko, Martinsson and Tropp 2011):
  // a few multiplications of a random block by the matrix, then the exact eigenproblem of the
  // matrix restricted to that block. A full eigensolver costs seconds at 1,536 dimensions.
  const Eigen::Index block_width = std::min<Eigen::Index>(dim, limit + 16);
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<float> normal;
  Matrix block(dim, block_width);
  for (Eigen::Index j = 0; j < block_width; ++j) {
    for (Eigen::Index i = 0; i < dim; ++i) block(i, j) = normal(rng);
  }
  for (int iteration = 0; iteration < 3; ++iteration) block = Orthonormal(second_moment * block);
  const Matrix restricted = block.transpose() * second_moment * block;
  Eigen::SelfAdjointEigenSolver<Matrix> eigen(restricted);  // eigenvalues ascending
  if (eigen.info() != Eigen::Success) return nullptr;

  // Columns of `principal` are the directions, strongest last (the solver's order); the
  // held-out rows' coordinates on them give the variance each prefix holds. The narrowest
  // allowed width that holds enough of it wins.
  const Matrix principal = block * eigen.eigenvectors().rightCols(limit);
  const Eigen::VectorXf held_by = (judge * principal).colwise().squaredNorm().transpose();
  uint32_t width = 0;
  double held = 0;
  for (uint32_t p = 1; p <= limit; ++p) {
    held += held_by(limit - p);
    if (p % granule == 0 && held >= options.energy * total) {
      width = p;
      break;
    }
  }
  if (width == 0) return nullptr;

  std::unique_ptr<Projection> p(new Projection(dim, width));
  p->energy_ = held / total;
  p->directions_.resize(size_t{width} * dim);
  for (uint32_t r = 0; r < width; ++r) {
    const Eigen::Index column = limit - 1 - r;
    for (uint32_t i = 0; i < dim; ++i) p->directions_[size_t{r} * dim + i] = principal(i, column);
  }
  p->EncodeDirections();
  return p;
}

std::unique_ptr<Projection> Projection::FromDirections(uint32_t dim, uint32_t width,
                                                       std::vector<float> directions,
                                                       double energy) {
  std::unique_ptr<Projection> p(new Projection(dim, width));
  p->energy_ = energy;
  p->directions_ = std::move(directions);
  p->EncodeDirections();
  return p;
}

void Projection::EncodeDirections() {
  const size_t stride = CodeStride(dim_);
  codes_.assign(width_ * stride, 0);
  encoded_.clear();
  for (uint32_t r = 0; r < width_; ++r) {
    encoded_.push_back(
        EncodeResidual(&directions_[size_t{r} * dim_], nullptr, dim_, stride, &codes_[r * stride]));
  }
}

void Projection::ApplyQuantized(const Kernels& kernels, const uint8_t* codes, float scale,
                                float* out) const {
  const size_t stride = CodeStride(dim_);
  std::vector<int32_t> dots(width_);
  kernels.dot_u8s8_batch(codes, codes_.data(), stride, stride, width_, dots.data());
  for (uint32_t r = 0; r < width_; ++r) {
    out[r] = scale * encoded_[r].scale * static_cast<float>(dots[r] - 128 * encoded_[r].sum);
  }
}

float EncodePrefix(const float* y, size_t n, uint8_t* plane) {
  float max_abs = 0;
  for (size_t i = 0; i < n; ++i) max_abs = std::max(max_abs, std::fabs(y[i]));
  float scale = max_abs / 7.0f;
  float inv = 7.0f / max_abs;
  // Zero, or too small or too large to scale without converting inf to int: all codes zero.
  if (max_abs == 0 || !std::isfinite(max_abs) || !std::isfinite(inv)) scale = inv = 0;
  auto code = [&](float v) {
    const int c = static_cast<int>(std::lrint(v * inv));
    return static_cast<uint8_t>(std::clamp(c, -7, 7) + 8);
  };
  for (size_t unit = 0; unit < n / 64; ++unit) {
    for (size_t j = 0; j < 32; ++j) {
      plane[32 * unit + j] =
          static_cast<uint8_t>(code(y[64 * unit + j]) | (code(y[64 * unit + 32 + j]) << 4));
    }
  }
  return scale;
}

}  // namespace loci::index
