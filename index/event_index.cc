// The orderings behind List, Events, Changes and Episode.

#include "index/event_index.h"

namespace loci::index {

void EventIndex::Add(const VersionInfo& v) {
  members_.Insert(MemberKey{v.space_id, v.id});
  valid_times_.Insert(TimeKey{v.space_id, v.valid_from, v.id, 0});
  commit_times_.Insert(TimeKey{v.space_id, v.tx_from, v.id, v.number});
  if (v.episode.empty()) return;
  auto [name, inserted] = episode_names_.emplace(v.episode);
  if (inserted) {
    episode_name_bytes_.fetch_add(name->size() + sizeof(std::string) + 16,
                                  std::memory_order_relaxed);
  }
  episodes_.Insert(EpisodeKey{v.space_id, *name, v.valid_from, v.id});
}

}  // namespace loci::index
