// Catalog lookups and changes.

#include "engine/catalog.h"

namespace loci::engine {

const FieldDef* SpaceDef::FindField(std::string_view field_name) const {
  const FieldDef* f = FindFieldEvenDropped(field_name);
  return f != nullptr && !f->dropped ? f : nullptr;
}

const FieldDef* SpaceDef::FindFieldEvenDropped(std::string_view field_name) const {
  // Newest first: at most one field of a name is live, and it is the newest of that name.
  for (auto it = fields.rbegin(); it != fields.rend(); ++it) {
    if (it->name == field_name) return &*it;
  }
  return nullptr;
}

const FieldDef* SpaceDef::FieldById(uint32_t field_id) const {
  if (field_id == 0 || field_id > fields.size()) return nullptr;
  return &fields[field_id - 1];
}

const FieldDef* SpaceDef::LiveFieldById(uint32_t field_id) const {
  const FieldDef* f = FieldById(field_id);
  return f != nullptr && !f->dropped ? f : nullptr;
}

const SpaceDef* Catalog::FindSpace(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &spaces_[it->second - 1];
}

const SpaceDef* Catalog::SpaceById(uint32_t id) const {
  if (id == 0 || id > spaces_.size()) return nullptr;
  return &spaces_[id - 1];
}

const SpaceDef& Catalog::AddSpace(std::string name) {
  const uint32_t id = static_cast<uint32_t>(spaces_.size() + 1);
  by_name_.emplace(name, id);
  spaces_.push_back(SpaceDef{id, std::move(name), {}});
  return spaces_.back();
}

const FieldDef& Catalog::AddField(uint32_t space_id, std::string name, uint32_t dim,
                                  Metric metric) {
  SpaceDef& space = spaces_[space_id - 1];
  const uint32_t id = static_cast<uint32_t>(space.fields.size() + 1);
  space.fields.push_back(FieldDef{id, std::move(name), dim, metric});
  return space.fields.back();
}

void Catalog::DropField(uint32_t space_id, uint32_t field_id) {
  spaces_[space_id - 1].fields[field_id - 1].dropped = true;
}

Status Catalog::ApplySpace(uint32_t id, std::string name) {
  if (id != spaces_.size() + 1) {
    return Status::Corruption("space id " + std::to_string(id) + " out of sequence");
  }
  if (name.empty() || FindSpace(name) != nullptr) {
    return Status::Corruption("duplicate or empty space name '" + name + "'");
  }
  AddSpace(std::move(name));
  return Status::OK();
}

Status Catalog::ApplyField(uint32_t space_id, uint32_t field_id, std::string name, uint32_t dim,
                           Metric metric) {
  const SpaceDef* space = SpaceById(space_id);
  if (space == nullptr) {
    return Status::Corruption("field of unknown space id " + std::to_string(space_id));
  }
  if (field_id != space->fields.size() + 1) {
    return Status::Corruption("field id " + std::to_string(field_id) + " out of sequence");
  }
  if (name.empty() || space->FindField(name) != nullptr || dim == 0) {
    return Status::Corruption("invalid field '" + name + "' in space '" + space->name + "'");
  }
  AddField(space_id, std::move(name), dim, metric);
  return Status::OK();
}

Status Catalog::ApplyFieldDrop(uint32_t space_id, uint32_t field_id) {
  const SpaceDef* space = SpaceById(space_id);
  if (space == nullptr) {
    return Status::Corruption("drop of a field of unknown space id " + std::to_string(space_id));
  }
  if (space->LiveFieldById(field_id) == nullptr) {
    return Status::Corruption("drop of field id " + std::to_string(field_id) + " of space '" +
                              space->name + "', which does not exist or is already dropped");
  }
  DropField(space_id, field_id);
  return Status::OK();
}

}  // namespace loci::engine
