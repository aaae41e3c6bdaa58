// Db's conveniences built on its other methods: Purge, PurgeSpace, and for the trace graph Link,
// Unlink, Fuse, Provenance.

#include <algorithm>
#include <map>
#include <memory>
#include <string>

#include "loci/db.h"
#include "loci/trace.h"

namespace loci {

Status Db::Purge(const WriteOptions& options, CubeId id) {
  WriteBatch batch;
  batch.Purge(id);
  return Write(options, batch, nullptr);
}

Result<uint64_t> Db::PurgeSpace(const WriteOptions& options, const std::string& space) {
  WriteBatch batch;
  batch.PurgeSpace(space);
  WriteResult result;
  LOCI_RETURN_IF_ERROR(Write(options, batch, &result));
  return result.ops[0].erased;
}

Result<uint32_t> Db::Link(const WriteOptions& options, CubeId from, CubeId to, EdgeType type,
                          float weight, std::optional<Timestamp> valid_from) {
  WriteBatch batch;
  const std::optional<std::string> any_space;  // the space of `from`
  batch.Link(any_space, from, to, type, weight, valid_from);
  WriteResult result;
  Status s = Write(options, batch, &result);
  if (!s.ok()) return s;
  return result.ops[0].version;
}

Status Db::Unlink(const WriteOptions& options, CubeId from, CubeId to, EdgeType type,
                  std::optional<Timestamp> valid_to) {
  WriteBatch batch;
  const std::optional<std::string> any_space;
  batch.Unlink(any_space, from, to, type, valid_to);
  return Write(options, batch, nullptr);
}

Result<CubeId> Db::Fuse(const WriteOptions& options, const std::vector<CubeId>& ids,
                        CubeDraft draft) {
  if (ids.empty()) return Status::InvalidArgument("nothing to fuse: no cube ids");
  if (!draft.parents.empty()) {
    return Status::InvalidArgument(
        "a fused cube's parents are the fused ids: leave "
        "draft.parents empty");
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (ids[i] == ids[j]) {
        return Status::InvalidArgument("cube " + std::to_string(ids[i]) + " is fused twice");
      }
    }
  }
  if (draft.space.empty()) {
    // The ids' space: the first one's (the batch then checks that every id is in it).
    ReadOptions read;
    read.fill_payload = false;
    read.fill_vectors = false;
    std::vector<MemCube> history;
    Status s = History(read, ids[0], &history);
    if (!s.ok()) {
      if (s.IsNotFound()) {
        return Status::InvalidArgument("parent cube " + std::to_string(ids[0]) + " does not exist");
      }
      return s;
    }
    draft.space = history.back().space;
  }
  const std::string space = draft.space;
  draft.parents = ids;
  WriteBatch batch;
  const CubeId fused = batch.Put(std::move(draft));
  for (CubeId id : ids) batch.Link(space, fused, id, EdgeType::kDerivedFrom);
  WriteResult result;
  LOCI_RETURN_IF_ERROR(Write(options, batch, &result));
  return result.ops[0].id;
}

namespace {

// Builds the provenance tree below *node (Db::Provenance).
class ProvenanceBuilder {
 public:
  ProvenanceBuilder(Db* db, const ReadOptions& options) : db_(db), options_(options) {}

  Status Expand(ProvenanceNode* node, uint32_t depth, std::vector<CubeId>* path) {
    MemCube cube;
    LOCI_RETURN_IF_ERROR(db_->Get(options_, node->id, &cube));
    node->version = cube.version;
    // Sources by id: parents, derived_from targets, or both.
    std::map<CubeId, std::string> sources;
    for (CubeId p : cube.parents) sources[p] = "parent";
    TraceRequest trace;
    static_cast<ReadPoint&>(trace) = options_;
    trace.space = options_.space;
    trace.start = node->id;
    trace.types = {EdgeType::kDerivedFrom};
    trace.limit = kMaxTraceResults;
    std::vector<TraceStep> steps;
    LOCI_RETURN_IF_ERROR(db_->Trace(trace, &steps));
    for (const TraceStep& step : steps) {
      std::string& relation = sources[step.id];
      relation = relation.empty() ? "derived_from" : relation + "+derived_from";
    }
    if (sources.empty()) return Status::OK();
    if (depth == 0 || nodes_ >= kMaxProvenanceNodes) {
      node->truncated = true;
      return Status::OK();
    }
    path->push_back(node->id);
    for (const auto& [id, relation] : sources) {
      if (nodes_ >= kMaxProvenanceNodes) {
        node->truncated = true;
        break;
      }
      ProvenanceNode child;
      child.id = id;
      child.relation = relation;
      child.cycle = std::find(path->begin(), path->end(), id) != path->end();
      Status s = child.cycle ? VersionOf(&child) : Expand(&child, depth - 1, path);
      if (s.IsNotFound()) continue;  // not visible at the read point: left out
      LOCI_RETURN_IF_ERROR(s);
      ++nodes_;
      node->sources.push_back(std::move(child));
    }
    path->pop_back();
    return Status::OK();
  }

 private:
  Status VersionOf(ProvenanceNode* node) {
    MemCube cube;
    LOCI_RETURN_IF_ERROR(db_->Get(options_, node->id, &cube));
    node->version = cube.version;
    return Status::OK();
  }

  Db* const db_;
  ReadOptions options_;
  uint32_t nodes_ = 1;
};

}  // namespace

Status Db::Provenance(const ReadOptions& options, CubeId id, uint32_t depth, ProvenanceNode* root) {
  *root = ProvenanceNode();
  if (depth == 0 || depth > kMaxProvenanceDepth) {
    return Status::InvalidArgument("provenance depth " + std::to_string(depth) +
                                   " is out of range (1 to " + std::to_string(kMaxProvenanceDepth) +
                                   ")");
  }
  ReadOptions read = options;
  read.fill_payload = false;
  read.fill_vectors = false;
  // One read point for the whole tree, however long the walk takes.
  std::shared_ptr<const Snapshot> snapshot;
  if (read.snapshot == nullptr && !read.as_of) {
    snapshot = GetSnapshot();
    read.snapshot = snapshot.get();
  }
  root->id = id;
  std::vector<CubeId> path;
  ProvenanceBuilder builder(this, read);
  Status s = builder.Expand(root, depth, &path);
  if (!s.ok()) *root = ProvenanceNode();
  return s;
}

}  // namespace loci
