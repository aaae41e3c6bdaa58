// Salvage's catalog: the spaces and vector fields of a damaged database, pieced together from
// every checkpoint entry and WAL record that verified, then numbered afresh for the new one.
//
// Space ids, and field ids within a space, are never reused (catalog.h): what any verified
// source says about an id holds for the database's whole life. So the facts of several
// sources, of different ages, merge by union — a later source only adds (a newer space, a
// drop) — and no ordering between sources is needed. A fact that contradicts an earlier one
// can only come from a bug or a forged file; the first one stays and the conflict is noted.
//
// Damage may lose the entry or record that created a space or field while versions that use
// it survive; those versions cannot be copied (a vector without its field's name and metric
// means nothing), and a gap in the ids would break Catalog's dense numbering. So the new
// database numbers the spaces and fields it knows 1, 2, 3... in their old order, and
// CatalogMap rewrites every version's ids. Ids of spaces and fields are internal: readers see
// names, which are kept.

#ifndef LOCI_ENGINE_SALVAGE_CATALOG_H_
#define LOCI_ENGINE_SALVAGE_CATALOG_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/catalog.h"
#include "loci/status.h"
#include "query/version.h"

namespace loci::engine {

class CatalogMap;

// What verified sources say about the catalog, by the source database's ids.
class CatalogFacts {
 public:
  // Records that space `id` is named `name`. Corruption (saying what) if a source already
  // named it otherwise; the first name stays.
  Status AddSpace(uint32_t id, std::string_view name);
  // Records field `field` (its `dropped` ignored) of space `space_id`. Corruption if a source
  // already described that field otherwise; the first description stays.
  Status AddField(uint32_t space_id, const FieldDef& field);
  // Records that field `field_id` of space `space_id` was dropped.
  void AddDrop(uint32_t space_id, uint32_t field_id);

  // Builds the new database's catalog into *catalog (which must be empty) and the map from the
  // old ids to its ids into *map. Spaces whose name another space holds already, and fields
  // of spaces without a name, are left out, with a line in *notes. Of two live fields of one
  // name the older must have been dropped by a record that was lost: it is marked dropped.
  // REQUIRES: *catalog outlives *map.
  void Build(Catalog* catalog, CatalogMap* map, std::vector<std::string>* notes) const;

 private:
  using FieldKey = std::pair<uint32_t, uint32_t>;  // space id, field id
  std::map<uint32_t, std::string> spaces_;
  std::map<FieldKey, FieldDef> fields_;
  std::set<FieldKey> drops_;
};

// From the source database's space and field ids to the new database's.
class CatalogMap {
 public:
  // Rewrites v's space and field ids as the new catalog numbers them, leaving out its
  // vectors of dropped fields (never read again, as a checkpoint leaves them out). On failure
  // leaves *v unspecified and returns false with *why saying what is missing or wrong: an
  // unknown space or field, or a vector whose length does not fit its field.
  bool Map(Version* v, std::string* why) const;
  // Rewrites *space_id likewise; false if the space is unknown.
  bool MapSpace(uint32_t* space_id) const;

 private:
  friend class CatalogFacts;
  using FieldKey = std::pair<uint32_t, uint32_t>;
  const Catalog* catalog_ = nullptr;
  std::map<uint32_t, uint32_t> spaces_;
  std::map<FieldKey, uint32_t> fields_;
};

}  // namespace loci::engine

#endif  // LOCI_ENGINE_SALVAGE_CATALOG_H_
