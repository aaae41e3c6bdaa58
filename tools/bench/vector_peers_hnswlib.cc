// hnswlib (Debian libhnswlib-dev, header-only) as a VectorSystem: HNSW with M=16,
// efConstruction=200, L2 or inner product (cosine = inner product on normalised vectors),
// sweeping ef. This file alone is compiled with -O3 -march=native (see CMakeLists.txt): hnswlib
// picks its SIMD distance code from the compiler's target macros, so without them it would be
// measured with SSE only.

#include <hnswlib/hnswlib.h>

#include <exception>
#include <filesystem>

#include "tools/bench/bench_util.h"
#include "tools/bench/vector_system.h"

namespace loci::bench {

namespace {

constexpr size_t kM = 16;
constexpr size_t kEfConstruction = 200;

class HnswlibSystem final : public VectorSystem {
 public:
  const char* name() const override { return "hnswlib"; }

  std::string Describe() const override {
    std::string isa = "SSE";
#if defined(__AVX512F__)
    isa = "AVX-512";
#elif defined(__AVX__)
    isa = "AVX";
#endif
    return "hnswlib: HierarchicalNSW<float> M=16 efConstruction=200, " + isa +
           " distances (-O3 -march=native), addPoint one at a time; cosine = InnerProductSpace "
           "on normalised vectors; RAM = level-0 block (links + vector + label) + upper-level "
           "links, disk = saveIndex file; bytes scanned estimated from hnswlib's own counters "
           "(neighbours listed x vector bytes, an upper bound: visited ones are not re-read)";
  }

  Status Build(const VectorDataset& data, const std::string& work_dir, BuildInfo* info) override {
    data_ = &data;
    try {
      if (data.metric == Metric::kL2) {
        space_ = std::make_unique<hnswlib::L2Space>(data.dim());
      } else {
        space_ = std::make_unique<hnswlib::InnerProductSpace>(data.dim());
      }
      const VectorSet& base = *data.base;
      index_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), base.n, kM,
                                                                 kEfConstruction);
      const uint64_t start = NowNanos();
      for (size_t i = 0; i < base.n; ++i) index_->addPoint(base.row(i), i);
      info->seconds = static_cast<double>(NowNanos() - start) / 1e9;

      double upper_links = 0;
      for (size_t i = 0; i < index_->cur_element_count; ++i) {
        upper_links += static_cast<double>(index_->element_levels_[i]) *
                       static_cast<double>(index_->size_links_per_element_);
      }
      const double level0 = static_cast<double>(index_->cur_element_count) *
                            static_cast<double>(index_->size_data_per_element_);
      info->ram_bytes = level0 + upper_links;
      // Per-element bookkeeping hnswlib also allocates: a lock, the level, the upper-link pointer.
      const double overhead = sizeof(std::mutex) + sizeof(int) + sizeof(char*);
      info->extra.emplace_back("ram_bookkeeping_bytes_per_vector", overhead);

      const std::string file = work_dir + "/hnswlib.bin";
      index_->saveIndex(file);
      std::error_code ec;
      const uintmax_t size = std::filesystem::file_size(file, ec);
      if (!ec) info->disk_bytes = static_cast<double>(size);
    } catch (const std::exception& e) {
      return Status::IOError(std::string("hnswlib: ") + e.what());
    }
    return Status::OK();
  }

  std::vector<SweepPoint> Sweep() const override {
    std::vector<SweepPoint> points;
    for (uint32_t ef : {10, 16, 24, 32, 48, 64, 96, 128, 256}) {
      points.push_back({"ef=" + std::to_string(ef), ef, 0});
    }
    return points;
  }

  Status SetParam(const SweepPoint& point) override {
    index_->setEf(point.a);
    return Status::OK();
  }

  Status Search(size_t qi, uint32_t k, std::vector<int64_t>* ids) override {
    try {
      auto result = index_->searchKnn(data_->queries->row(qi), k);
      // The queue pops the farthest first.
      ids->resize(result.size());
      for (size_t i = result.size(); i-- > 0;) {
        (*ids)[i] = static_cast<int64_t>(result.top().second);
        result.pop();
      }
    } catch (const std::exception& e) {
      return Status::IOError(std::string("hnswlib: ") + e.what());
    }
    return Status::OK();
  }

  void ResetScanCounter() override {
    index_->metric_distance_computations = 0;
    index_->metric_hops = 0;
  }

  std::optional<double> ScannedBytes() const override {
    // Every hop reads one neighbour list; every listed neighbour is a vector read at most.
    return static_cast<double>(index_->metric_distance_computations.load()) *
               static_cast<double>(index_->data_size_) +
           static_cast<double>(index_->metric_hops.load()) *
               static_cast<double>(index_->size_links_level0_);
  }

 private:
  const VectorDataset* data_ = nullptr;
  std::unique_ptr<hnswlib::SpaceInterface<float>> space_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index_;
};

}  // namespace

std::unique_ptr<VectorSystem> NewHnswlibSystem() { return std::make_unique<HnswlibSystem>(); }

}  // namespace loci::bench

// The filtered peer of `loci-bench filtered` (see there why it is compiled here).
#include "tools/bench/filtered_hnswlib.inc"
