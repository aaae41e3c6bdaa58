// The search path: Db::Search over the Atlas vector index.

#include "engine/db_impl.h"

namespace loci::engine {

Status DbImpl::Search(const SearchRequest& request, std::vector<SearchHit>* hits) {
  hits->clear();
  (void)request;
  return Status::NotSupported("Search is not implemented yet");
}

}  // namespace loci::engine
