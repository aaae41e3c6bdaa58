// Salvage's scans of a checkpoint file image (entry by entry, resynchronising after damage)
// and of the SUPERBLOCK image (each copy alone).

#include <limits>

#include "engine/checkpoint.h"
#include "engine/record_codec.h"
#include "engine/salvage_scan.h"
#include "engine/salvage_scan_util.h"

namespace loci::engine {

namespace {

using salvage_scan::Damage;
using salvage_scan::HashBudget;

// Reads the entries of one checkpoint image.
class CheckpointScanner {
 public:
  CheckpointScanner(std::string_view image, uint64_t file_number, uint64_t covers_lsn,
                    const std::string& file, SourceFinds* finds)
      : image_(image),
        file_number_(file_number),
        covers_lsn_(covers_lsn),
        file_(file),
        budget_(image.size()),
        finds_(finds) {}

  // Scans every entry after the header; returns how many verified.
  uint64_t Run();

 private:
  // Whether an entry verifies at `offset` (within the budget); fills *entry if so.
  bool EntryAt(uint64_t offset, CheckpointEntry* entry);
  // The first offset from `from` on where an entry verifies, or the image's size. *exhausted
  // tells whether the budget ran out first.
  uint64_t NextEntry(uint64_t from, bool* exhausted);
  void TakeEntry(const CheckpointEntry& entry, uint64_t offset);
  // Whether the body of `entry` decodes (as its type says) into *finds.
  bool DecodeEntry(const CheckpointEntry& entry, uint64_t offset);
  void Note(const Status& conflict, uint64_t offset);
  void ReportDamage(uint64_t start, uint64_t next, bool exhausted);

  const std::string_view image_;
  const uint64_t file_number_;
  const uint64_t covers_lsn_;
  const std::string& file_;
  HashBudget budget_;
  SourceFinds* const finds_;
};

uint64_t CheckpointScanner::Run() {
  uint64_t verified = 0;
  uint64_t pos = CheckpointEntriesOffset();
  while (pos < image_.size()) {
    CheckpointEntry entry;
    if (EntryAt(pos, &entry)) {
      TakeEntry(entry, pos);
      ++verified;
      pos += entry.size;
      continue;
    }
    // Entries are not aligned: the next one may start at any offset.
    bool exhausted = false;
    const uint64_t next = NextEntry(pos + 1, &exhausted);
    ReportDamage(pos, next, exhausted);
    pos = next;
  }
  return verified;
}

bool CheckpointScanner::EntryAt(uint64_t offset, CheckpointEntry* entry) {
  const uint64_t cost = CheckpointEntryCost(image_, offset);
  return cost != 0 && budget_.Spend(cost) &&
         ParseCheckpointEntry(image_, file_number_, offset, entry);
}

uint64_t CheckpointScanner::NextEntry(uint64_t from, bool* exhausted) {
  for (uint64_t q = from; q < image_.size(); ++q) {
    const uint64_t cost = CheckpointEntryCost(image_, q);
    if (cost == 0) continue;
    if (!budget_.Spend(cost)) {
      *exhausted = true;
      return image_.size();
    }
    CheckpointEntry entry;
    if (ParseCheckpointEntry(image_, file_number_, q, &entry)) return q;
  }
  return image_.size();
}

void CheckpointScanner::TakeEntry(const CheckpointEntry& entry, uint64_t offset) {
  finds_->read_anything = true;
  if (!DecodeEntry(entry, offset)) {
    finds_->losses.push_back(
        Damage(file_, offset, entry.size, "checkpoint entry verifies but does not decode"));
  }
}

bool CheckpointScanner::DecodeEntry(const CheckpointEntry& entry, uint64_t offset) {
  Decoder d(entry.body);
  switch (static_cast<CheckpointEntryType>(entry.type)) {
    case CheckpointEntryType::kSpace: {
      SpaceEntry space;
      if (!DecodeSpace(&d, &space) || !d.empty()) return false;
      Note(finds_->catalog.AddSpace(space.id, space.name), offset);
      return true;
    }
    case CheckpointEntryType::kField: {
      FieldEntry field;
      if (!DecodeField(&d, &field) || !d.empty()) return false;
      Note(finds_->catalog.AddField(field.space_id, field.field), offset);
      return true;
    }
    case CheckpointEntryType::kFieldDrop: {
      FieldDropEntry drop;
      if (!DecodeFieldDrop(&d, &drop) || !d.empty()) return false;
      finds_->catalog.AddDrop(drop.space_id, drop.field_id);
      return true;
    }
    case CheckpointEntryType::kVersion:
    case CheckpointEntryType::kEpisodeVersion: {
      auto v = std::make_unique<Version>();
      const bool decoded = entry.type == static_cast<uint8_t>(CheckpointEntryType::kVersion)
                               ? DecodeCheckpointVersion(entry.body, v.get())
                               : DecodeCheckpointEpisodeVersion(entry.body, v.get());
      if (!decoded || v->lsn > covers_lsn_) return false;
      finds_->versions.push_back(FoundVersion{std::move(v), file_, offset});
      return true;
    }
    case CheckpointEntryType::kEdge: {
      auto e = std::make_unique<index::EdgeVersion>();
      if (!DecodeCheckpointEdge(entry.body, e.get()) || e->lsn > covers_lsn_) return false;
      finds_->edges.push_back(FoundEdge{std::move(e), file_, offset});
      return true;
    }
    case CheckpointEntryType::kChainStart: {
      uint64_t id;
      uint32_t first_version;
      if (!DecodeCheckpointChainStart(entry.body, &id, &first_version)) return false;
      uint32_t& start = finds_->chain_starts[id];
      start = std::max(start, first_version);
      return true;
    }
    case CheckpointEntryType::kEnd: {
      uint64_t entries, next_cube_id;
      int64_t clock;
      if (!DecodeCheckpointEnd(entry.body, &entries, &next_cube_id, &clock)) return false;
      finds_->recorded_next_id = std::max(finds_->recorded_next_id, next_cube_id);
      finds_->clock_high_water = std::max(finds_->clock_high_water, clock);
      return true;
    }
  }
  return false;
}

void CheckpointScanner::Note(const Status& conflict, uint64_t offset) {
  if (conflict.ok()) return;
  finds_->notes.push_back(file_ + " at offset " + std::to_string(offset) + ": " +
                          conflict.message());
}

void CheckpointScanner::ReportDamage(uint64_t start, uint64_t next, bool exhausted) {
  std::string what = "checkpoint entry does not verify";
  if (exhausted) what += "; the rest of the file was not searched (too much garbage)";
  SalvageLoss loss = Damage(file_, start, next - start, what);
  // Name what the damaged entries appear to hold: the length each claims, or the room left.
  CheckpointEntry entry;
  for (uint64_t p = start; PeekCheckpointEntry(image_, p, next, &entry); p += entry.size) {
    Version v;
    if (DecodeCheckpointVersion(entry.body, &v) || DecodeCheckpointEpisodeVersion(entry.body, &v)) {
      loss.versions.push_back(salvage_scan::Suspect(v));
    }
  }
  // Its versions were committed at or before the LSN the checkpoint covers.
  const uint64_t before = covers_lsn_ == UINT64_MAX ? UINT64_MAX : covers_lsn_ + 1;
  finds_->lsn_windows.push_back(LsnWindow{finds_->losses.size(), 0, before});
  finds_->losses.push_back(std::move(loss));
}

}  // namespace

void ScanCheckpointImage(std::string_view image, uint64_t file_number, const std::string& file,
                         SourceFinds* finds) {
  if (image.empty()) return;  // a crash while creating it: nothing was in it
  CheckpointHeader header;
  Status s = DecodeCheckpointHeader(image, &header);
  uint64_t covers_lsn = std::numeric_limits<uint64_t>::max();
  if (s.ok()) {
    if (finds->uuid && header.db_uuid != *finds->uuid) {
      // Not copied, whatever it holds: a loss, so that a wrong superblock cannot hide it.
      finds->losses.push_back(Damage(file, 0, image.size(),
                                     "checkpoint of another database (its header says); not read"));
      return;
    }
    finds->read_anything = true;
    // Entries are seeded with the number the writer gave the file, which its header keeps.
    file_number = header.file_number;
    covers_lsn = header.covers_lsn;
  }
  const uint64_t verified = CheckpointScanner(image, file_number, covers_lsn, file, finds).Run();
  if (s.ok()) return;
  // Without its header a file loses only the LSN bound of its versions (and the number its
  // entries are seeded with is the one of its name).
  if (verified > 0) {
    finds->notes.push_back(file + ": " + s.message() + "; its entries were read without it");
  } else {
    finds->losses.push_back(
        Damage(file, 0, std::min<uint64_t>(image.size(), CheckpointEntriesOffset()), s.message()));
  }
}

Status ScanSuperblockImage(std::string_view image, const std::string& file, SourceFinds* finds) {
  Superblock copies[2];
  Status status[2];
  for (int i = 0; i < 2; ++i) {
    const size_t start = i * kSuperblockSlotSize;
    std::string_view slot =
        start < image.size() ? image.substr(start, kSuperblockSlotSize) : std::string_view();
    status[i] = DecodeSuperblockSlot(slot, &copies[i]);
    if (status[i].ok() && copies[i].seq % 2 != static_cast<uint64_t>(i)) {
      status[i] = Status::Corruption("copy in the wrong slot");
    }
    if (status[i].IsNotSupported()) return status[i].WithContext(file);
  }
  int best = -1;
  for (int i = 0; i < 2; ++i) {
    if (!status[i].ok()) continue;
    finds->read_anything = true;
    finds->superblock_id_limit = std::max(finds->superblock_id_limit, copies[i].cube_id_limit);
    finds->clock_high_water = std::max(finds->clock_high_water, copies[i].clock_high_water);
    if (best < 0 || copies[i].seq > copies[best].seq) best = i;
  }
  for (int i = 0; i < 2; ++i) {
    if (status[i].ok()) continue;
    finds->notes.push_back(file + " slot " + std::to_string(i) + " (offset " +
                           std::to_string(i * kSuperblockSlotSize) + "): " + status[i].message() +
                           (best >= 0 ? "; the other copy was used" : "; no copy is valid"));
  }
  if (best >= 0) {
    finds->superblock = copies[best];
    finds->uuid = copies[best].db_uuid;
  }
  return Status::OK();
}

}  // namespace loci::engine
