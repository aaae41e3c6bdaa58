// EventIndex: the orderings of a space's versions that the temporal queries scan (design.md
// §7): the cubes of each space by id (List), by valid_from (Events), in commit order
// (Changes), and the cubes of each episode by valid_from (Episode, Events of one episode).
//
// Each is a SkipList of small keys naming a cube (and, for commit order, a version); the
// queries read the versions through the record table and keep only those that the read point
// sees with that key's time, so an entry left behind by an older version (a cube that moved in
// valid time or to another episode) costs a skipped key, never a wrong answer. Keys are added
// once (duplicates ignored) and never removed.
//
// Concurrency: one writer at a time (the commit leader; recovery before readers exist), any
// number of lock-free readers (index/skiplist.h).

#ifndef LOCI_INDEX_EVENT_INDEX_H_
#define LOCI_INDEX_EVENT_INDEX_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>

#include "index/skiplist.h"

namespace loci::index {

// A cube of a space at a time (valid_from, or tx_from with the version number).
struct TimeKey {
  uint32_t space_id = 0;
  int64_t time = 0;
  uint64_t id = 0;
  uint32_t number = 0;  // 0 in the valid-time order (one key per cube and valid_from)
};

struct TimeKeyCompare {
  int operator()(const TimeKey& a, const TimeKey& b) const {
    if (a.space_id != b.space_id) return a.space_id < b.space_id ? -1 : 1;
    if (a.time != b.time) return a.time < b.time ? -1 : 1;
    if (a.id != b.id) return a.id < b.id ? -1 : 1;
    if (a.number != b.number) return a.number < b.number ? -1 : 1;
    return 0;
  }
};

// A cube of an episode at its valid_from.
struct EpisodeKey {
  uint32_t space_id = 0;
  std::string_view episode;  // into the index's own copy of the name
  int64_t valid_from = 0;
  uint64_t id = 0;
};

struct EpisodeKeyCompare {
  int operator()(const EpisodeKey& a, const EpisodeKey& b) const {
    if (a.space_id != b.space_id) return a.space_id < b.space_id ? -1 : 1;
    if (int c = a.episode.compare(b.episode); c != 0) return c;
    if (a.valid_from != b.valid_from) return a.valid_from < b.valid_from ? -1 : 1;
    if (a.id != b.id) return a.id < b.id ? -1 : 1;
    return 0;
  }
};

// A cube of a space.
struct MemberKey {
  uint32_t space_id = 0;
  uint64_t id = 0;
};

struct MemberKeyCompare {
  int operator()(const MemberKey& a, const MemberKey& b) const {
    if (a.space_id != b.space_id) return a.space_id < b.space_id ? -1 : 1;
    if (a.id != b.id) return a.id < b.id ? -1 : 1;
    return 0;
  }
};

// Each ordering keeps a space's keys together in memory (SkipList's Locality): a scan reads
// one space, while writes interleave every space.
struct BySpace {
  template <class Key>
  static uint64_t Group(const Key& k) {
    return k.space_id;
  }
};

class EventIndex {
 public:
  using ValidTimes = SkipList<TimeKey, TimeKeyCompare, BySpace>;
  using CommitTimes = SkipList<TimeKey, TimeKeyCompare, BySpace>;
  using Episodes = SkipList<EpisodeKey, EpisodeKeyCompare, BySpace>;
  using Members = SkipList<MemberKey, MemberKeyCompare, BySpace>;

  // What the index needs of a version.
  struct VersionInfo {
    uint32_t space_id;
    uint64_t id;
    uint32_t number;
    int64_t valid_from;
    int64_t tx_from;
    std::string_view episode;  // empty: none
  };

  // Writer: enters a version in every ordering it belongs to.
  void Add(const VersionInfo& v);

  // Readers.
  const Members& members() const { return members_; }
  const ValidTimes& valid_times() const { return valid_times_; }
  const CommitTimes& commit_times() const { return commit_times_; }
  const Episodes& episodes() const { return episodes_; }

  uint64_t memory_bytes() const {
    return members_.memory_bytes() + valid_times_.memory_bytes() + commit_times_.memory_bytes() +
           episodes_.memory_bytes() + episode_name_bytes_.load(std::memory_order_relaxed);
  }

 private:
  Members members_;
  ValidTimes valid_times_;
  CommitTimes commit_times_;
  Episodes episodes_;
  // Episode names the keys point into (node-based: a name never moves). Writer only.
  std::unordered_set<std::string> episode_names_;
  std::atomic<uint64_t> episode_name_bytes_{0};
};

}  // namespace loci::index

#endif  // LOCI_INDEX_EVENT_INDEX_H_
