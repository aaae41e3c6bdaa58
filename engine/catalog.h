// Catalog: the spaces of a database and the vector fields of each space. An immutable value:
// a change builds a new Catalog that the commit leader publishes atomically, and readers keep
// using the one they loaded (reclaimed through EBR).
//
// A dropped vector field keeps its slot (so fields[i].id == i + 1 holds and ids are never
// reused: a field defined again under the same name gets a new id, and vectors stored under the
// old one can never be taken for its own). Lookups by name skip dropped fields; lookups by id
// return them, flagged, because versions committed before the drop still refer to them.

#ifndef LOCI_ENGINE_CATALOG_H_
#define LOCI_ENGINE_CATALOG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "loci/metric.h"
#include "loci/status.h"

namespace loci::engine {

struct FieldDef {
  uint32_t id = 0;  // unique within its space, from 1
  std::string name;
  uint32_t dim = 0;
  Metric metric = Metric::kCosine;
  bool dropped = false;  // by DropVectorField; its vectors are no longer read or indexed
  bool operator==(const FieldDef&) const = default;
};

struct SpaceDef {
  uint32_t id = 0;  // from 1
  std::string name;
  std::vector<FieldDef> fields;  // fields[i].id == i + 1

  // The live field of that name, or nullptr (dropped fields are skipped).
  const FieldDef* FindField(std::string_view name) const;
  // The newest field of that name, dropped or not, or nullptr.
  const FieldDef* FindFieldEvenDropped(std::string_view name) const;
  // The field with that id, dropped or not, or nullptr.
  const FieldDef* FieldById(uint32_t id) const;
  // The live field with that id, or nullptr.
  const FieldDef* LiveFieldById(uint32_t id) const;
  bool operator==(const SpaceDef&) const = default;
};

class Catalog {
 public:
  Catalog() = default;

  const SpaceDef* FindSpace(std::string_view name) const;
  const SpaceDef* SpaceById(uint32_t id) const;
  const std::vector<SpaceDef>& spaces() const { return spaces_; }

  // Adds a space with the next id. REQUIRES: no space of that name.
  const SpaceDef& AddSpace(std::string name);
  // Adds a field with the next id of its space. REQUIRES: the space exists, no live field of
  // that name.
  const FieldDef& AddField(uint32_t space_id, std::string name, uint32_t dim, Metric metric);
  // Marks a field dropped. REQUIRES: the space and the live field exist.
  void DropField(uint32_t space_id, uint32_t field_id);

  // Applies a recorded catalog change (from the WAL or a checkpoint); Corruption if it does not
  // fit (ids out of sequence, duplicate names).
  Status ApplySpace(uint32_t id, std::string name);
  Status ApplyField(uint32_t space_id, uint32_t field_id, std::string name, uint32_t dim,
                    Metric metric);
  // Corruption unless the field exists and is live.
  Status ApplyFieldDrop(uint32_t space_id, uint32_t field_id);

  bool operator==(const Catalog& other) const { return spaces_ == other.spaces_; }

 private:
  std::vector<SpaceDef> spaces_;  // spaces_[i].id == i + 1
  std::unordered_map<std::string, uint32_t> by_name_;
};

}  // namespace loci::engine

#endif  // LOCI_ENGINE_CATALOG_H_
