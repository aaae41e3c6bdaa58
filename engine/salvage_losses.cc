// Completing salvage's account of losses: what other copies made good, and the version
// numbers that are missing for certain.

#include "engine/salvage_losses.h"

#include <algorithm>
#include <utility>

namespace loci::engine {

namespace {

// Missing versions listed one by one per gap between two copied versions; beyond, the loss
// says how many more (a cube may have millions of versions, and input may forge numbers).
constexpr uint64_t kMaxListedPerGap = 1024;

using VersionKey = std::pair<CubeId, uint32_t>;

bool WasCopied(const std::map<CubeId, std::vector<uint32_t>>& copied, const LostVersion& v) {
  auto it = copied.find(v.id);
  return it != copied.end() && std::binary_search(it->second.begin(), it->second.end(), v.version);
}

// Versions struck from a loss that are still named in its text.
constexpr size_t kMaxStruckNamed = 4;

// "cube 7 version 1, cube 9 version 2 and 3 more".
std::string Name(const std::vector<LostVersion>& versions) {
  std::string out;
  for (size_t i = 0; i < versions.size() && i < kMaxStruckNamed; ++i) {
    out += (i > 0 ? ", cube " : "cube ") + std::to_string(versions[i].id) + " version " +
           std::to_string(versions[i].version);
  }
  if (versions.size() > kMaxStruckNamed) {
    out += " and " + std::to_string(versions.size() - kMaxStruckNamed) + " more";
  }
  return out;
}

// Strikes from each loss the versions it only appears to hold that were copied from another
// copy. The loss itself stays, now naming no version: damage that changed the bytes naming a
// version makes it appear to hold another one, which may well have been copied.
void StrikeRecovered(const std::map<CubeId, std::vector<uint32_t>>& copied,
                     std::vector<SalvageLoss>* losses) {
  for (SalvageLoss& loss : *losses) {
    std::vector<LostVersion> struck;
    std::erase_if(loss.versions, [&](const LostVersion& v) {
      const bool recovered = !v.certain && WasCopied(copied, v);
      if (recovered) struck.push_back(v);
      return recovered;
    });
    if (!struck.empty()) {
      loss.what += "; it appears to have held " + Name(struck) + ", which other copies held";
    }
  }
}

// The versions of cube `id` numbered in (after, before) that no loss names, as a loss without
// a file, or nothing; marks those some loss names certain.
void ListGap(CubeId id, uint32_t after, uint32_t before,
             std::map<VersionKey, std::vector<LostVersion*>>* named, SalvageLoss* gap,
             uint64_t* unlisted) {
  uint64_t named_in_gap = 0;
  for (auto it = named->lower_bound({id, after + 1});
       it != named->end() && it->first < VersionKey{id, before}; ++it) {
    ++named_in_gap;
    for (LostVersion* v : it->second) v->certain = true;
  }
  const uint64_t unnamed = uint64_t{before} - after - 1 - named_in_gap;
  uint64_t listed = 0;
  for (uint64_t n = uint64_t{after} + 1; n < before && listed < kMaxListedPerGap; ++n) {
    if (named->count({id, static_cast<uint32_t>(n)}) != 0) continue;
    gap->versions.push_back(LostVersion{id, static_cast<uint32_t>(n), std::nullopt, true});
    ++listed;
  }
  *unlisted += unnamed - listed;
}

// Losses without a file for the versions missing below copied ones that no damage names.
std::vector<SalvageLoss> FindGaps(const std::map<CubeId, std::vector<uint32_t>>& copied,
                                  std::vector<SalvageLoss>* losses) {
  std::map<VersionKey, std::vector<LostVersion*>> named;
  for (SalvageLoss& loss : *losses) {
    for (LostVersion& v : loss.versions) named[{v.id, v.version}].push_back(&v);
  }
  std::vector<SalvageLoss> gaps;
  for (const auto& [id, numbers] : copied) {
    SalvageLoss gap;
    uint64_t unlisted = 0;
    uint32_t after = 0;
    for (uint32_t n : numbers) {
      if (n > after + 1) ListGap(id, after, n, &named, &gap, &unlisted);
      after = n;
    }
    if (gap.versions.empty() && unlisted == 0) continue;
    gap.what = "no intact copy found anywhere (later versions of the cube were copied)";
    if (unlisted > 0) gap.what += "; and " + std::to_string(unlisted) + " more versions";
    gaps.push_back(std::move(gap));
  }
  return gaps;
}

}  // namespace

void AccountLosses(const std::map<CubeId, std::vector<uint32_t>>& copied,
                   std::vector<SalvageLoss>* losses) {
  StrikeRecovered(copied, losses);
  std::vector<SalvageLoss> gaps = FindGaps(copied, losses);
  std::stable_sort(losses->begin(), losses->end(), [](const SalvageLoss& a, const SalvageLoss& b) {
    return std::tie(a.file, a.offset) < std::tie(b.file, b.offset);
  });
  for (SalvageLoss& gap : gaps) losses->push_back(std::move(gap));
}

}  // namespace loci::engine
