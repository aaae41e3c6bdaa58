// Merging catalog facts and renumbering them for the salvaged database.

#include "engine/salvage_catalog.h"

#include <algorithm>

namespace loci::engine {

Status CatalogFacts::AddSpace(uint32_t id, std::string_view name) {
  auto [it, added] = spaces_.emplace(id, std::string(name));
  if (added || it->second == name) return Status::OK();
  return Status::Corruption("space id " + std::to_string(id) + " is named '" + std::string(name) +
                            "' here but '" + it->second + "' elsewhere; kept '" + it->second + "'");
}

Status CatalogFacts::AddField(uint32_t space_id, const FieldDef& field) {
  FieldDef def = field;
  def.dropped = false;  // drops are facts of their own
  auto [it, added] = fields_.emplace(FieldKey{space_id, field.id}, def);
  if (added || it->second == def) return Status::OK();
  return Status::Corruption("field id " + std::to_string(field.id) + " of space id " +
                            std::to_string(space_id) + " is '" + def.name + "' (dimension " +
                            std::to_string(def.dim) + ") here but '" + it->second.name +
                            "' (dimension " + std::to_string(it->second.dim) +
                            ") elsewhere; kept the latter");
}

void CatalogFacts::AddDrop(uint32_t space_id, uint32_t field_id) {
  drops_.emplace(space_id, field_id);
}

void CatalogFacts::Build(Catalog* catalog, CatalogMap* map, std::vector<std::string>* notes) const {
  *map = CatalogMap();
  map->catalog_ = catalog;
  for (const auto& [old_id, name] : spaces_) {
    if (name.empty() || catalog->FindSpace(name) != nullptr) {
      notes->push_back("space id " + std::to_string(old_id) + " ('" + name +
                       "') left out: its name is empty or another space has it");
      continue;
    }
    const uint32_t space_id = catalog->AddSpace(name).id;
    map->spaces_[old_id] = space_id;
    // Fields of this space, in their old order (the map is ordered by space, then field id).
    for (auto it = fields_.lower_bound({old_id, 0});
         it != fields_.end() && it->first.first == old_id; ++it) {
      const FieldDef& f = it->second;
      const SpaceDef* space = catalog->SpaceById(space_id);
      // At most one live field per name: a second one means the drop of the first was lost.
      if (const FieldDef* live = space->FindField(f.name)) {
        catalog->DropField(space_id, live->id);
      }
      const uint32_t field_id = catalog->AddField(space_id, f.name, f.dim, f.metric).id;
      map->fields_[it->first] = field_id;
      if (drops_.count(it->first) != 0) catalog->DropField(space_id, field_id);
    }
  }
}

bool CatalogMap::Map(Version* v, std::string* why) const {
  auto space = spaces_.find(v->space_id);
  if (space == spaces_.end()) {
    *why = "its space (id " + std::to_string(v->space_id) +
           ") is unknown: every entry and record naming it was lost";
    return false;
  }
  const uint32_t old_space = v->space_id;
  v->space_id = space->second;
  const SpaceDef* def = catalog_->SpaceById(v->space_id);
  std::vector<VectorRef> kept;
  kept.reserve(v->vectors.size());
  for (const VectorRef& r : v->vectors) {
    auto field = fields_.find({old_space, r.field_id});
    if (field == fields_.end()) {
      *why = "its vector field (id " + std::to_string(r.field_id) +
             ") is unknown: every entry and record naming it was lost";
      return false;
    }
    const FieldDef* f = def->FieldById(field->second);
    if (f->dropped) continue;
    if (r.blob.length != uint64_t{f->dim} * sizeof(float)) {
      *why = "its vector of field '" + f->name + "' does not fit the field's dimension";
      return false;
    }
    kept.push_back(VectorRef{field->second, r.blob});
  }
  // Field ids keep their old order, so the vectors stay sorted by field.
  v->vectors = std::move(kept);
  return true;
}

bool CatalogMap::MapSpace(uint32_t* space_id) const {
  auto it = spaces_.find(*space_id);
  if (it == spaces_.end()) return false;
  *space_id = it->second;
  return true;
}

}  // namespace loci::engine
