// Index snapshots: the file format and its decoder (every malformed input is Corruption naming
// the place), and the database's use of them: written with base checkpoints, restored at open
// only for the vectors the recovered versions still have, and never fatal when unusable.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <random>
#include <thread>

#include "common/file_names.h"
#include "index/partition.h"
#include "index/partition_snapshot.h"
#include "loci/db.h"
#include "loci/env.h"
#include "tests/sim/sim_env.h"
#include "tests/testutil.h"

namespace loci {
namespace {

// Stats once the background indexer has absorbed every version published so far: the index's
// sizes and answers are compared across reopens, where it must have its final shape.
DbStats IndexedStats(Db* db) {
  test::WaitForIndex(db);
  return db->Stats();
}

using test::Contains;
using test::RandomVector;

// --- The format

class SnapshotFormatTest : public testing::Test {
 protected:
  SnapshotFormatTest() : env_(NewMemEnv()), uuid_(test::TestUuid(3)) {}

  // A clustered partition of `n` vectors, exported, with made-up sources.
  index::PartitionSnapshot Clustered(uint32_t n) {
    index::PartitionOptions o;
    o.flat_limit = 64;
    o.list_target = 8;
    o.max_replicas = 2;
    o.replica_slack = 0.3f;
    index::Partition p(Metric::kL2, 12, o, &epochs_);
    std::mt19937_64 rng(5);
    for (uint32_t i = 0; i < n; ++i) {
      vectors_.push_back(RandomVector(rng, 12));
      p.Apply(i + 1, vectors_.back().data(), index::kNotLive);
    }
    index::PartitionSnapshot s;
    {
      gc::EpochDomain::Guard guard = epochs_.Pin();
      p.Export(&s);
    }
    s.space_id = 1;
    s.field_id = 2;
    for (size_t i = 0; i < s.entries.size(); ++i) {
      s.entries[i].source = {1, 4096 + 80 * i, 48, 1000 + i};
      s.entries[i].vector = nullptr;
    }
    return s;
  }

  std::string Write(const std::vector<index::PartitionSnapshot>& parts) {
    const std::string path = "/snap" + std::to_string(++files_);
    index::IndexSnapshotWriter w(env_.get(), path, uuid_, 7);
    EXPECT_TRUE(w.Open().ok());
    for (const auto& p : parts) EXPECT_TRUE(w.AddPartition(p).ok());
    uint64_t bytes = 0;
    EXPECT_TRUE(w.Finish(&bytes).ok());
    return test::ReadWholeFile(env_.get(), path);
  }

  Status Decode(const std::string& data, index::IndexSnapshot* out = nullptr) {
    index::IndexSnapshot local;
    return index::DecodeIndexSnapshot(data, "atlas-00000007.idx", uuid_, 7,
                                      out != nullptr ? out : &local);
  }

  std::unique_ptr<Env> env_;
  DbUuid uuid_;
  gc::EpochDomain epochs_;
  std::vector<std::vector<float>> vectors_;
  int files_ = 0;
};

// With `variable` set in the environment, writes `data` there as a fuzz_index_page seed (mode 0:
// a whole file).
void WriteSeedIfAsked(const char* variable, const std::string& data) {
  if (const char* seed = std::getenv(variable)) {
    std::unique_ptr<WritableFile> f;
    ASSERT_TRUE(Env::Default()->NewWritableFile(seed, Env::OpenMode::kCreateNew, &f).ok());
    ASSERT_TRUE(f->Write(0, std::string(1, '\0') + data).ok());
    ASSERT_TRUE(f->Sync().ok());
  }
}

TEST_F(SnapshotFormatTest, RoundTrip) {
  const index::PartitionSnapshot p = Clustered(300);
  ASSERT_TRUE(p.clustered);
  ASSERT_GT(p.lists.size(), 2u);
  EXPECT_EQ(p.entries.size(), 300u);
  index::PartitionSnapshot flat = Clustered(20);
  flat.field_id = 3;
  ASSERT_FALSE(flat.clustered);
  index::IndexSnapshot got;
  Status s = Decode(Write({p, flat}), &got);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(got.partitions.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const index::PartitionSnapshot& a = i == 0 ? p : flat;
    const index::PartitionSnapshot& b = got.partitions[i];
    EXPECT_EQ(a.field_id, b.field_id);
    EXPECT_EQ(a.metric, b.metric);
    EXPECT_EQ(a.dim, b.dim);
    EXPECT_EQ(a.clustered, b.clustered);
    EXPECT_EQ(a.page_capacity, b.page_capacity);
    EXPECT_EQ(a.split_attempts, b.split_attempts);
    ASSERT_EQ(a.entries.size(), b.entries.size());
    for (size_t e = 0; e < a.entries.size(); ++e) {
      EXPECT_EQ(a.entries[e].cube, b.entries[e].cube);
      EXPECT_EQ(a.entries[e].source, b.entries[e].source);
    }
    ASSERT_EQ(a.lists.size(), b.lists.size());
    for (size_t j = 0; j < a.lists.size(); ++j) {
      EXPECT_EQ(a.lists[j].centroid, b.lists[j].centroid);
      EXPECT_EQ(a.lists[j].split_at, b.lists[j].split_at);
      EXPECT_EQ(a.lists[j].hi, b.lists[j].hi);
      EXPECT_EQ(a.lists[j].lo, b.lists[j].lo);
      EXPECT_EQ(a.lists[j].scales, b.lists[j].scales);
      EXPECT_EQ(a.lists[j].biases, b.lists[j].biases);
      EXPECT_EQ(a.lists[j].entries, b.lists[j].entries);
    }
  }
}

// A partition with a projection: its directions and the pages' prefix planes round-trip, and
// impossible values in them are Corruption naming the place. With LOCI_INDEX_PAGE_PREFIXED_SEED
// set, writes the file there as a fuzz_index_page seed.
TEST_F(SnapshotFormatTest, PrefixPlanesRoundTripAndAreChecked) {
  index::PartitionOptions o;
  o.flat_limit = 64;
  o.list_target = 8;
  constexpr uint32_t kDim = 256;
  index::Partition partition(Metric::kL2, kDim, o, &epochs_);
  std::mt19937_64 rng(6);
  const test::LowRankVectors gen(rng, kDim, 4);
  for (uint32_t i = 0; i < 200; ++i) {
    vectors_.push_back(gen.Next(rng));
    partition.Apply(i + 1, vectors_.back().data(), index::kNotLive);
  }
  index::PartitionSnapshot p;
  {
    gc::EpochDomain::Guard guard = epochs_.Pin();
    partition.Export(&p);
  }
  p.space_id = 1;
  p.field_id = 2;
  for (size_t i = 0; i < p.entries.size(); ++i) p.entries[i].source = {1, 4096 * (i + 1), 1024, i};
  ASSERT_EQ(p.prefix_width, 64u);
  ASSERT_EQ(p.directions.size(), size_t{64} * kDim);
  index::IndexSnapshot got;
  const std::string data = Write({p});
  Status s = Decode(data, &got);
  ASSERT_TRUE(s.ok()) << s.ToString();
  // The seed fuzz/seeds/index_page/prefixed (fuzz/README.md).
  WriteSeedIfAsked("LOCI_INDEX_PAGE_PREFIXED_SEED", data);
  const index::PartitionSnapshot& b = got.partitions.at(0);
  EXPECT_EQ(b.prefix_width, p.prefix_width);
  EXPECT_EQ(b.prefix_energy, p.prefix_energy);
  EXPECT_EQ(b.directions, p.directions);
  ASSERT_EQ(b.lists.size(), p.lists.size());
  for (size_t j = 0; j < p.lists.size(); ++j) {
    ASSERT_EQ(p.lists[j].prefix.size(), size_t{p.lists[j].slots} * 32) << j;
    EXPECT_EQ(b.lists[j].prefix, p.lists[j].prefix) << j;
    EXPECT_EQ(b.lists[j].prefix_scales, p.lists[j].prefix_scales) << j;
  }

  struct Case {
    std::function<void(index::PartitionSnapshot&)> mutate;
    std::string says;
  };
  std::vector<Case> cases = {
      {[](auto& q) { q.prefix_width = 32; }, "bad prefix width"},
      {[](auto& q) { q.prefix_width = 256; }, "bad prefix width"},
      {[](auto& q) { q.prefix_energy = 1.5; },
       "projection section of partition (space 1, field 2): energy"},
      {[](auto& q) { q.directions[7] = NAN; }, "direction not finite"},
      {[](auto& q) { q.directions.pop_back(); },
       "projection section of partition (space 1, field 2): length"},
      {[](auto& q) { q.lists[1].prefix.pop_back(); }, "list 1: length does not match"},
      {[](auto& q) { q.lists[2].prefix_scales.clear(); }, "list 2: length does not match"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    index::PartitionSnapshot bad = p;
    cases[i].mutate(bad);
    Status st = Decode(Write({bad}));
    EXPECT_TRUE(st.IsCorruption()) << i << ": " << st.ToString();
    EXPECT_TRUE(Contains(st.ToString(), cases[i].says)) << i << ": " << st.ToString();
  }
  // Without the projection and the prefix planes together the file is consistent again.
  index::PartitionSnapshot unannounced = p;
  unannounced.prefix_width = 0;
  unannounced.directions.clear();
  for (auto& l : unannounced.lists) {
    l.prefix.clear();
    l.prefix_scales.clear();
  }
  EXPECT_TRUE(Decode(Write({unannounced})).ok());  // consistent without a prefix
}

// With LOCI_INDEX_PAGE_SEED set, writes there a clustered snapshot with routing groups: the
// fuzz_index_page seed fuzz/seeds/index_page/clustered_grouped (fuzz/README.md).
TEST_F(SnapshotFormatTest, ClusteredWithGroupsDecodes) {
  index::PartitionSnapshot p = Clustered(70);
  p.grouped_lists = static_cast<uint32_t>(p.lists.size());
  for (int g = 0; g < 2; ++g) {
    index::SnapshotGroup& group = p.groups.emplace_back();
    group.codes.assign(index::CodeStride(p.dim), static_cast<int8_t>(g + 1));
    group.sum = index::SumS8(group.codes.data(), group.codes.size());
    group.scale = 0.01f;
  }
  for (uint32_t j = 0; j < p.lists.size(); ++j) p.groups[j % 2].members.push_back(j);
  const std::string data = Write({p});
  index::IndexSnapshot got;
  ASSERT_TRUE(Decode(data, &got).ok());
  ASSERT_EQ(got.partitions.at(0).groups.size(), 2u);
  EXPECT_EQ(got.partitions[0].groups[1].members, p.groups[1].members);
  EXPECT_EQ(got.partitions[0].grouped_lists, p.grouped_lists);
  WriteSeedIfAsked("LOCI_INDEX_PAGE_SEED", data);
}

// Every byte flipped, and every truncation, of a small snapshot is Corruption naming the file
// and an offset; never a crash (ASan/UBSan builds run this too).
TEST_F(SnapshotFormatTest, EveryFlipAndTruncationIsCorruption) {
  const std::string good = Write({Clustered(70)});
  ASSERT_TRUE(Decode(good).ok());
  for (size_t i = 0; i < good.size(); i += 7) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    Status s = Decode(bad);
    ASSERT_TRUE(s.IsCorruption()) << i << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.ToString(), "atlas-00000007.idx at offset")) << s.ToString();
  }
  for (size_t n = 0; n < good.size(); n += 5) {
    Status s = Decode(good.substr(0, n));
    ASSERT_TRUE(s.IsCorruption()) << n << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.ToString(), "atlas-00000007.idx at offset")) << s.ToString();
  }
  Status other = index::DecodeIndexSnapshot(good, "x.idx", test::TestUuid(4), 7,
                                            std::make_unique<index::IndexSnapshot>().get());
  EXPECT_TRUE(other.IsCorruption()) << other.ToString();
  EXPECT_TRUE(Contains(other.ToString(), "another database")) << other.ToString();
  Status number = index::DecodeIndexSnapshot(good, "x.idx", uuid_, 8,
                                             std::make_unique<index::IndexSnapshot>().get());
  EXPECT_TRUE(number.IsCorruption()) << number.ToString();
  EXPECT_TRUE(Contains(number.ToString(), "file number")) << number.ToString();
}

// Sections with valid checksums but impossible contents (what a bug or a forger would write):
// each is Corruption naming the section, the partition and the list or group at fault.
TEST_F(SnapshotFormatTest, ImpossibleContentsAreCorruptionNamingThePlace) {
  const index::PartitionSnapshot good = Clustered(300);
  struct Case {
    std::function<void(index::PartitionSnapshot&)> mutate;
    std::string says;
  };
  std::vector<Case> cases = {
      {[](auto& p) { p.lists[2].entries[1] = static_cast<uint32_t>(p.entries.size()); },
       "list section of partition (space 1, field 2): list 2 slot 1: entry 300 out of range"},
      {[](auto& p) { p.dim = 0; }, "bad dimension"},
      {[](auto& p) { p.dim = index::kMaxSnapshotDim + 1; }, "bad dimension"},
      {[](auto& p) { p.plane_stride = 64; }, "plane stride"},
      {[](auto& p) { p.page_capacity = 0; }, "page capacity 0"},
      {[](auto& p) { p.metric = static_cast<Metric>(9); }, "unknown metric"},
      {[](auto& p) { p.clustered = false; }, "bad list or group count"},
      {[](auto& p) { p.lists[1].split_at = 1; }, "list 1: bad split threshold"},
      {[](auto& p) { p.lists[3].slots += 1; }, "list 3: length does not match"},
      {[](auto& p) { p.lists[3].centroid.pop_back(); }, "list 3: length does not match"},
      {[](auto& p) { p.lists[0].centroid[0] = NAN; }, "list 0: centroid not finite"},
      {[](auto& p) { p.lists[4].hi.pop_back(); }, "list 4: length does not match"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    index::PartitionSnapshot bad = good;
    cases[i].mutate(bad);
    Status s = Decode(Write({bad}));
    EXPECT_TRUE(s.IsCorruption()) << i << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.ToString(), cases[i].says)) << i << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.ToString(), "atlas-00000007.idx at offset")) << i << s.ToString();
  }
  // The same partition twice.
  Status twice = Decode(Write({good, good}));
  EXPECT_TRUE(Contains(twice.ToString(), "(space 1, field 2): appears twice")) << twice.ToString();
  // Groups: a list in two groups, or in none.
  index::PartitionSnapshot grouped = good;
  grouped.grouped_lists = static_cast<uint32_t>(grouped.lists.size());
  for (int g = 0; g < 2; ++g) {
    index::SnapshotGroup& group = grouped.groups.emplace_back();
    group.codes.assign(index::CodeStride(grouped.dim), 1);
    group.sum = static_cast<int32_t>(group.codes.size());
  }
  for (uint32_t j = 0; j < grouped.lists.size(); ++j) grouped.groups[j % 2].members.push_back(j);
  ASSERT_TRUE(Decode(Write({grouped})).ok());
  index::PartitionSnapshot bad_sum = grouped;
  bad_sum.groups[1].sum = 128 * (1 << 20);  // would overflow the scan's correction
  Status sum = Decode(Write({bad_sum}));
  EXPECT_TRUE(Contains(sum.ToString(), "group 1: code sum does not match its codes"))
      << sum.ToString();
  index::PartitionSnapshot twice_grouped = grouped;
  twice_grouped.groups[1].members.push_back(0);
  Status s = Decode(Write({twice_grouped}));
  EXPECT_TRUE(Contains(s.ToString(),
                       "groups section of partition (space 1, field 2): group 1: "
                       "list 0 out of range or in two groups"))
      << s.ToString();
  index::PartitionSnapshot ungrouped = grouped;
  ungrouped.groups[0].members.pop_back();
  s = Decode(Write({ungrouped}));
  EXPECT_TRUE(Contains(s.ToString(), "a list is in no group")) << s.ToString();
}

// --- The database

std::vector<std::string> Answers(Db* db, const std::string& field,
                                 const std::vector<std::vector<float>>& queries) {
  std::vector<std::string> out;
  test::WaitForIndex(db);  // answers from the index in its final shape
  for (const auto& q : queries) {
    SearchRequest r;
    r.spaces = {"s"};
    r.field = field;
    r.query = q;
    r.k = 10;
    std::vector<SearchHit> hits;
    Status s = db->Search(r, &hits);
    EXPECT_TRUE(s.ok()) << s.ToString();
    out.push_back(test::HitsLine(hits));
  }
  return out;
}

class IndexSnapshotTest : public testing::Test {
 protected:
  IndexSnapshotTest() : env_(NewMemEnv()) {
    std::mt19937_64 rng(11);
    for (int i = 0; i < 20; ++i) queries_.push_back(RandomVector(rng, kDim));
  }

  void Open(Env* env = nullptr) {
    db_.reset();
    Status s = Db::Open(test::SmallIndexOptions(env != nullptr ? env : env_.get()), dir_, &db_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  // n puts of random vectors in field v of space s (and every 4th an update of an earlier
  // cube's vector).
  void Write(int n, WriteOptions options = WriteOptions()) {
    for (int i = 0; i < n; ++i) {
      if (ids_.size() > 8 && i % 4 == 0) {
        CubePatch p;
        p.set_vectors.push_back({"v", RandomVector(rng_, kDim)});
        ASSERT_TRUE(db_->Update(options, ids_[rng_() % ids_.size()], p).ok());
        continue;
      }
      CubeDraft d;
      d.space = "s";
      d.vectors.push_back({"v", RandomVector(rng_, kDim)});
      Result<CubeId> id = db_->Put(options, d);
      ASSERT_TRUE(id.ok()) << id.status().ToString();
      ids_.push_back(*id);
    }
  }
  std::vector<std::string> Answers() { return loci::Answers(db_.get(), "v", queries_); }
  // The k nearest to q in field v, probing every list.
  std::vector<SearchHit> Nearest(const std::vector<float>& q, uint32_t k) {
    SearchRequest r;
    r.spaces = {"s"};
    r.field = "v";
    r.query = q;
    r.k = k;
    r.probes = 1000;
    std::vector<SearchHit> hits;
    EXPECT_TRUE(db_->Search(r, &hits).ok());
    return hits;
  }
  std::vector<std::string> Snapshots(Env* env = nullptr) {
    std::vector<std::string> names, out;
    EXPECT_TRUE((env != nullptr ? env : env_.get())->GetChildren(dir_, &names).ok());
    for (const std::string& n : names) {
      uint64_t number;
      if (ParseIndexSnapshotFileName(n, &number)) out.push_back(n);
    }
    return out;
  }

  static constexpr uint32_t kDim = 12;
  std::unique_ptr<Env> env_;
  std::string dir_ = "/db";
  std::unique_ptr<Db> db_;
  std::mt19937_64 rng_{21};
  std::vector<CubeId> ids_;
  std::vector<std::vector<float>> queries_;
};

TEST_F(IndexSnapshotTest, ReopenRestoresTheIndexWithTheSameAnswers) {
  Open();
  Write(700);
  ASSERT_TRUE(db_->Checkpoint().ok());
  ASSERT_EQ(Snapshots().size(), 1u);
  const DbStats live = IndexedStats(db_.get());
  ASSERT_GT(live.vector_fields.at(0).index_lists, 10u);  // clustered
  const std::vector<std::string> before = Answers();
  Open();
  EXPECT_EQ(Answers(), before);
  const DbStats after = IndexedStats(db_.get());
  EXPECT_EQ(after.index_restored_vectors, live.vector_fields[0].vectors);
  EXPECT_EQ(after.index_rebuilt_vectors, 0u);
  EXPECT_EQ(after.index_vectors, live.index_vectors);
  EXPECT_EQ(after.index_bytes, live.index_bytes);
  EXPECT_EQ(after.recovery, "");
  // The restored index grows as the live one would have (the same splits, with the same
  // seeds): after more writes, the same lists, replicas and answers as an index rebuilt from
  // every version.
  Write(300);
  const std::vector<std::string> grown = Answers();
  const DbStats grown_stats = IndexedStats(db_.get());
  db_.reset();
  for (const std::string& name : Snapshots()) ASSERT_TRUE(env_->RemoveFile(dir_ + "/" + name).ok());
  Open();  // a rebuild from the versions: the shape the live index had
  EXPECT_EQ(IndexedStats(db_.get()).index_restored_vectors, 0u);
  EXPECT_EQ(Answers(), grown);
  EXPECT_EQ(IndexedStats(db_.get()).index_vectors, grown_stats.index_vectors);
  EXPECT_EQ(IndexedStats(db_.get()).vector_fields.at(0).index_lists,
            grown_stats.vector_fields[0].index_lists);
}

// The same with a projection and prefix planes (wide, low-rank vectors): restored, not learned
// again, with the same answers, and growing as the live index would.
TEST_F(IndexSnapshotTest, ReopenRestoresAPrefixedIndex) {
  constexpr uint32_t kWide = 256;
  std::mt19937_64 rng(31);
  const test::LowRankVectors gen(rng, kWide, 4);
  std::vector<std::vector<float>> queries;
  for (int i = 0; i < 20; ++i) queries.push_back(gen.Next(rng));
  auto write = [&](int n) {
    for (int i = 0; i < n; ++i) {
      CubeDraft d;
      d.space = "s";
      d.vectors.push_back({"w", gen.Next(rng)});
      ASSERT_TRUE(db_->Put(WriteOptions{.sync = false}, d).ok());
    }
  };
  Open();
  WriteBatch define;
  define.DefineVectorField("s", "w", kWide, Metric::kL2);
  ASSERT_TRUE(db_->Write(WriteOptions(), define, nullptr).ok());
  write(500);
  ASSERT_TRUE(db_->Checkpoint().ok());
  const DbStats live = IndexedStats(db_.get());
  ASSERT_EQ(live.vector_fields.size(), 1u);
  ASSERT_GT(live.vector_fields[0].index_prefix_width, 0u);
  const std::vector<std::string> before = loci::Answers(db_.get(), "w", queries);
  Open();
  EXPECT_EQ(loci::Answers(db_.get(), "w", queries), before);
  const DbStats after = IndexedStats(db_.get());
  EXPECT_EQ(after.index_restored_vectors, 500u);
  EXPECT_EQ(after.index_rebuilt_vectors, 0u);
  EXPECT_EQ(after.vector_fields.at(0).index_prefix_width, live.vector_fields[0].index_prefix_width);
  EXPECT_EQ(after.index_bytes, live.index_bytes);
  write(200);
  const std::vector<std::string> grown = loci::Answers(db_.get(), "w", queries);
  db_.reset();
  for (const std::string& name : Snapshots()) ASSERT_TRUE(env_->RemoveFile(dir_ + "/" + name).ok());
  Open();  // rebuilt from the versions
  EXPECT_EQ(IndexedStats(db_.get()).index_restored_vectors, 0u);
  EXPECT_EQ(loci::Answers(db_.get(), "w", queries), grown);
}

// A snapshot that cannot be written (here its sync fails) is derived data lost, not a failed
// checkpoint: the checkpoint succeeds, the instance stays writable, no partial file is left,
// the failure is counted, and the next open rebuilds the index with the same answers.
TEST_F(IndexSnapshotTest, AFailedSnapshotWriteCostsOnlyARebuild) {
  sim::SimEnv env(8);
  Open(&env);
  Write(300);
  env.HoldNextWrite("atlas-");
  Status checkpointed;
  std::thread checkpoint([&] { checkpointed = db_->Checkpoint(); });
  while (env.held_writes() == 0) std::this_thread::yield();
  env.FailSyncs(1);  // the snapshot's own sync, right after its (only) write
  env.ReleaseWrites();
  checkpoint.join();
  EXPECT_TRUE(checkpointed.ok()) << checkpointed.ToString();
  EXPECT_EQ(IndexedStats(db_.get()).index_snapshots_failed, 1u);
  EXPECT_TRUE(Snapshots(&env).empty());
  Write(10);  // still writable
  const std::vector<std::string> live = Answers();
  Open(&env);
  EXPECT_EQ(IndexedStats(db_.get()).index_restored_vectors, 0u);
  EXPECT_EQ(Answers(), live);
  db_.reset();  // before `env`
}

TEST_F(IndexSnapshotTest, WritesAfterTheSnapshotAreAppliedFromTheWal) {
  Open();
  Write(400);
  ASSERT_TRUE(db_->Checkpoint().ok());
  const uint64_t snapshot_vectors = IndexedStats(db_.get()).vector_fields.at(0).vectors;
  // After the snapshot: new cubes, new vectors, an attribute-only update and a retire of cubes
  // the snapshot holds.
  Write(60);
  CubePatch attrs;
  attrs.set_attrs.push_back({"topic", "x"});
  Result<uint32_t> kept = db_->Update(WriteOptions(), ids_[3], attrs);
  ASSERT_TRUE(kept.ok());
  MemCube retired;
  ASSERT_TRUE(db_->Get(ReadOptions(), ids_[5], &retired).ok());
  ASSERT_TRUE(db_->Retire(WriteOptions(), ids_[5], std::nullopt).ok());
  MemCube updated;
  ASSERT_TRUE(db_->Get(ReadOptions(), ids_[3], &updated).ok());
  const std::vector<std::string> live = Answers();
  const uint64_t vectors = IndexedStats(db_.get()).vector_fields.at(0).vectors;
  Open();
  EXPECT_EQ(Answers(), live);
  EXPECT_EQ(IndexedStats(db_.get()).index_restored_vectors, snapshot_vectors);
  EXPECT_EQ(IndexedStats(db_.get()).index_rebuilt_vectors, vectors - snapshot_vectors);
  // The retired cube is not found by its own vector; the updated one is, at its new version.
  for (const SearchHit& h : Nearest(retired.vectors.at(0).values, 3)) EXPECT_NE(h.id, ids_[5]);
  const std::vector<SearchHit> hits = Nearest(updated.vectors.at(0).values, 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].id, ids_[3]);
  EXPECT_EQ(hits[0].version, *kept);
}

// Entries the snapshot took from commits a crash then lost are not restored; a later cube that
// gets the lost one's id and blob offset does not inherit its entry either.
TEST_F(IndexSnapshotTest, VersionsTheCrashLostAreNotRestored) {
  sim::SimEnv env(5);
  Open(&env);
  Write(300);
  const uint64_t durable = IndexedStats(db_.get()).vector_fields.at(0).vectors;
  // The checkpoint (the first: a base) is held at its file's first write, after the WAL was
  // cut; non-sync puts published meanwhile are in the index it then exports.
  env.HoldNextWrite("ckpt-");
  Status checkpointed;
  std::atomic<bool> finished{false};
  std::thread checkpoint([&] {
    checkpointed = db_->Checkpoint();
    finished = true;
  });
  // A failed assertion below returns early: the thread is released and joined first.
  struct JoinOnExit {
    std::thread& thread;
    sim::SimEnv& env;
    ~JoinOnExit() {
      if (!thread.joinable()) return;
      env.ReleaseWrites();
      thread.join();
    }
  } join_on_exit{checkpoint, env};
  while (env.held_writes() == 0 && !finished) std::this_thread::yield();
  ASSERT_FALSE(finished) << checkpointed.ToString();
  std::vector<std::vector<float>> lost;
  for (int i = 0; i < 10; ++i) {
    lost.push_back(RandomVector(rng_, kDim));
    CubeDraft d;
    d.space = "s";
    d.vectors.push_back({"v", lost.back()});
    ASSERT_TRUE(db_->Put(WriteOptions{.sync = false}, d).ok());
  }
  env.ReleaseWrites();
  checkpoint.join();
  ASSERT_TRUE(checkpointed.ok()) << checkpointed.ToString();
  env.Crash(sim::CrashMode::kDropAll);
  db_.reset();

  Open(&env);
  ASSERT_EQ(Snapshots(&env).size(), 1u);
  EXPECT_EQ(IndexedStats(db_.get()).cubes, ids_.size());  // the non-sync puts are gone
  EXPECT_EQ(IndexedStats(db_.get()).index_restored_vectors, durable);
  EXPECT_EQ(IndexedStats(db_.get()).index_rebuilt_vectors, 0u);
  for (const auto& q : lost) {
    const std::vector<SearchHit> hits = Nearest(q, 1);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_LT(hits[0].score, 0.99f);  // not itself (cosine)
  }
  // New cubes take the lost ones' ids and blob offsets, with other vectors.
  std::vector<std::vector<float>> fresh;
  for (int i = 0; i < 10; ++i) {
    fresh.push_back(RandomVector(rng_, kDim));
    CubeDraft d;
    d.space = "s";
    d.vectors.push_back({"v", fresh.back()});
    ASSERT_TRUE(db_->Put(WriteOptions(), d).ok());
  }
  const std::vector<std::string> live = Answers();
  Open(&env);
  EXPECT_EQ(IndexedStats(db_.get()).index_restored_vectors, durable);
  EXPECT_EQ(IndexedStats(db_.get()).index_rebuilt_vectors, 10u);
  EXPECT_EQ(Answers(), live);
  for (const auto& q : fresh) {
    const std::vector<SearchHit> hits = Nearest(q, 1);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_NEAR(hits[0].score, 1.0f, 1e-5);
  }
  db_.reset();  // before `env`
}

TEST_F(IndexSnapshotTest, AnUnusableSnapshotMeansARebuild) {
  Open();
  Write(500);
  ASSERT_TRUE(db_->Checkpoint().ok());
  const std::vector<std::string> before = Answers();
  db_.reset();
  const std::vector<std::string> names = Snapshots();
  ASSERT_EQ(names.size(), 1u);
  const std::string path = dir_ + "/" + names[0];
  const std::string good = test::ReadWholeFile(env_.get(), path);
  auto replace = [&](const std::string& contents) {
    ASSERT_TRUE(env_->RemoveFile(path).ok());
    std::unique_ptr<WritableFile> f;
    ASSERT_TRUE(env_->NewWritableFile(path, Env::OpenMode::kCreateNew, &f).ok());
    ASSERT_TRUE(f->Write(0, contents).ok());
  };
  std::string flipped = good;
  flipped[good.size() / 2] ^= 1;
  struct Case {
    std::string contents;
    std::string says;
  };
  for (const Case& c : {Case{flipped, "checksum mismatch"},
                        Case{good.substr(0, 1000), " at offset "}, Case{"", "bad magic"}}) {
    replace(c.contents);
    Open();
    const DbStats stats = IndexedStats(db_.get());
    EXPECT_TRUE(Contains(stats.recovery, "index snapshot not used")) << stats.recovery;
    EXPECT_TRUE(Contains(stats.recovery, names[0])) << stats.recovery;
    EXPECT_TRUE(Contains(stats.recovery, c.says)) << stats.recovery;
    EXPECT_EQ(stats.index_restored_vectors, 0u);
    EXPECT_EQ(Answers(), before);
    db_.reset();
  }
}

// A vector blob damaged on disk stays out of the index even though the snapshot has its entry.
TEST_F(IndexSnapshotTest, DamagedVectorBlobIsNotRestored) {
  Open();
  Write(200);
  const std::vector<float> marked = {1234.5f, -77.25f, 3.5f, 9.0f, 1, 2, 3, 4, 5, 6, 7, 8};
  CubeDraft d;
  d.space = "s";
  d.vectors.push_back({"v", marked});
  Result<CubeId> damaged = db_->Put(WriteOptions(), d);
  ASSERT_TRUE(damaged.ok());
  ASSERT_TRUE(db_->Checkpoint().ok());
  const uint64_t vectors = IndexedStats(db_.get()).vector_fields.at(0).vectors;
  db_.reset();
  test::DamageVectorInFile(env_.get(), dir_ + "/arena-00000001.blob", marked);
  ASSERT_FALSE(HasFatalFailure());

  Open();
  EXPECT_TRUE(Contains(IndexedStats(db_.get()).recovery, "not fully indexed"))
      << IndexedStats(db_.get()).recovery;
  EXPECT_EQ(IndexedStats(db_.get()).index_restored_vectors, vectors - 1);
  EXPECT_EQ(IndexedStats(db_.get()).index_rebuilt_vectors, 0u);
  SearchRequest r;
  r.spaces = {"s"};
  r.field = "v";
  r.query = marked;
  r.k = 1000;
  r.probes = 1000;
  std::vector<SearchHit> hits;
  ASSERT_TRUE(db_->Search(r, &hits).ok());
  for (const SearchHit& h : hits) EXPECT_NE(h.id, *damaged);
}

// A dropped field's partition in the snapshot is ignored; the other field's is restored.
TEST_F(IndexSnapshotTest, ADroppedFieldsPartitionIsIgnored) {
  Open();
  std::mt19937_64 rng(2);
  for (int i = 0; i < 150; ++i) {
    CubeDraft d;
    d.space = "s";
    d.vectors.push_back({"a", RandomVector(rng, 4)});
    d.vectors.push_back({"b", RandomVector(rng, 6)});
    ASSERT_TRUE(db_->Put(WriteOptions(), d).ok());
  }
  ASSERT_TRUE(db_->Checkpoint().ok());
  WriteBatch drop;
  drop.DropVectorField("s", "a");
  ASSERT_TRUE(db_->Write(WriteOptions(), drop, nullptr).ok());
  // "a" again, another shape: nothing of the old partition may come back into it.
  WriteBatch define;
  define.DefineVectorField("s", "a", 5, Metric::kCosine);
  ASSERT_TRUE(db_->Write(WriteOptions(), define, nullptr).ok());
  for (int i = 0; i < 10; ++i) {
    CubeDraft d;
    d.space = "s";
    d.vectors.push_back({"a", RandomVector(rng, 5)});
    ASSERT_TRUE(db_->Put(WriteOptions(), d).ok());
  }
  std::vector<std::vector<float>> qa, qb;
  for (int i = 0; i < 5; ++i) {
    qa.push_back(RandomVector(rng, 5));
    qb.push_back(RandomVector(rng, 6));
  }
  const auto a = loci::Answers(db_.get(), "a", qa);
  const auto b = loci::Answers(db_.get(), "b", qb);
  Open();
  EXPECT_EQ(IndexedStats(db_.get()).index_restored_vectors, 150u);  // b's
  EXPECT_EQ(IndexedStats(db_.get()).index_rebuilt_vectors, 10u);    // the new a's
  EXPECT_EQ(loci::Answers(db_.get(), "a", qa), a);
  EXPECT_EQ(loci::Answers(db_.get(), "b", qb), b);
}

// Only the snapshot of the base checkpoint is kept: a new base replaces it, deltas do not
// write one, and a stray one (a crash between writing it and the superblock switch) is removed
// at the next open.
TEST_F(IndexSnapshotTest, OneSnapshotWithTheBase) {
  Open();
  Write(100);
  ASSERT_TRUE(db_->Checkpoint().ok());
  const std::vector<std::string> first = Snapshots();
  ASSERT_EQ(first.size(), 1u);
  Write(10);
  ASSERT_TRUE(db_->Checkpoint().ok());  // a delta (small next to the base)
  EXPECT_EQ(Snapshots(), first);
  Write(300);
  ASSERT_TRUE(db_->Checkpoint().ok());  // another delta
  EXPECT_EQ(Snapshots(), first);
  Write(1);
  ASSERT_TRUE(db_->Checkpoint().ok());  // the deltas outgrew the base: a new base
  const std::vector<std::string> second = Snapshots();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(second, first);
  db_.reset();
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(
      env_->NewWritableFile(dir_ + "/atlas-00000099.idx", Env::OpenMode::kCreateNew, &f).ok());
  ASSERT_TRUE(f->Write(0, "stray").ok());
  f.reset();
  Open();
  EXPECT_TRUE(Contains(IndexedStats(db_.get()).recovery, "atlas-00000099.idx"))
      << IndexedStats(db_.get()).recovery;
  EXPECT_GT(IndexedStats(db_.get()).index_restored_vectors, 0u);  // from the older, valid one
  EXPECT_EQ(Snapshots(), second);
}

// Snapshots written while writers commit and readers search (TSan runs this: the export may
// read only what readers may), then restored: at full effort (every list probed, every
// candidate re-ranked) the answers are those of the live index and of a rebuilt one.
TEST(IndexSnapshotConcurrencyTest, SnapshotsTakenDuringWritesRestoreExactly) {
  std::unique_ptr<Env> env = NewMemEnv();
  Options o = test::SmallIndexOptions(env.get());
  std::unique_ptr<Db> db;
  ASSERT_TRUE(Db::Open(o, "/db", &db).ok());
  constexpr uint32_t kDim = 8;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  auto writer = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<CubeId> mine;
    for (int i = 0; i < 400 && !stop; ++i) {
      if (mine.size() > 4 && i % 3 == 0) {
        CubePatch p;
        p.set_vectors.push_back({"v", RandomVector(rng, kDim)});
        if (!db->Update(WriteOptions{.sync = false}, mine[rng() % mine.size()], p).ok()) ++failures;
        continue;
      }
      CubeDraft d;
      d.space = "s";
      d.vectors.push_back({"v", RandomVector(rng, kDim)});
      Result<CubeId> id = db->Put(WriteOptions{.sync = false}, d);
      if (!id.ok()) {
        ++failures;
        continue;
      }
      mine.push_back(*id);
    }
  };
  auto reader = [&] {
    std::mt19937_64 rng(99);
    while (!stop) {
      SearchRequest r;
      r.spaces = {"s"};
      r.field = "v";
      r.query = RandomVector(rng, kDim);
      std::vector<SearchHit> hits;
      Status s = db->Search(r, &hits);
      if (!s.ok() && !s.IsInvalidArgument()) ++failures;  // before the field exists
    }
  };
  std::atomic<int> writers_done{0};
  auto writer_then_done = [&](uint64_t seed) {
    writer(seed);
    ++writers_done;
  };
  std::thread w1(writer_then_done, 1), w2(writer_then_done, 2), r1(reader);
  // The first checkpoint (a base, with the index snapshot) only once there is something to
  // snapshot, and then checkpoints for as long as the writers write, however the threads are
  // scheduled (a fixed number of checkpoints could all come before the first write).
  while (db->Stats().cubes < 50 && writers_done < 2) std::this_thread::yield();
  Status checkpointed;
  int checkpoints = 0;
  while (checkpointed.ok() && (writers_done < 2 || checkpoints < 5)) {
    checkpointed = db->Checkpoint();
    ++checkpoints;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!checkpointed.ok()) stop = true;  // the writers stop early too
  w1.join();
  w2.join();
  stop = true;
  r1.join();
  ASSERT_TRUE(checkpointed.ok()) << checkpointed.ToString();
  ASSERT_EQ(failures.load(), 0);

  std::mt19937_64 rng(7);
  std::vector<std::vector<float>> queries;
  for (int i = 0; i < 20; ++i) queries.push_back(RandomVector(rng, kDim));
  auto answers = [&] {
    std::vector<std::string> out;
    for (const auto& q : queries) {
      SearchRequest r;
      r.spaces = {"s"};
      r.field = "v";
      r.query = q;
      r.k = 10;
      r.probes = kMaxSearchProbes;
      r.rerank = kMaxSearchRerank;
      std::vector<SearchHit> hits;
      EXPECT_TRUE(db->Search(r, &hits).ok());
      out.push_back(test::HitsLine(hits));
    }
    return out;
  };
  const std::vector<std::string> live = answers();
  const uint64_t vectors = IndexedStats(db.get()).vector_fields.at(0).vectors;
  db.reset();
  ASSERT_TRUE(Db::Open(o, "/db", &db).ok());
  EXPECT_GT(IndexedStats(db.get()).index_restored_vectors, 0u);
  EXPECT_EQ(
      IndexedStats(db.get()).index_restored_vectors + IndexedStats(db.get()).index_rebuilt_vectors,
      vectors);
  EXPECT_EQ(IndexedStats(db.get()).recovery, "");
  EXPECT_EQ(answers(), live);
  db.reset();
  std::vector<std::string> names;
  ASSERT_TRUE(env->GetChildren("/db", &names).ok());
  for (const std::string& n : names) {
    uint64_t number;
    if (ParseIndexSnapshotFileName(n, &number)) {
      ASSERT_TRUE(env->RemoveFile("/db/" + n).ok());
    }
  }
  ASSERT_TRUE(Db::Open(o, "/db", &db).ok());
  EXPECT_EQ(IndexedStats(db.get()).index_restored_vectors, 0u);
  EXPECT_EQ(answers(), live);
}

TEST(IndexSnapshotPosixTest, SnapshotFileIsOwnerOnly) {
  test::TempDir dir;
  Options o;
  o.create_if_missing = true;
  std::unique_ptr<Db> db;
  Status opened = Db::Open(o, dir.path(), &db);
  ASSERT_TRUE(opened.ok()) << opened.ToString();
  CubeDraft d;
  d.space = "s";
  d.vectors.push_back({"v", {1, 2, 3}});
  ASSERT_TRUE(db->Put(WriteOptions(), d).ok());
  ASSERT_TRUE(db->Checkpoint().ok());
  std::vector<std::string> names;
  ASSERT_TRUE(Env::Default()->GetChildren(dir.path(), &names).ok());
  int snapshots = 0;
  for (const std::string& n : names) {
    uint64_t number;
    if (!ParseIndexSnapshotFileName(n, &number)) continue;
    ++snapshots;
    struct stat st;
    ASSERT_EQ(stat(dir.Join(n).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << n;
  }
  EXPECT_EQ(snapshots, 1);
}

}  // namespace
}  // namespace loci
