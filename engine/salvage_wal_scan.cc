// Salvage's scan of one WAL segment image: every record that verifies, wherever it lies.

#include <algorithm>
#include <optional>

#include "common/coding.h"
#include "engine/record_codec.h"
#include "engine/salvage_scan.h"
#include "engine/salvage_scan_util.h"
#include "wal/format.h"

namespace loci::engine {

namespace {

using salvage_scan::Damage;
using salvage_scan::EndOfNonZero;
using salvage_scan::HashBudget;
using salvage_scan::WithoutFile;

// Where the segment header keeps its segment number and salt (wal/format.h: magic[8]
// format_version:u32 flags:u32 db_uuid[16] segment_no:u64 salt:u64 ...).
constexpr size_t kSegmentNoOffset = 32;
constexpr size_t kSaltOffset = 40;
// Records a candidate salt is tried against.
constexpr size_t kSaltProbes = 4;
// A damaged padding record is told apart by its payload of zeros: a few bytes may be damaged,
// but a batch's payload (a commit time, ids, counts) is never this empty.
constexpr size_t kMaxDamagedPaddingBytes = 8;

const char* Describe(wal::ParseResult r) {
  switch (r) {
    case wal::ParseResult::kTruncated:
      return "record runs past the end of the segment";
    case wal::ParseResult::kBadHeader:
      return "malformed record header";
    case wal::ParseResult::kBadChecksum:
      return "record checksum mismatch";
    case wal::ParseResult::kOk:
      break;
  }
  return "record does not verify";
}

// The bytes parsing a record at the start of `rest` would hash; 0 if its header alone rules
// it out.
uint64_t ParseCost(std::string_view rest) {
  wal::RecordHeader h;
  if (!wal::PeekRecordHeader(rest, &h) || wal::RecordSpan(h.length) > rest.size()) return 0;
  return wal::kRecordHeaderSize + h.length;
}

// Reads the records of one segment image under one record seed.
class SegmentScanner {
 public:
  // `first_lsn`: of the segment's first record, 0 if not known.
  SegmentScanner(std::string_view image, uint64_t seed, uint64_t first_lsn, const std::string& file,
                 HashBudget* budget, SourceFinds* finds)
      : image_(image),
        seed_(seed),
        file_(file),
        budget_(budget),
        finds_(finds),
        last_lsn_(first_lsn > 0 ? first_lsn - 1 : 0) {}

  // Scans from the end of the header block to the end of the image.
  void Run();

 private:
  // Whether a record verifies at `offset` (within the budget); fills *h and *payload if so.
  bool RecordAt(size_t offset, wal::RecordHeader* h, std::string_view* payload,
                wal::ParseResult* result = nullptr);
  // The first aligned offset from `from` on where a record verifies, or the image's size.
  // *exhausted tells whether the budget ran out before the search ended; *lsn is the record's
  // LSN (UINT64_MAX if there is none).
  size_t NextRecord(size_t from, bool* exhausted, uint64_t* lsn);
  void TakeRecord(const wal::RecordHeader& h, std::string_view payload, size_t offset);
  // Reports [start, next) as damage; next is where a record verifies again (or the end), with
  // LSN `next_lsn`.
  void ReportDamage(size_t start, size_t next, uint64_t next_lsn, const std::string& why);
  // Whether [start, next) is one padding record, damaged, and unwritten zeros: filler that
  // held no data (sync groups are padded to 4 KiB, so half a segment may be padding).
  bool IsDamagedPadding(size_t start, size_t next) const;
  // Adds to *loss the versions the records in [start, end) appear to hold.
  void NameSuspects(size_t start, size_t end, SalvageLoss* loss) const;

  const std::string_view image_;
  const uint64_t seed_;
  const std::string& file_;
  HashBudget* const budget_;
  SourceFinds* const finds_;
  uint64_t last_lsn_;  // of the last intact record (or the one before the segment's first)
};

void SegmentScanner::Run() {
  size_t pos = wal::kSegmentHeaderBlock;
  while (pos + wal::kRecordHeaderSize <= image_.size()) {
    wal::RecordHeader h;
    std::string_view payload;
    wal::ParseResult result;
    if (RecordAt(pos, &h, &payload, &result)) {
      TakeRecord(h, payload, pos);
      pos += wal::RecordSpan(h.length);
      continue;
    }
    bool exhausted = false;
    uint64_t next_lsn = UINT64_MAX;
    const size_t next = NextRecord(pos + wal::kRecordAlignment, &exhausted, &next_lsn);
    // Zeros with nothing valid after them are the unwritten end of the log. Zeros with a
    // record after them are where records were: records are written back to back.
    if (next == image_.size() && EndOfNonZero(image_, pos, next) == pos) return;
    std::string why = Describe(result);
    if (exhausted) why += "; the rest of the segment was not searched (too much garbage)";
    ReportDamage(pos, next, next_lsn, why);
    pos = next;
  }
  if (EndOfNonZero(image_, pos, image_.size()) > pos) {
    ReportDamage(pos, image_.size(), UINT64_MAX,
                 "bytes too short to be a record at the end of the segment");
  }
}

bool SegmentScanner::RecordAt(size_t offset, wal::RecordHeader* h, std::string_view* payload,
                              wal::ParseResult* result) {
  std::string_view rest = image_.substr(offset);
  const uint64_t cost = ParseCost(rest);
  if (cost == 0 || !budget_->Spend(cost)) {
    // Parse anyway without hashing cost: the header is what fails (or the budget is gone).
    if (result != nullptr) {
      *result =
          cost == 0 ? wal::ParseRecord(rest, seed_, h, payload) : wal::ParseResult::kBadChecksum;
    }
    return false;
  }
  const wal::ParseResult r = wal::ParseRecord(rest, seed_, h, payload);
  if (result != nullptr) *result = r;
  return r == wal::ParseResult::kOk;
}

size_t SegmentScanner::NextRecord(size_t from, bool* exhausted, uint64_t* lsn) {
  for (size_t q = from; q + wal::kRecordHeaderSize <= image_.size(); q += wal::kRecordAlignment) {
    std::string_view rest = image_.substr(q);
    const uint64_t cost = ParseCost(rest);
    if (cost == 0) continue;
    if (!budget_->Spend(cost)) {
      *exhausted = true;
      return image_.size();
    }
    wal::RecordHeader h;
    std::string_view payload;
    if (wal::ParseRecord(rest, seed_, &h, &payload) == wal::ParseResult::kOk) {
      *lsn = h.lsn;
      return q;
    }
  }
  return image_.size();
}

void SegmentScanner::TakeRecord(const wal::RecordHeader& h, std::string_view payload,
                                size_t offset) {
  finds_->read_anything = true;
  last_lsn_ = h.lsn;
  if (h.type == wal::kSealRecord) {
    CubeId next_id;
    if (DecodeSealPayload(payload, &next_id)) {
      finds_->recorded_next_id = std::max(finds_->recorded_next_id, next_id);
    }
    return;
  }
  if (h.type != wal::kBatchRecord) return;
  const std::string where = "LSN " + std::to_string(h.lsn);
  BatchContents batch;
  Status s = DecodeBatch(payload, where, &batch);
  if (!s.ok()) {
    finds_->losses.push_back(Damage(file_, offset, wal::RecordSpan(h.length),
                                    "WAL record verifies but does not decode: " + s.message()));
    return;
  }
  finds_->clock_high_water = std::max(finds_->clock_high_water, batch.commit_time);
  auto note = [&](const Status& conflict) {
    if (!conflict.ok()) {
      finds_->notes.push_back(file_ + " at offset " + std::to_string(offset) + ": " +
                              conflict.message());
    }
  };
  for (const SpaceEntry& space : batch.spaces) note(finds_->catalog.AddSpace(space.id, space.name));
  for (const FieldEntry& f : batch.fields) note(finds_->catalog.AddField(f.space_id, f.field));
  for (const FieldDropEntry& drop : batch.drops) {
    finds_->catalog.AddDrop(drop.space_id, drop.field_id);
  }
  for (const BlobCopy& copy : batch.copies) {
    finds_->logged_blobs.emplace_back(copy.ref, std::string(copy.bytes));
  }
  for (std::unique_ptr<Version>& v : batch.versions) {
    v->lsn = h.lsn;
    finds_->versions.push_back(FoundVersion{std::move(v), file_, offset});
  }
  for (std::unique_ptr<index::EdgeVersion>& e : batch.edges) {
    e->lsn = h.lsn;
    finds_->edges.push_back(FoundEdge{std::move(e), file_, offset});
  }
  for (const PurgeEntry& p : batch.purges) finds_->purged.insert(p.id);
}

void SegmentScanner::ReportDamage(size_t start, size_t next, uint64_t next_lsn,
                                  const std::string& why) {
  if (IsDamagedPadding(start, next)) {
    finds_->notes.push_back(file_ + " at offset " + std::to_string(start) + ": WAL " + why +
                            " in a padding record (filler, which holds no data)");
    return;
  }
  const size_t written_end = EndOfNonZero(image_, start, next);
  // All zeros before an intact record: a zeroed stretch, as long as it is.
  const size_t length = (written_end > start ? written_end : next) - start;
  SalvageLoss loss =
      Damage(file_, start, length,
             written_end > start ? "WAL " + why : "WAL records zeroed (an intact record follows)");
  NameSuspects(start, next, &loss);
  finds_->lsn_windows.push_back(LsnWindow{finds_->losses.size(), last_lsn_, next_lsn});
  finds_->losses.push_back(std::move(loss));
}

bool SegmentScanner::IsDamagedPadding(size_t start, size_t next) const {
  wal::RecordHeader h;
  if (!wal::PeekRecordHeader(image_.substr(start), &h) || h.type != wal::kPaddingRecord) {
    return false;
  }
  const size_t span = wal::RecordSpan(h.length);
  if (span > next - start || EndOfNonZero(image_, start + span, next) > start + span) return false;
  std::string_view payload = image_.substr(start + wal::kRecordHeaderSize, h.length);
  return static_cast<size_t>(std::count_if(payload.begin(), payload.end(), [](char c) {
           return c != 0;
         })) <= kMaxDamagedPaddingBytes;
}

void SegmentScanner::NameSuspects(size_t start, size_t end, SalvageLoss* loss) const {
  size_t p = start;
  while (p < end && end - p >= wal::kRecordHeaderSize) {
    const size_t room = end - p - wal::kRecordHeaderSize;
    const uint32_t claimed = DecodeFixed32(image_.data() + p + 8);
    // The length as the header says if it fits; else the record runs to `end`, less up to
    // seven bytes of alignment padding.
    std::vector<size_t> lengths;
    if (wal::RecordSpan(claimed) <= end - p) {
      lengths.push_back(claimed);
    } else {
      for (size_t pad = 0; pad < wal::kRecordAlignment && pad <= room; ++pad) {
        lengths.push_back(room - pad);
      }
    }
    for (size_t length : lengths) {
      BatchContents batch;
      if (!DecodeBatchWithoutCopies(image_.substr(p + wal::kRecordHeaderSize, length), "", &batch)
               .ok()) {
        continue;
      }
      for (const auto& v : batch.versions) loss->versions.push_back(salvage_scan::Suspect(*v));
      break;
    }
    p += wal::RecordSpan(lengths.empty() ? 0 : lengths.front());
  }
}

// For a segment whose header fails: the record seed under which its records verify, trying
// the salt as found, then every one-bit change of it, each with the segment number of the
// file's name and of the header. *repaired tells whether the salt had to be changed.
std::optional<uint64_t> FindSeed(std::string_view image, uint64_t segment_no, HashBudget* budget,
                                 bool* repaired) {
  std::vector<size_t> probes;
  for (size_t q = wal::kSegmentHeaderBlock;
       q + wal::kRecordHeaderSize <= image.size() && probes.size() < kSaltProbes;
       q += wal::kRecordAlignment) {
    if (ParseCost(image.substr(q)) > 0) probes.push_back(q);
  }
  const uint64_t salt = DecodeFixed64(image.data() + kSaltOffset);
  const uint64_t numbers[2] = {segment_no, DecodeFixed64(image.data() + kSegmentNoOffset)};
  for (int bit = -1; bit < 64; ++bit) {
    const uint64_t candidate = bit < 0 ? salt : salt ^ (uint64_t{1} << bit);
    for (uint64_t number : numbers) {
      for (size_t q : probes) {
        std::string_view rest = image.substr(q);
        if (!budget->Spend(ParseCost(rest))) return std::nullopt;
        wal::RecordHeader h;
        std::string_view payload;
        if (wal::ParseRecord(rest, candidate ^ number, &h, &payload) == wal::ParseResult::kOk) {
          *repaired = bit >= 0;
          return candidate ^ number;
        }
      }
    }
  }
  return std::nullopt;
}

// The record seed of the segment, or nullopt if it is not to be read (noted in *finds);
// *first_lsn is the LSN of its first record when its header says (else 0).
std::optional<uint64_t> SegmentSeed(std::string_view image, uint64_t segment_no,
                                    const std::string& file, HashBudget* budget, SourceFinds* finds,
                                    uint64_t* first_lsn) {
  wal::SegmentHeader h;
  Status s = wal::DecodeSegmentHeader(image.substr(0, wal::kSegmentHeaderBlock), file, &h);
  if (s.ok()) {
    if (finds->uuid && h.db_uuid != *finds->uuid) {
      // Not copied, whatever it holds: a loss, so that a wrong superblock cannot hide it.
      finds->losses.push_back(Damage(
          file, 0, image.size(), "WAL segment of another database (its header says); not read"));
      return std::nullopt;
    }
    finds->read_anything = true;
    *first_lsn = h.first_lsn;
    return wal::RecordSeed(h);
  }
  const std::string why = WithoutFile(s.message(), file);
  if (s.IsNotSupported()) {
    finds->losses.push_back(Damage(file, 0, image.size(), why + "; not read"));
    return std::nullopt;
  }
  if (salvage_scan::FirstNonZero(image, wal::kSegmentHeaderBlock) == image.size()) {
    finds->notes.push_back(file + ": " + why + "; the segment holds no records");
    return std::nullopt;
  }
  bool repaired = false;
  std::optional<uint64_t> seed = FindSeed(image, segment_no, budget, &repaired);
  if (!seed) {
    finds->losses.push_back(
        Damage(file, 0, image.size(),
               why + "; its records cannot be verified without the salt the header held"));
    return std::nullopt;
  }
  finds->notes.push_back(
      file + ": " + why + "; its records verified with " +
      (repaired ? "the header's salt corrected by one bit" : "the salt the header still holds"));
  return seed;
}

}  // namespace

void ScanWalSegmentImage(std::string_view image, uint64_t segment_no, const std::string& file,
                         SourceFinds* finds) {
  if (image.size() < wal::kSegmentHeaderBlock) {
    // A crash while creating a segment leaves it empty or zero-filled: nothing was in it.
    if (EndOfNonZero(image, 0, image.size()) > 0) {
      finds->losses.push_back(
          Damage(file, 0, image.size(), "WAL segment shorter than its header block"));
    }
    return;
  }
  HashBudget budget(image.size());
  uint64_t first_lsn = 0;
  std::optional<uint64_t> seed = SegmentSeed(image, segment_no, file, &budget, finds, &first_lsn);
  if (seed) SegmentScanner(image, *seed, first_lsn, file, &budget, finds).Run();
}

}  // namespace loci::engine
