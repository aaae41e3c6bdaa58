// Loci as a VectorSystem, through the public API only: one cube per base vector in space
// "bench", field "v", written in WriteBatches; queries through Db::Search, sweeping probes.

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <unordered_map>

#include "loci/db.h"
#include "tools/bench/bench_util.h"
#include "tools/bench/vector_system.h"

namespace loci::bench {

namespace {

constexpr char kSpace[] = "bench";
constexpr char kField[] = "v";
constexpr size_t kPutsPerBatch = 1000;

// Extra JSON fields from DbStats: vectors held by the index (replicas included) and the
// posting lists of field "v".
void AddIndexShape(const DbStats& stats, BuildInfo* info) {
  info->extra.emplace_back("index_vectors", static_cast<double>(stats.index_vectors));
  for (const VectorFieldInfo& field : stats.vector_fields) {
    if (field.space == kSpace && field.name == kField) {
      info->extra.emplace_back("index_lists", static_cast<double>(field.index_lists));
      info->extra.emplace_back("index_prefix_width", static_cast<double>(field.index_prefix_width));
    }
  }
}

class LociVectorSystem final : public VectorSystem {
 public:
  explicit LociVectorSystem(const std::vector<std::string>& points) {
    for (const std::string& item : points) {
      // std::from_chars, unlike sscanf's %u, refuses a sign ("-1" is not 4294967295).
      unsigned probes = 0, rerank = 0;
      const char* end = item.data() + item.size();
      std::from_chars_result parsed = std::from_chars(item.data(), end, probes);
      const bool has_rerank = parsed.ec == std::errc() && parsed.ptr != end && *parsed.ptr == ':';
      if (has_rerank) parsed = std::from_chars(parsed.ptr + 1, end, rerank);
      if (parsed.ec != std::errc() || parsed.ptr != end || probes == 0 ||
          (has_rerank && rerank == 0)) {
        std::fprintf(stderr, "loci: sweep point \"%s\" is not P or P:R; skipped\n", item.c_str());
        continue;
      }
      sweep_.push_back({"probes=" + std::to_string(probes) +
                            (rerank != 0 ? ",rerank=" + std::to_string(rerank) : ""),
                        probes, rerank, rerank != 0 ? "probes:rerank" : ""});
    }
  }

  const char* name() const override { return "loci"; }

  std::string Describe() const override {
    return "loci: public API; Db::Write of WriteBatches of 1000 puts (sync=false) into space "
           "\"bench\", field \"v\", raw vectors (Loci normalises for cosine itself); build = the "
           "puts (checkpoint timed separately); Db::Search sweeping SearchRequest::probes, "
           "rerank 0 (the default) plus rerank 50/100 at probes 16 and 30 at probes 32; RAM = "
           "DbStats::index_bytes (pages, entries, centroids, projection; the full vectors stay "
           "in the arena file), disk = files in the db directory after the checkpoint (the "
           "index snapshot included)";
  }

  Status Build(const VectorDataset& data, const std::string& work_dir, BuildInfo* info) override {
    Options options;
    options.create_if_missing = true;
    options.error_if_exists = true;
    LOCI_RETURN_IF_ERROR(Db::Open(options, work_dir, &db_));

    const WriteOptions nosync{.sync = false};
    {
      WriteBatch define;
      define.DefineVectorField(kSpace, kField, data.dim(), data.metric);
      LOCI_RETURN_IF_ERROR(db_->Write(nosync, define, nullptr).WithContext("DefineVectorField"));
    }

    const VectorSet& base = *data.raw_base;
    ids_.clear();
    ids_.reserve(base.n);
    const uint64_t start = NowNanos();
    LOCI_RETURN_IF_ERROR(PutAll(base));
    info->seconds = static_cast<double>(NowNanos() - start) / 1e9;
    const double disk_before = static_cast<double>(DirectoryBytes(work_dir));

    const uint64_t checkpoint_start = NowNanos();
    LOCI_RETURN_IF_ERROR(db_->Checkpoint().WithContext("Checkpoint"));
    info->extra.emplace_back("checkpoint_seconds",
                             static_cast<double>(NowNanos() - checkpoint_start) / 1e9);
    info->extra.emplace_back("disk_bytes_per_vector_before_checkpoint",
                             disk_before / static_cast<double>(base.n));
    info->disk_bytes = static_cast<double>(DirectoryBytes(work_dir));
    const DbStats stats = db_->Stats();
    info->ram_bytes = static_cast<double>(stats.index_bytes);
    AddIndexShape(stats, info);

    // Hits come back as cube ids; expected dense 1..N in put order, else map through a table.
    dense_ = true;
    for (size_t i = 0; i < ids_.size(); ++i) {
      if (ids_[i] != ids_[0] + i) {
        dense_ = false;
        break;
      }
    }
    if (!dense_) {
      info->notes = "cube ids not dense: hits mapped through a table";
      for (size_t i = 0; i < ids_.size(); ++i) index_of_[ids_[i]] = static_cast<int64_t>(i);
    } else if (ids_.front() != 1) {
      info->notes = "cube ids start at " + std::to_string(ids_.front());
    }

    // Requests are prepared outside the timed searches, as the peers get a plain pointer.
    const VectorSet& queries = *data.raw_queries;
    requests_.resize(queries.n);
    for (size_t q = 0; q < queries.n; ++q) {
      requests_[q].spaces = {kSpace};
      requests_[q].field = kField;
      requests_[q].query.assign(queries.row(q), queries.row(q) + queries.dim);
    }
    return Status::OK();
  }

  std::vector<SweepPoint> Sweep() const override {
    if (!sweep_.empty()) return sweep_;
    std::vector<SweepPoint> points;
    for (uint32_t p : {1, 2, 4, 6, 8, 9, 10, 12, 16, 24, 32, 40, 48, 64}) {
      points.push_back({"probes=" + std::to_string(p), p, 0});
    }
    for (uint32_t r : {50, 100}) {
      points.push_back({"probes=16,rerank=" + std::to_string(r), 16, r, "probes=16 +rerank"});
    }
    points.push_back({"probes=32,rerank=30", 32, 30, "probes=32 +rerank"});
    return points;
  }

  Status SetParam(const SweepPoint& point) override {
    for (SearchRequest& r : requests_) {
      r.probes = point.a;
      r.rerank = point.b;
    }
    return Status::OK();
  }

  Status Search(size_t qi, uint32_t k, std::vector<int64_t>* ids) override {
    SearchRequest& request = requests_[qi];
    request.k = k;
    LOCI_RETURN_IF_ERROR(db_->Search(request, &hits_));
    ids->clear();
    for (const SearchHit& hit : hits_) ids->push_back(IndexOf(hit.id));
    return Status::OK();
  }

  void ResetScanCounter() override { scanned_at_reset_ = db_->Stats().search_bytes_scanned; }
  std::optional<double> ScannedBytes() const override {
    return static_cast<double>(db_->Stats().search_bytes_scanned - scanned_at_reset_);
  }

 private:
  uint64_t scanned_at_reset_ = 0;
  // Puts every vector of `base` in order, recording the assigned ids in ids_.
  Status PutAll(const VectorSet& base) {
    const WriteOptions nosync{.sync = false};
    WriteBatch batch;
    WriteResult result;
    CubeDraft draft;
    draft.space = kSpace;
    draft.vectors.resize(1);
    draft.vectors[0].field = kField;
    for (size_t first = 0; first < base.n; first += kPutsPerBatch) {
      const size_t end = std::min(base.n, first + kPutsPerBatch);
      batch.Clear();
      for (size_t i = first; i < end; ++i) {
        draft.vectors[0].values.assign(base.row(i), base.row(i) + base.dim);
        batch.Put(draft);
      }
      LOCI_RETURN_IF_ERROR(db_->Write(nosync, batch, &result)
                               .WithContext("put of base vectors from " + std::to_string(first)));
      if (result.ops.size() != end - first) {
        return Status::Corruption("WriteResult has " + std::to_string(result.ops.size()) +
                                  " entries for " + std::to_string(end - first) + " puts");
      }
      for (const WriteResult::OpResult& op : result.ops) ids_.push_back(op.id);
    }
    return Status::OK();
  }

  int64_t IndexOf(CubeId id) const {
    if (dense_) {
      return id >= ids_.front() && id - ids_.front() < ids_.size()
                 ? static_cast<int64_t>(id - ids_.front())
                 : -1;
    }
    auto it = index_of_.find(id);
    return it == index_of_.end() ? -1 : it->second;
  }

  std::vector<SweepPoint> sweep_;  // from the command line; empty: the default
  std::unique_ptr<Db> db_;
  std::vector<CubeId> ids_;  // base index -> cube id
  bool dense_ = true;        // ids_[i] == ids_[0] + i
  std::unordered_map<CubeId, int64_t> index_of_;
  std::vector<SearchRequest> requests_;
  std::vector<SearchHit> hits_;
};

}  // namespace

std::unique_ptr<VectorSystem> NewLociVectorSystem(const std::vector<std::string>& points) {
  return std::make_unique<LociVectorSystem>(points);
}

}  // namespace loci::bench
