// Catalog: the spaces of a database and the vector fields of each space. An immutable value:
// a change builds a new Catalog that the commit leader publishes atomically, and readers keep
// using the one they loaded (reclaimed through EBR).

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
  bool operator==(const FieldDef&) const = default;
};

struct SpaceDef {
  uint32_t id = 0;  // from 1
  std::string name;
  std::vector<FieldDef> fields;  // fields[i].id == i + 1

  const FieldDef* FindField(std::string_view name) const;
  const FieldDef* FieldById(uint32_t id) const;
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
  // Adds a field with the next id of its space. REQUIRES: the space exists, no such field.
  const FieldDef& AddField(uint32_t space_id, std::string name, uint32_t dim, Metric metric);

  // Applies a recorded catalog change (from the WAL or a checkpoint); Corruption if it does not
  // fit (ids out of sequence, duplicate names).
  Status ApplySpace(uint32_t id, std::string name);
  Status ApplyField(uint32_t space_id, uint32_t field_id, std::string name, uint32_t dim,
                    Metric metric);

  bool operator==(const Catalog& other) const { return spaces_ == other.spaces_; }

 private:
  std::vector<SpaceDef> spaces_;  // spaces_[i].id == i + 1
  std::unordered_map<std::string, uint32_t> by_name_;
};

}  // namespace loci::engine

#endif  // LOCI_ENGINE_CATALOG_H_
