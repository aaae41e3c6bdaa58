// loci wal-dump: prints every record of every WAL segment, decoding batch records, and judges
// damage the way recovery does (wal/replay.h): damage in the last segment with nothing durable
// after it is a torn tail (reported, exit 0); any other damage, a broken link between segments
// or a record that does not decode is corruption (exit 2). Reads the files directly, taking no
// lock (like a read-only open), so it works on a database that no longer opens.

#include <algorithm>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/file_names.h"
#include "engine/record_codec.h"
#include "engine/superblock.h"
#include "index/vector_field.h"
#include "loci/env.h"
#include "loci/trace.h"
#include "tools/loci/cli_support.h"
#include "tools/loci/commands.h"
#include "tools/loci/text_encoding.h"
#include "tools/loci/time_format.h"
#include "tools/loci/value_parse.h"
#include "wal/format.h"
#include "wal/replay.h"
#include "wal/segment_scan.h"

namespace loci::cli {

namespace {

struct WalDumpArgs {
  std::string dir;
};

// What the dump found wrong; the first entry becomes the one-line error.
struct Findings {
  std::vector<std::string> damage;
  void Add(std::string what) {
    std::cout << "DAMAGE: " << what << '\n';
    damage.push_back(std::move(what));
  }
};

bool AllZeroAfterHeader(std::string_view image) {
  if (image.size() <= wal::kSegmentHeaderBlock) return true;
  std::string_view body = image.substr(wal::kSegmentHeaderBlock);
  return std::all_of(body.begin(), body.end(), [](char c) { return c == 0; });
}

const char* RecordTypeName(uint8_t type) {
  switch (type) {
    case wal::kBatchRecord:
      return "batch";
    case wal::kPaddingRecord:
      return "padding";
    case wal::kSealRecord:
      return "seal";
    default:
      return "unknown";
  }
}

// Names spaces and vector fields by id across the dump; those created before the oldest
// segment shown (covered by a checkpoint) are shown by id.
class CatalogNames {
 public:
  // Names are kept escaped (text_encoding.h): a stored name must not forge dump lines.
  void AddSpace(uint32_t id, const std::string& name) { spaces_[id] = EscapeText(name); }
  void AddField(uint32_t space_id, uint32_t field_id, const std::string& name) {
    fields_[{space_id, field_id}] = EscapeText(name);
  }
  std::string Space(uint32_t id) const {
    auto it = spaces_.find(id);
    return it != spaces_.end() ? it->second : "space#" + std::to_string(id);
  }
  // "space/field#id" (the id tells a field from an older one of the same name).
  std::string Field(uint32_t space_id, uint32_t field_id) const {
    auto it = fields_.find({space_id, field_id});
    return Space(space_id) + "/" + (it != fields_.end() ? it->second : "field") + "#" +
           std::to_string(field_id);
  }

 private:
  std::map<uint32_t, std::string> spaces_;
  std::map<std::pair<uint32_t, uint32_t>, std::string> fields_;
};

// " edges [from -type-> to vN, ...]" for the edge versions of a batch ("unlinked" marks an
// Unlink), or nothing if it has none.
std::string EdgesSummary(const engine::BatchContents& b) {
  if (b.edges.empty()) return "";
  std::string out = " edges [";
  for (size_t i = 0; i < b.edges.size(); ++i) {
    const index::EdgeVersion& e = *b.edges[i];
    out += (i ? ", " : "") + std::to_string(e.key.from) + " -" +
           EdgeTypeName(static_cast<EdgeType>(e.key.type)) + "-> " + std::to_string(e.key.to) +
           " v" + std::to_string(e.number) + (e.unlinked ? " unlinked" : "");
  }
  return out + "]";
}

// " commit T new-spaces [..] new-fields [..] dropped-fields [..] versions [..] edges [..]" for a
// batch.
std::string BatchSummary(const engine::BatchContents& b, CatalogNames* names) {
  std::string out = " commit " + FormatTime(b.commit_time);
  if (!b.spaces.empty()) {
    out += " new-spaces [";
    for (size_t i = 0; i < b.spaces.size(); ++i) {
      names->AddSpace(b.spaces[i].id, b.spaces[i].name);
      out += (i ? ", " : "") + std::to_string(b.spaces[i].id) + ":" + names->Space(b.spaces[i].id);
    }
    out += "]";
  }
  if (!b.fields.empty()) {
    out += " new-fields [";
    for (size_t i = 0; i < b.fields.size(); ++i) {
      const engine::FieldEntry& f = b.fields[i];
      names->AddField(f.space_id, f.field.id, f.field.name);
      out += (i ? ", " : "") + names->Field(f.space_id, f.field.id) + " dim " +
             std::to_string(f.field.dim) + " " + index::MetricName(f.field.metric);
    }
    out += "]";
  }
  if (!b.drops.empty()) {
    out += " dropped-fields [";
    for (size_t i = 0; i < b.drops.size(); ++i) {
      out += (i ? ", " : "") + names->Field(b.drops[i].space_id, b.drops[i].field_id);
    }
    out += "]";
  }
  out += " versions [";
  for (size_t i = 0; i < b.versions.size(); ++i) {
    const engine::Version& v = *b.versions[i];
    out += (i ? ", " : "") + std::string("id ") + std::to_string(v.id) + " v" +
           std::to_string(v.number) + " " + names->Space(v.space_id) + " " + CubeStateName(v.state);
  }
  return out + "]" + EdgesSummary(b);
}

// Where the previous live segment ended, to check that the next one continues it.
struct Chain {
  wal::Lsn last_lsn;
  uint64_t last_checksum;
};

// Dumps one segment; returns the chain position after it (nullopt if it could not be read).
std::optional<Chain> DumpSegment(Env* env, const std::string& dir, uint64_t segment_no, bool last,
                                 bool obsolete, const engine::Superblock* sb,
                                 std::optional<Chain> chain, CatalogNames* names,
                                 Findings* findings, uint64_t* records) {
  const std::string name = WalSegmentFileName(segment_no);
  const std::string file = JoinPath(dir, name);
  std::string image;
  Status s = wal::ReadSegmentFile(env, file, &image);
  if (!s.ok()) {
    findings->Add(s.ToString());
    return std::nullopt;
  }
  wal::SegmentScan scan;
  s = wal::ScanSegment(image, file, &scan);
  if (!s.ok()) {
    if (last && AllZeroAfterHeader(image)) {
      std::cout << "segment " << segment_no << " " << name
                << ": header never written (creation interrupted); recovery removes it\n";
    } else if (obsolete) {
      std::cout << "segment " << segment_no << " " << name << " (obsolete): " << s.message()
                << '\n';
    } else {
      findings->Add(s.message());
    }
    return std::nullopt;
  }
  const wal::SegmentHeader& h = scan.header;
  std::cout << "segment " << segment_no << " " << name << (obsolete ? " (obsolete)" : "")
            << ": first_lsn " << h.first_lsn << ", " << image.size() << " bytes, "
            << scan.records.size() << " record(s)\n";
  if (!obsolete) {
    if (h.segment_no != segment_no) {
      findings->Add(file + ": header says segment " + std::to_string(h.segment_no));
    }
    if (sb != nullptr && std::memcmp(h.db_uuid.data(), sb->db_uuid.data(), 16) != 0) {
      findings->Add(file + ": segment belongs to another database");
    }
    if (chain && (h.first_lsn != chain->last_lsn + 1 || h.prev_checksum != chain->last_checksum)) {
      findings->Add(file + ": does not continue the log (starts at LSN " +
                    std::to_string(h.first_lsn) + ", expected " +
                    std::to_string(chain->last_lsn + 1) + " with a matching hash chain)");
    }
  }

  const uint64_t seed = wal::RecordSeed(h);
  for (const wal::ScannedRecord& r : scan.records) {
    ++*records;
    wal::RecordHeader rh;
    std::string_view payload;
    // The scan already verified this record; parsing again yields the header fields it omits.
    (void)wal::ParseRecord(std::string_view(image).substr(r.offset), seed, &rh, &payload);
    std::cout << "segment " << segment_no << " offset " << r.offset << " lsn " << r.lsn << " type "
              << RecordTypeName(r.type) << " length " << rh.length << " synced_lsn "
              << rh.synced_lsn;
    if (r.type == wal::kBatchRecord) {
      engine::BatchContents contents;
      Status d = engine::DecodeBatch(r.payload, file + " at offset " + std::to_string(r.offset),
                                     &contents);
      if (d.ok()) {
        std::cout << BatchSummary(contents, names) << '\n';
      } else {
        std::cout << " (does not decode)\n";
        findings->Add(d.message());
      }
    } else if (r.type == wal::kSealRecord) {
      CubeId next_id = 0;
      if (engine::DecodeSealPayload(r.payload, &next_id)) {
        std::cout << " (clean close; next cube id " << next_id << ")\n";
      } else {
        std::cout << " (does not decode)\n";
        findings->Add(file + " at offset " + std::to_string(r.offset) + ": malformed seal");
      }
    } else {
      std::cout << '\n';
    }
  }

  if (scan.damaged) {
    const wal::Lsn damaged_lsn = scan.last_lsn + 1;
    const std::string where = file + " at offset " + std::to_string(scan.damage_offset) + " (LSN " +
                              std::to_string(damaged_lsn) + "): " + scan.damage_reason;
    if (obsolete) {
      std::cout << "damage in obsolete segment " << where << '\n';
    } else if (!last) {
      findings->Add(where + "; later segments exist, so this data was durable");
    } else if (scan.valid_after_damage && scan.max_synced_lsn_after_damage >= damaged_lsn) {
      findings->Add(where + "; the intact record at offset " +
                    std::to_string(scan.first_valid_after_offset) + " (LSN " +
                    std::to_string(scan.first_valid_after_lsn) +
                    ") was written after it had become durable");
    } else {
      std::cout << "torn tail: " << where
                << "; nothing durable follows, so the next writable open cuts the log here\n";
    }
  }
  return Chain{scan.last_lsn, scan.last_checksum};
}

int RunWalDump(const WalDumpArgs& a) {
  Env* env = Env::Default();
  const DbPaths paths(a.dir);
  const std::string superblock_path = paths.superblock();
  if (!env->FileExists(superblock_path)) {
    return ReportFailure("wal-dump",
                         Status::NotFound(a.dir + ": no Loci database here (no SUPERBLOCK)"));
  }
  // No lock, like a read-only open: a dump neither waits for nor blocks a writer.
  Findings findings;
  engine::Superblock sb;
  Status s = engine::ReadSuperblock(env, superblock_path, &sb);
  const bool have_sb = s.ok();
  if (have_sb) {
    std::cout << "superblock: seq " << sb.seq << ", checkpoint_lsn " << sb.checkpoint_lsn
              << ", wal_first_segment " << sb.wal_first_segment << ", clock_high_water "
              << (sb.clock_high_water == 0 ? "none" : FormatTime(sb.clock_high_water))
              << ", next_cube_id " << sb.next_cube_id << ", cube_id_limit " << sb.cube_id_limit
              << '\n';
  } else if (s.IsCorruption()) {
    findings.Add(s.message());
  } else {
    return ReportFailure("wal-dump", s);
  }

  std::vector<uint64_t> segments;
  s = wal::ListSegments(env, a.dir, &segments);
  if (!s.ok()) return ReportFailure("wal-dump", s);
  const uint64_t first_live = have_sb ? sb.wal_first_segment : 0;
  if (have_sb && std::find(segments.begin(), segments.end(), first_live) == segments.end()) {
    findings.Add(paths.wal_segment(first_live) +
                 ": WAL segment recorded in the superblock is missing");
  }
  CatalogNames names;
  std::optional<Chain> chain;
  if (have_sb) chain = Chain{sb.checkpoint_lsn, sb.checkpoint_checksum};
  uint64_t records = 0;
  wal::Lsn last_lsn = have_sb ? sb.checkpoint_lsn : 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const bool obsolete = segments[i] < first_live;
    const bool last = i + 1 == segments.size();
    if (!obsolete && i > 0 && segments[i - 1] >= first_live && segments[i] != segments[i - 1] + 1) {
      findings.Add(paths.wal_segment(segments[i - 1] + 1) + ": WAL segment missing (found " +
                   WalSegmentFileName(segments[i]) + " after it)");
    }
    std::optional<Chain> after =
        DumpSegment(env, a.dir, segments[i], last, obsolete, have_sb ? &sb : nullptr,
                    obsolete ? std::nullopt : chain, &names, &findings, &records);
    if (!obsolete) {
      chain = after;  // an unreadable segment leaves nothing to check the next one against
      if (after) last_lsn = after->last_lsn;
    }
  }
  std::cout << segments.size() << " segment(s), " << records << " record(s), last LSN " << last_lsn
            << '\n';
  if (!findings.damage.empty()) {
    std::string summary = findings.damage.size() == 1
                              ? findings.damage.front()
                              : std::to_string(findings.damage.size()) +
                                    " problems, first: " + findings.damage.front();
    return ReportFailure("wal-dump", Status::Corruption(summary));
  }
  return kExitOk;
}

}  // namespace

void RegisterWalDump(CLI::App* app, std::vector<Command>* commands) {
  auto args = std::make_shared<WalDumpArgs>();
  CLI::App* cmd = app->add_subcommand(
      "wal-dump", "Print every WAL record; exit 2 if the log is damaged beyond a torn tail");
  cmd->add_option("DIR", args->dir, "Database directory")->required();
  commands->push_back({cmd, [args] { return RunWalDump(*args); }});
}

}  // namespace loci::cli
