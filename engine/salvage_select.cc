// Mapping, merging and checking the versions salvage found.

#include "engine/salvage_select.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace loci::engine {

namespace {

bool ByCubeAndNumber(const FoundVersion& a, const FoundVersion& b) {
  if (a.version->id != b.version->id) return a.version->id < b.version->id;
  return a.version->number < b.version->number;
}

bool SameVersion(const FoundVersion& a, const FoundVersion& b) {
  return a.version->id == b.version->id && a.version->number == b.version->number;
}

std::string Where(const FoundVersion& f) {
  return f.file + " at offset " + std::to_string(f.offset);
}

// Maps every version through `map`; those it cannot map are losses.
std::vector<FoundVersion> MapAll(std::vector<FoundVersion> found, const CatalogMap& map,
                                 CubeId id_bound, std::vector<SalvageLoss>* losses) {
  std::vector<FoundVersion> mapped;
  mapped.reserve(found.size());
  for (FoundVersion& f : found) {
    const Version original = *f.version;
    std::string why;
    if (f.version->id >= id_bound) {
      why = "its cube id is beyond any the database could have issued (" +
            std::to_string(id_bound) + " and above)";
    } else {
      map.Map(f.version.get(), &why);
    }
    if (!why.empty()) {
      losses->push_back(LostCopy(original, f.file, f.offset, why));
      continue;
    }
    mapped.push_back(std::move(f));
  }
  return mapped;
}

// Keeps one version per (id, number): the first copy, if every copy agrees with it.
std::vector<FoundVersion> MergeCopies(std::vector<FoundVersion> sorted,
                                      std::vector<SalvageLoss>* losses) {
  std::vector<FoundVersion> merged;
  for (size_t i = 0; i < sorted.size();) {
    size_t end = i + 1;
    while (end < sorted.size() && SameVersion(sorted[i], sorted[end])) ++end;
    size_t differs = end;
    for (size_t j = i + 1; j < end && differs == end; ++j) {
      if (!sorted[j].version->SameContent(*sorted[i].version)) differs = j;
    }
    if (differs == end) {
      merged.push_back(std::move(sorted[i]));
    } else {
      losses->push_back(LostCopy(*sorted[i].version, sorted[i].file, sorted[i].offset,
                                 "another verified copy of it, " + Where(sorted[differs]) +
                                     ", differs; neither was copied"));
    }
    i = end;
  }
  return merged;
}

// Drops versions that break a cube's invariants relative to the versions kept before them.
std::vector<FoundVersion> CheckCubes(std::vector<FoundVersion> merged,
                                     std::vector<SalvageLoss>* losses) {
  std::vector<FoundVersion> kept;
  kept.reserve(merged.size());
  for (FoundVersion& f : merged) {
    const Version& v = *f.version;
    const bool follows = !kept.empty() && kept.back().version->id == v.id;
    const Version* prev = follows ? kept.back().version.get() : nullptr;
    std::string why;
    if (prev != nullptr && prev->space_id != v.space_id) {
      why = "its space differs from version " + std::to_string(prev->number) + "'s";
    } else if (prev != nullptr && prev->tx_from > v.tx_from) {
      why = "it was committed before version " + std::to_string(prev->number);
    }
    if (!why.empty()) {
      losses->push_back(LostCopy(v, f.file, f.offset, why));
      continue;
    }
    kept.push_back(std::move(f));
  }
  return kept;
}

}  // namespace

SalvageLoss LostCopy(const Version& v, const std::string& file, uint64_t offset,
                     const std::string& why) {
  SalvageLoss loss;
  loss.file = file;
  loss.offset = offset;
  loss.what = "not copied: " + why;
  loss.versions.push_back(LostVersion{v.id, v.number, v.tx_from, /*certain=*/true});
  return loss;
}

std::vector<FoundVersion> SelectVersions(std::vector<FoundVersion> found, const CatalogMap& map,
                                         CubeId id_bound, std::vector<SalvageLoss>* losses) {
  std::vector<FoundVersion> mapped = MapAll(std::move(found), map, id_bound, losses);
  // Stable: of equal copies the first found (checkpoints before the WAL) is kept.
  std::stable_sort(mapped.begin(), mapped.end(), ByCubeAndNumber);
  return CheckCubes(MergeCopies(std::move(mapped), losses), losses);
}

std::vector<std::unique_ptr<index::EdgeVersion>> SelectEdges(
    std::vector<FoundEdge> found, const CatalogMap& map,
    const std::vector<std::unique_ptr<Version>>& kept, std::vector<std::string>* notes) {
  std::map<CubeId, uint32_t> space_of;  // every copied cube's (mapped) space
  for (const auto& v : kept) space_of.emplace(v->id, v->space_id);
  auto order = [](const FoundEdge& a, const FoundEdge& b) {
    const index::EdgeKey& x = a.edge->key;
    const index::EdgeKey& y = b.edge->key;
    return std::tie(x.from, x.to, x.type, a.edge->number) <
           std::tie(y.from, y.to, y.type, b.edge->number);
  };
  std::sort(found.begin(), found.end(), order);
  std::vector<std::unique_ptr<index::EdgeVersion>> selected;
  size_t unknown_space = 0, lost_end = 0, disagree = 0;
  for (size_t i = 0; i < found.size();) {
    size_t end = i + 1;
    while (end < found.size() && !order(found[i], found[end])) ++end;
    bool agree = true;
    for (size_t j = i + 1; j < end; ++j)
      agree = agree && found[j].edge->SameContent(*found[i].edge);
    std::unique_ptr<index::EdgeVersion> e = std::move(found[i].edge);
    i = end;
    if (!agree) {
      ++disagree;
    } else if (!map.MapSpace(&e->space_id)) {
      ++unknown_space;
    } else if (space_of.count(e->key.from) == 0 || space_of.count(e->key.to) == 0 ||
               space_of[e->key.from] != e->space_id || space_of[e->key.to] != e->space_id) {
      ++lost_end;
    } else {
      selected.push_back(std::move(e));
    }
  }
  if (unknown_space + lost_end + disagree > 0) {
    notes->push_back(std::to_string(unknown_space + lost_end + disagree) +
                     " edge version(s) not copied: " + std::to_string(lost_end) +
                     " with an end whose cube was lost, " + std::to_string(unknown_space) +
                     " of an unknown space, " + std::to_string(disagree) +
                     " with verified copies that differ");
  }
  return selected;
}

}  // namespace loci::engine
