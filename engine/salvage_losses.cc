// Completing salvage's account of losses: what other copies made good, and the version
// numbers that are missing for certain.

#include "engine/salvage_losses.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace loci::engine {

namespace {

// Missing versions listed one by one per gap between two copied versions; beyond, the loss
// says how many more (a cube may have millions of versions, and input may forge numbers).
constexpr uint64_t kMaxListedPerGap = 1024;

using VersionKey = std::pair<CubeId, uint32_t>;
using Copied = std::map<CubeId, std::vector<CopiedVersion>>;

bool WasCopied(const Copied& copied, const LostVersion& v) {
  auto it = copied.find(v.id);
  return it != copied.end() &&
         std::any_of(it->second.begin(), it->second.end(),
                     [&v](const CopiedVersion& c) { return c.number == v.version; });
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
void StrikeRecovered(const Copied& copied, std::vector<SalvageLoss>* losses) {
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

// Accounts for the versions missing between two copied versions of one cube.
class GapFinder {
 public:
  GapFinder(const std::vector<LsnWindow>& windows, std::vector<SalvageLoss>* losses)
      : windows_(windows), losses_(losses) {
    for (SalvageLoss& loss : *losses) {
      for (LostVersion& v : loss.versions) named_[{v.id, v.version}].push_back(&v);
    }
  }

  // Versions of cube `id` numbered strictly between those of `after` (number 0 when the cube's
  // first version is missing) and `before`.
  void Gap(CubeId id, const CopiedVersion& after, const CopiedVersion& before);

  // Adds what Gap attributed to the losses of WAL damage, and returns the losses of their own.
  std::vector<SalvageLoss> Finish();

 private:
  // The one WAL damage whose records' LSNs overlap (after, before), if there is exactly one.
  std::optional<size_t> OnlyWindow(uint64_t after, uint64_t before) const;

  const std::vector<LsnWindow>& windows_;
  std::vector<SalvageLoss>* const losses_;
  std::map<VersionKey, std::vector<LostVersion*>> named_;  // into *losses_ (not resized)
  std::vector<std::pair<size_t, LostVersion>> attributed_;
  std::map<CubeId, SalvageLoss> own_;
  std::map<CubeId, uint64_t> unlisted_;
};

void GapFinder::Gap(CubeId id, const CopiedVersion& after, const CopiedVersion& before) {
  uint64_t named_in_gap = 0;
  for (auto it = named_.lower_bound({id, after.number + 1});
       it != named_.end() && it->first < VersionKey{id, before.number}; ++it) {
    ++named_in_gap;
    for (LostVersion* v : it->second) v->certain = true;
  }
  const std::optional<size_t> window = OnlyWindow(after.lsn, before.lsn);
  uint64_t listed = 0;
  for (uint64_t n = uint64_t{after.number} + 1; n < before.number && listed < kMaxListedPerGap;
       ++n) {
    if (named_.count({id, static_cast<uint32_t>(n)}) != 0) continue;
    const LostVersion lost{id, static_cast<uint32_t>(n), std::nullopt, true};
    if (window) {
      attributed_.emplace_back(*window, lost);
    } else {
      own_[id].versions.push_back(lost);
    }
    ++listed;
  }
  const uint64_t unnamed = uint64_t{before.number} - after.number - 1 - named_in_gap;
  if (unnamed > listed) unlisted_[id] += unnamed - listed;
}

std::optional<size_t> GapFinder::OnlyWindow(uint64_t after, uint64_t before) const {
  std::optional<size_t> only;
  for (const LsnWindow& w : windows_) {
    // Some LSN x with after < x < before and w.after < x < w.before?
    const uint64_t low = std::max(after, w.after);
    const uint64_t high = std::min(before, w.before);
    if (high <= low || high - low < 2) continue;
    if (only) return std::nullopt;
    only = w.loss;
  }
  return only;
}

std::vector<SalvageLoss> GapFinder::Finish() {
  for (auto& [loss, version] : attributed_) (*losses_)[loss].versions.push_back(version);
  for (const auto& [id, count] : unlisted_) own_[id];
  std::vector<SalvageLoss> own;
  for (auto& [id, loss] : own_) {
    loss.what = "no intact copy found anywhere (later versions of the cube were copied)";
    if (unlisted_.count(id) != 0) {
      loss.what +=
          "; and " + std::to_string(unlisted_[id]) + " more versions of cube " + std::to_string(id);
    }
    own.push_back(std::move(loss));
  }
  return own;
}

// `windows`, and a window open to every LSN for each loss that has none and names no version:
// what it held is not known, so any missing version may have been there.
std::vector<LsnWindow> AllWindows(const std::vector<LsnWindow>& windows,
                                  const std::vector<SalvageLoss>& losses) {
  std::vector<bool> has_window(losses.size());
  for (const LsnWindow& w : windows) has_window[w.loss] = true;
  std::vector<LsnWindow> all = windows;
  for (size_t i = 0; i < losses.size(); ++i) {
    if (!has_window[i] && losses[i].versions.empty()) all.push_back(LsnWindow{i, 0, UINT64_MAX});
  }
  return all;
}

}  // namespace

void AccountLosses(const Copied& copied, const std::map<CubeId, uint32_t>& chain_starts,
                   const std::vector<LsnWindow>& windows, std::vector<SalvageLoss>* losses) {
  StrikeRecovered(copied, losses);
  const std::vector<LsnWindow> all_windows = AllWindows(windows, *losses);
  GapFinder gaps(all_windows, losses);
  for (const auto& [id, versions] : copied) {
    CopiedVersion after;  // number 0, LSN 0: before the cube's first version
    if (auto start = chain_starts.find(id); start != chain_starts.end()) {
      after.number = start->second - 1;  // pruned below its chain start, not lost
    }
    for (const CopiedVersion& v : versions) {
      if (v.number > after.number + 1) gaps.Gap(id, after, v);
      after = v;
    }
  }
  std::vector<SalvageLoss> own = gaps.Finish();
  std::stable_sort(losses->begin(), losses->end(), [](const SalvageLoss& a, const SalvageLoss& b) {
    return std::tie(a.file, a.offset) < std::tie(b.file, b.offset);
  });
  for (SalvageLoss& loss : own) losses->push_back(std::move(loss));
}

}  // namespace loci::engine
