// The trace queries: request checks, the read point and the space, then query/trace_query.h.

#include <algorithm>

#include "common/time_format.h"
#include "engine/db_impl.h"
#include "engine/space_scope.h"
#include "query/trace_query.h"

namespace loci::engine {

namespace {

Status CheckLimit(const char* what, uint32_t value, uint32_t max) {
  if (value == 0 || value > max) {
    return Status::InvalidArgument(std::string(what) + " " + std::to_string(value) +
                                   " is out of range (1 to " + std::to_string(max) + ")");
  }
  return Status::OK();
}

Status CheckWindow(Timestamp from, Timestamp to) {
  if (from >= to) {
    return Status::InvalidArgument("empty time window: from " + FormatRfc3339(from) +
                                   " is not before to " + FormatRfc3339(to));
  }
  return Status::OK();
}

Status CheckTypes(const std::vector<EdgeType>& types) {
  for (EdgeType t : types) {
    if (!IsValidEdgeType(t)) {
      return Status::InvalidArgument("unknown edge type " +
                                     std::to_string(static_cast<uint32_t>(t)));
    }
  }
  return Status::OK();
}

// Runs `fill`, which fills *out; on failure *out is left empty.
template <class Fill>
Status ClearedOnError(std::vector<MemCube>* out, Fill fill) {
  Status s = fill();
  if (!s.ok()) out->clear();
  return s;
}

}  // namespace

Status DbImpl::ScopeOfSpace(const ReadPoint& read, const std::string& space, const Catalog* catalog,
                            query::TraceScope* scope) const {
  const SpaceDef* def = catalog->FindSpace(space);
  if (def == nullptr) return Status::InvalidArgument("space '" + space + "' does not exist");
  *scope = ScopeFor(read);
  scope->space_id = def->id;
  return Status::OK();
}

query::TraceScope DbImpl::ScopeFor(const ReadPoint& read) const {
  Timestamp read_time;
  const query::ReadPoint point = ReadPointFor(read, &read_time);
  return ScopeAt(point, read_time);
}

query::TraceScope DbImpl::ScopeAt(const query::ReadPoint& point, Timestamp read_time) const {
  query::TraceScope scope;
  scope.versions = &table_source_;
  scope.graph = &graph_;
  scope.events = &events_;
  scope.point = point;
  scope.read_time = read_time;
  scope.space_id = 0;
  return scope;
}

Status DbImpl::ScopeOfCube(const ReadPoint& read, const std::optional<std::string>& space,
                           CubeId id, const Catalog* catalog, query::TraceScope* scope,
                           const Version** visible) const {
  ReadOptions options;
  options.space = space;
  const Version* head;
  LOCI_RETURN_IF_ERROR(FindChain(options, id, catalog, &head));
  *scope = ScopeFor(read);
  scope->space_id = head->space_id;
  *visible = query::VisibleIn(*scope, id);
  if (*visible == nullptr) {
    return Status::NotFound("cube " + std::to_string(id) + " is not visible at valid time " +
                            FormatRfc3339(scope->point.valid_at) + " as of " +
                            FormatRfc3339(scope->point.as_of));
  }
  return Status::OK();
}

Status DbImpl::FillVersions(const std::vector<const Version*>& versions, const Catalog& catalog,
                            Timestamp as_of, bool fill_payload, std::vector<MemCube>* out) const {
  ReadOptions fill;
  fill.fill_payload = fill_payload;
  fill.fill_vectors = false;
  out->resize(versions.size());
  // What FillCube reads beyond the version itself, fetched for all at once: their misses
  // overlap (a page of events is scattered over the heap).
  for (const Version* v : versions) {
    if (!v->attrs.empty()) __builtin_prefetch(v->attrs.data());
    if (!v->parents.empty()) __builtin_prefetch(v->parents.data());
  }
  for (size_t i = 0; i < versions.size(); ++i) {
    const Version& v = *versions[i];
    Status s = FillCube(v, TxTo(v, table_.Head(v.id), as_of), catalog, fill, &(*out)[i]);
    if (!s.ok()) {
      out->clear();
      return s;
    }
  }
  return Status::OK();
}

Status DbImpl::Trace(const TraceRequest& request, std::vector<TraceStep>* steps) {
  steps->clear();
  LOCI_RETURN_IF_ERROR(CheckLimit("hops", request.hops, kMaxTraceHops));
  LOCI_RETURN_IF_ERROR(CheckLimit("limit", request.limit, kMaxTraceResults));
  LOCI_RETURN_IF_ERROR(CheckTypes(request.types));
  gc::EpochDomain::Guard guard = epochs_.Pin();
  const Catalog* catalog = LoadCatalog();
  query::TraceScope scope;
  const Version* start;
  LOCI_RETURN_IF_ERROR(ScopeOfCube(request, request.space, request.start, catalog, &scope, &start));
  query::WalkSpec spec;
  for (EdgeType t : request.types) spec.types.push_back(static_cast<uint32_t>(t));
  spec.out = request.direction != TraceDirection::kIn;
  spec.in = request.direction != TraceDirection::kOut;
  spec.episode_order = request.episode_order;
  spec.hops = request.hops;
  spec.limit = request.limit;
  std::vector<query::Reached> reached;
  query::Walk(scope, request.start, spec, &reached);
  steps->reserve(reached.size());
  for (const query::Reached& r : reached) {
    steps->push_back(TraceStep{r.version->id, r.version->number, r.hop, query::EdgeOf(r)});
  }
  return Status::OK();
}

Status DbImpl::Episode(const EpisodeRequest& request, std::vector<MemCube>* events) {
  // *events keeps its MemCubes across calls: FillCube reuses their buffers.
  return ClearedOnError(events, [&]() -> Status {
    if (request.before > kMaxEpisodeWindow || request.after > kMaxEpisodeWindow) {
      return Status::InvalidArgument("episode window of " + std::to_string(request.before) +
                                     " before and " + std::to_string(request.after) +
                                     " after is out of range (at most " +
                                     std::to_string(kMaxEpisodeWindow) + " each)");
    }
    gc::EpochDomain::Guard guard = epochs_.Pin();
    const Catalog* catalog = LoadCatalog();
    query::TraceScope scope;
    const Version* center;
    LOCI_RETURN_IF_ERROR(ScopeOfCube(request, request.space, request.id, catalog, &scope, &center));
    std::vector<const Version*> found{center};
    if (!center->episode.empty()) {
      query::EpisodeAround(scope, *center, request.before, request.after, &found);
    }
    return FillVersions(found, *catalog, scope.point.as_of, request.fill_payload, events);
  });
}

Status DbImpl::Events(const EventsRequest& request, std::vector<MemCube>* events) {
  // *events keeps its MemCubes across calls: FillCube reuses their buffers.
  return ClearedOnError(events, [&]() -> Status {
    if (request.valid_at) {
      return Status::InvalidArgument(
          "an events query reads a window of valid time: valid_at "
          "must be unset");
    }
    if (request.episode && request.episode->empty()) {
      return Status::InvalidArgument(
          "an empty episode name (leave the episode unset for every "
          "event of the space)");
    }
    LOCI_RETURN_IF_ERROR(CheckWindow(request.from, request.to));
    LOCI_RETURN_IF_ERROR(CheckLimit("limit", request.limit, kMaxListResults));
    gc::EpochDomain::Guard guard = epochs_.Pin();
    const Catalog* catalog = LoadCatalog();
    query::TraceScope scope;
    LOCI_RETURN_IF_ERROR(ScopeOfSpace(request, request.space, catalog, &scope));
    std::vector<const Version*> found;
    std::optional<std::string_view> episode;
    if (request.episode) episode = *request.episode;
    query::EventsIn(scope, episode, request.from, request.to, request.limit, &found);
    return FillVersions(found, *catalog, scope.point.as_of, request.fill_payload, events);
  });
}

Status DbImpl::Changes(const ChangesRequest& request, std::vector<MemCube>* versions) {
  // *versions keeps its MemCubes across calls: FillCube reuses their buffers.
  return ClearedOnError(versions, [&]() -> Status {
    LOCI_RETURN_IF_ERROR(CheckWindow(request.from, request.to));
    LOCI_RETURN_IF_ERROR(CheckLimit("limit", request.limit, kMaxListResults));
    gc::EpochDomain::Guard guard = epochs_.Pin();
    const Catalog* catalog = LoadCatalog();
    query::TraceScope scope;
    LOCI_RETURN_IF_ERROR(ScopeOfSpace(ReadPoint(), request.space, catalog, &scope));
    std::vector<const Version*> found;
    query::ChangesIn(scope, request.from, request.to, request.limit, &found);
    return FillVersions(found, *catalog, scope.point.as_of, request.fill_payload, versions);
  });
}

Status DbImpl::List(const ListRequest& request, std::vector<MemCube>* cubes) {
  // *cubes keeps its MemCubes across calls: FillCube reuses their buffers.
  return ClearedOnError(cubes, [&]() -> Status {
    LOCI_RETURN_IF_ERROR(CheckLimit("limit", request.limit, kMaxListResults));
    gc::EpochDomain::Guard guard = epochs_.Pin();
    const Catalog* catalog = LoadCatalog();
    query::TraceScope scope;
    LOCI_RETURN_IF_ERROR(ScopeOfSpace(request, request.space, catalog, &scope));
    std::vector<const Version*> found;
    query::ListPage(scope, request.after, request.limit, &found);
    return FillVersions(found, *catalog, scope.point.as_of, request.fill_payload, cubes);
  });
}

}  // namespace loci::engine
