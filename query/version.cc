// Version comparison.

#include "query/version.h"

#include <algorithm>

namespace loci::query {

bool Version::SameContent(const Version& o) const {
  return id == o.id && number == o.number && space_id == o.space_id && kind == o.kind &&
         state == o.state && valid_from == o.valid_from && valid_to == o.valid_to &&
         tx_from == o.tx_from && expires_at == o.expires_at && lsn == o.lsn &&
         importance == o.importance && trust == o.trust && payload == o.payload &&
         vectors == o.vectors && attrs == o.attrs && source == o.source && agent == o.agent &&
         parents == o.parents && episode == o.episode;
}

bool TouchesVectors(const Version& v) {
  const Version* prev = v.prev;  // one load: a retention cut may clear the link
  return !v.vectors.empty() || (prev != nullptr && !prev->vectors.empty());
}

bool IndexOrder(const Version* a, const Version* b) {
  if (a->lsn != b->lsn) return a->lsn < b->lsn;
  if (a->id != b->id) return a->id < b->id;
  return a->number < b->number;
}

Timestamp TxTo(const Version& v, const Version* newest, Timestamp as_of) {
  Timestamp tx_to = kForever;
  // By number, not address: a compaction may have replaced the chain `newest` heads with
  // copies since `v` was read from the old one.
  for (const Version* w = newest; w != nullptr && w->number > v.number; w = w->prev) {
    if (w->tx_from <= as_of && query::Overlaps(v.times(), w->times())) {
      tx_to = std::min(tx_to, w->tx_from);
    }
  }
  return tx_to;
}

const Version* SelectAt(const Version* head, const ReadPoint& p) {
  const Version* v = head;
  while (v != nullptr && !Candidate(v->times(), p)) v = v->prev;
  return v;
}

const Version* SelectInWindow(const Version* head, int64_t as_of, int64_t from, int64_t to,
                              int64_t read_time) {
  if (head == nullptr || CubeExpired(*head, read_time)) return nullptr;
  for (const Version* v = head; v != nullptr; v = v->prev) {
    if (v->tx_from > as_of || v->valid_from >= to || v->valid_to <= from) continue;
    if (Readable(*v) && CurrentAt(*v, head, as_of)) return v;
  }
  return nullptr;
}

}  // namespace loci::query
