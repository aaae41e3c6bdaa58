// FAISS (Debian libfaiss-dev, static library) as VectorSystems: IVF-Flat and IVF-SQ8 sweeping
// nprobe, HNSW32 (IndexHNSWFlat, M=32) sweeping efSearch. Everything runs on one thread:
// OpenMP and OpenBLAS are capped at one before the build. Cosine = inner product on
// normalised vectors.

#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <faiss/utils/utils.h>
#include <omp.h>

#include <cmath>
#include <exception>
#include <filesystem>

#include "tools/bench/bench_util.h"
#include "tools/bench/vector_system.h"

// OpenBLAS keeps its own thread pool (used by k-means training); present only when libblas is
// OpenBLAS, hence weak.
extern "C" void openblas_set_num_threads(int n) __attribute__((weak));

namespace loci::bench {

namespace {

using idx_t = faiss::Index::idx_t;

constexpr int kHnswM = 32;

void UseOneThread() {
  omp_set_num_threads(1);
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(1);
}

// 4 * sqrt(n) rounded to the nearest power of two (in log scale), at least 1.
uint32_t DefaultNlist(size_t n) {
  const double target = 4.0 * std::sqrt(static_cast<double>(n));
  const int exp = std::max(0, static_cast<int>(std::lround(std::log2(std::max(target, 1.0)))));
  return 1u << std::min(exp, 20);
}

class FaissSystem final : public VectorSystem {
 public:
  FaissSystem(FaissKind kind, uint32_t nlist) : kind_(kind), nlist_(nlist) {}

  const char* name() const override {
    switch (kind_) {
      case FaissKind::kIvfFlat:
        return "faiss-ivf-flat";
      case FaissKind::kIvfSq8:
        return "faiss-ivf-sq8";
      case FaissKind::kHnsw32:
        return "faiss-hnsw32";
    }
    return "faiss";
  }

  std::string Describe() const override {
    std::string what;
    switch (kind_) {
      case FaissKind::kIvfFlat:
        what = "IVF<nlist>,Flat (index_factory), build = train on the base + add";
        break;
      case FaissKind::kIvfSq8:
        what = "IVF<nlist>,SQ8 (index_factory), build = train on the base + add";
        break;
      case FaissKind::kHnsw32:
        what = "IndexHNSWFlat M=32, efConstruction=40 (FAISS default), build = add";
        break;
    }
    return std::string(name()) + ": FAISS " + what +
           ", one thread; library compile options: " + faiss::get_compile_options() +
           " (Debian's build; GENERIC = no AVX2 kernels); RAM = codes + ids + centroids or "
           "graph, counted from the index; disk = write_index file";
  }

  Status Build(const VectorDataset& data, const std::string& work_dir, BuildInfo* info) override {
    data_ = &data;
    UseOneThread();
    const VectorSet& base = *data.base;
    const int d = static_cast<int>(base.dim);
    const faiss::MetricType metric =
        data.metric == Metric::kL2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
    try {
      if (kind_ == FaissKind::kHnsw32) {
        auto hnsw = std::make_unique<faiss::IndexHNSWFlat>(d, kHnswM, metric);
        hnsw_ = hnsw.get();
        index_ = std::move(hnsw);
      } else {
        const uint32_t nlist = nlist_ > 0 ? nlist_ : DefaultNlist(base.n);
        const std::string spec =
            "IVF" + std::to_string(nlist) + (kind_ == FaissKind::kIvfFlat ? ",Flat" : ",SQ8");
        index_.reset(faiss::index_factory(d, spec.c_str(), metric));
        ivf_ = dynamic_cast<faiss::IndexIVF*>(index_.get());
        if (ivf_ == nullptr) return Status::InvalidArgument(spec + " did not make an IndexIVF");
        info->extra.emplace_back("nlist", nlist);
        info->notes = spec;
      }
      const idx_t n = static_cast<idx_t>(base.n);
      const uint64_t start = NowNanos();
      if (!index_->is_trained) index_->train(n, base.values.data());
      const uint64_t trained = NowNanos();
      index_->add(n, base.values.data());
      const uint64_t end = NowNanos();
      info->seconds = static_cast<double>(end - start) / 1e9;
      if (ivf_ != nullptr) {
        info->extra.emplace_back("train_seconds", static_cast<double>(trained - start) / 1e9);
      }
      info->ram_bytes = RamBytes();

      const std::string file = work_dir + "/faiss.index";
      faiss::write_index(index_.get(), file.c_str());
      std::error_code ec;
      const uintmax_t size = std::filesystem::file_size(file, ec);
      if (!ec) info->disk_bytes = static_cast<double>(size);
    } catch (const std::exception& e) {
      return Status::IOError(std::string(name()) + ": " + e.what());
    }
    return Status::OK();
  }

  std::vector<SweepPoint> Sweep() const override {
    std::vector<SweepPoint> points;
    if (kind_ == FaissKind::kHnsw32) {
      for (uint32_t ef : {16, 32, 64, 128, 256}) {
        points.push_back({"efSearch=" + std::to_string(ef), ef, 0});
      }
    } else {
      for (uint32_t p : {1, 2, 4, 8, 16, 32, 64}) {
        points.push_back({"nprobe=" + std::to_string(p), p, 0});
      }
    }
    return points;
  }

  Status SetParam(const SweepPoint& point) override {
    if (hnsw_ != nullptr) hnsw_->hnsw.efSearch = static_cast<int>(point.a);
    if (ivf_ != nullptr) ivf_->nprobe = point.a;
    return Status::OK();
  }

  Status Search(size_t qi, uint32_t k, std::vector<int64_t>* ids) override {
    distances_.resize(k);
    labels_.resize(k);
    try {
      index_->search(1, data_->queries->row(qi), k, distances_.data(), labels_.data());
    } catch (const std::exception& e) {
      return Status::IOError(std::string(name()) + ": " + e.what());
    }
    ids->clear();
    for (idx_t label : labels_) {
      if (label < 0) break;  // fewer than k found
      ids->push_back(label);
    }
    return Status::OK();
  }

  void ResetScanCounter() override {
    faiss::indexIVF_stats.reset();
    faiss::hnsw_stats.reset();
  }

  std::optional<double> ScannedBytes() const override {
    const double dim_bytes = static_cast<double>(data_->dim()) * sizeof(float);
    if (ivf_ != nullptr) {
      // Codes of the probed lists, plus the coarse quantizer's scan of every centroid.
      const faiss::IndexIVFStats& s = faiss::indexIVF_stats;
      if (s.nq == 0) return std::nullopt;
      return static_cast<double>(s.ndis) * static_cast<double>(ivf_->code_size) +
             static_cast<double>(s.nq) * static_cast<double>(ivf_->nlist) * dim_bytes;
    }
    if (faiss::hnsw_stats.ndis == 0) return std::nullopt;  // this build does not count
    return static_cast<double>(faiss::hnsw_stats.ndis) * dim_bytes;
  }

 private:
  double RamBytes() const {
    if (ivf_ != nullptr) {
      double bytes = static_cast<double>(ivf_->nlist) * data_->dim() * sizeof(float);
      for (size_t l = 0; l < ivf_->nlist; ++l) {
        bytes += static_cast<double>(ivf_->invlists->list_size(l)) *
                 static_cast<double>(ivf_->code_size + sizeof(idx_t));
      }
      return bytes;
    }
    const faiss::HNSW& g = hnsw_->hnsw;
    return static_cast<double>(index_->ntotal) * data_->dim() * sizeof(float) +
           static_cast<double>(g.neighbors.size()) * sizeof(faiss::HNSW::storage_idx_t) +
           static_cast<double>(g.offsets.size()) * sizeof(size_t) +
           static_cast<double>(g.levels.size()) * sizeof(int);
  }

  const FaissKind kind_;
  const uint32_t nlist_;
  const VectorDataset* data_ = nullptr;
  std::unique_ptr<faiss::Index> index_;
  faiss::IndexIVF* ivf_ = nullptr;
  faiss::IndexHNSWFlat* hnsw_ = nullptr;
  std::vector<float> distances_;
  std::vector<idx_t> labels_;
};

}  // namespace

std::unique_ptr<VectorSystem> NewFaissSystem(FaissKind kind, uint32_t nlist) {
  return std::make_unique<FaissSystem>(kind, nlist);
}

}  // namespace loci::bench
