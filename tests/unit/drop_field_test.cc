// WriteBatch::DropVectorField end to end: the migration to a new embedding field (define B,
// backfill, switch queries, drop A) with search answers, Get/History/as-of reads, Stats and index
// memory checked; redefinition under a new id; refused drops and writes; operations in batch
// order; the drop surviving reopen (WAL replay), checkpoints (base and delta, before and after
// the drop) and simulated power loss; and recovery refusing a logged version that keeps a
// dropped field's vector.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "engine/record_codec.h"
#include "engine/superblock.h"
#include "loci/db.h"
#include "loci/env.h"
#include "tests/sim/sim_env.h"
#include "tests/testutil.h"
#include "wal/log_writer.h"
#include "wal/replay.h"

namespace loci {
namespace {

// Stats once the background indexer has absorbed every version published so far: the index's
// sizes and answers are compared across reopens, where it must have its final shape.
DbStats IndexedStats(Db* db) {
  test::WaitForIndex(db);
  return db->Stats();
}

using test::Contains;
using test::HitsLine;
using test::RandomVector;
// Clustered partitions with replicas, so that dropping releases a layout with many lists.
using test::SmallIndexOptions;

constexpr uint32_t kDimA = 8;
constexpr uint32_t kDimB = 16;

Status Define(Db* db, const std::string& space, const std::string& field, uint32_t dim,
              Metric metric) {
  WriteBatch b;
  b.DefineVectorField(space, field, dim, metric);
  return db->Write(WriteOptions(), b, nullptr);
}

Status Drop(Db* db, const std::string& space, const std::string& field,
            WriteOptions options = WriteOptions()) {
  WriteBatch b;
  b.DropVectorField(space, field);
  return db->Write(options, b, nullptr);
}

Status Search(Db* db, const std::string& space, const std::string& field,
              const std::vector<float>& query, std::vector<SearchHit>* hits, uint32_t k = 10) {
  SearchRequest r;
  r.spaces = {space};
  r.field = field;
  r.query = query;
  r.k = k;
  return db->Search(r, hits);
}

// "id/version/score ..." per query, or the error.
std::vector<std::string> Answers(Db* db, const std::string& space, const std::string& field,
                                 const std::vector<std::vector<float>>& queries) {
  std::vector<std::string> out;
  test::WaitForIndex(db);  // answers from the index in its final shape
  for (const auto& q : queries) {
    std::vector<SearchHit> hits;
    Status s = Search(db, space, field, q, &hits);
    out.push_back(s.ok() ? HitsLine(hits) : s.ToString());
  }
  return out;
}

// Every version of every cube with its vectors: "space id vN: field/dim/first value ...".
std::string VectorsOfAllVersions(Db* db, const ReadOptions& ro = ReadOptions()) {
  std::string out;
  const uint64_t cubes = IndexedStats(db).cubes;
  for (CubeId id = 1; id <= cubes; ++id) {
    std::vector<MemCube> versions;
    Status s = db->History(ro, id, &versions);
    if (s.IsNotFound()) break;  // ids go in commit order: none later existed at ro's as_of
    EXPECT_TRUE(s.ok()) << "cube " << id << ": " << s.ToString();
    for (const MemCube& c : versions) {
      out += c.space + " " + std::to_string(id) + " v" + std::to_string(c.version) + ":";
      for (const NamedVector& v : c.vectors) {
        out += " " + v.field + "/" + std::to_string(v.values.size()) + "/" +
               std::to_string(v.values[0]);
      }
      out += "\n";
    }
  }
  return out;
}

// "space/field dim metric vectors" per listed vector field.
std::set<std::string> FieldList(Db* db) {
  std::set<std::string> out;
  for (const VectorFieldInfo& f : IndexedStats(db).vector_fields) {
    out.insert(f.space + "/" + f.name + " " + std::to_string(f.dim) + " " + f.metric + " " +
               std::to_string(f.vectors));
  }
  return out;
}

bool HasVector(const MemCube& c, const std::string& field) {
  return std::any_of(c.vectors.begin(), c.vectors.end(),
                     [&](const NamedVector& v) { return v.field == field; });
}

class DropFieldTest : public testing::Test {
 protected:
  DropFieldTest() : env_(NewMemEnv()) {}

  void Open() {
    db_.reset();
    Status s = Db::Open(SmallIndexOptions(env_.get()), "/db", &db_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Cubes in space s with an A vector (and in space t, whose own field A must not be touched).
  void PutWithA(int n) {
    for (int i = 0; i < n; ++i) {
      CubeDraft d;
      d.space = i % 4 == 3 ? "t" : "s";
      d.vectors.push_back({"A", RandomVector(rng_, kDimA)});
      Result<CubeId> id = db_->Put(WriteOptions{.sync = false}, d);
      ASSERT_TRUE(id.ok()) << id.status().ToString();
      (d.space == "s" ? s_ids_ : t_ids_).push_back(*id);
    }
  }

  // The backfill: every cube of s gets a B vector by Update (keeping its A vector).
  void BackfillB() {
    for (CubeId id : s_ids_) {
      CubePatch p;
      p.set_vectors.push_back({"B", RandomVector(rng_, kDimB)});
      ASSERT_TRUE(db_->Update(WriteOptions{.sync = false}, id, p).ok());
    }
  }

  std::vector<std::vector<float>> Queries(uint32_t dim, int n = 12) {
    std::vector<std::vector<float>> out;
    for (int i = 0; i < n; ++i) out.push_back(RandomVector(rng_, dim));
    return out;
  }

  std::unique_ptr<Env> env_;
  std::unique_ptr<Db> db_;
  std::mt19937_64 rng_{7};
  std::vector<CubeId> s_ids_;
  std::vector<CubeId> t_ids_;
};

TEST_F(DropFieldTest, MigrationToANewEmbeddingField) {
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_TRUE(Define(db_.get(), "s", "A", kDimA, Metric::kCosine).ok());
  ASSERT_TRUE(Define(db_.get(), "t", "A", kDimA, Metric::kCosine).ok());
  PutWithA(400);
  ASSERT_TRUE(Define(db_.get(), "s", "B", kDimB, Metric::kL2).ok());
  BackfillB();
  // Some A vectors change after the backfill: A has several versions per cube.
  for (size_t i = 0; i < s_ids_.size(); i += 3) {
    CubePatch p;
    p.set_vectors.push_back({"A", RandomVector(rng_, kDimA)});
    ASSERT_TRUE(db_->Update(WriteOptions{.sync = false}, s_ids_[i], p).ok());
  }
  const auto queries_a = Queries(kDimA);
  const auto queries_b = Queries(kDimB);
  const std::vector<std::string> b_before = Answers(db_.get(), "s", "B", queries_b);
  const std::vector<std::string> t_a_before = Answers(db_.get(), "t", "A", queries_a);
  std::vector<SearchHit> hits;
  ASSERT_TRUE(Search(db_.get(), "s", "A", queries_a[0], &hits).ok());
  ASSERT_EQ(hits.size(), 10u);
  const DbStats stats_before = IndexedStats(db_.get());
  uint64_t a_vectors = 0;
  for (const VectorFieldInfo& f : stats_before.vector_fields) {
    if (f.space == "s" && f.name == "A") a_vectors = f.vectors;
  }
  ASSERT_GT(a_vectors, s_ids_.size());
  MemCube cube;
  ASSERT_TRUE(db_->Get(ReadOptions(), s_ids_[0], &cube).ok());
  ASSERT_TRUE(HasVector(cube, "A") && HasVector(cube, "B"));
  std::shared_ptr<const Snapshot> before_drop = db_->GetSnapshot();

  WriteBatch drop;
  drop.DropVectorField("s", "A");
  WriteResult result;
  ASSERT_TRUE(db_->Write(WriteOptions(), drop, &result).ok());
  ASSERT_EQ(result.ops.size(), 1u);
  EXPECT_EQ(result.ops[0].id, 0u);
  EXPECT_EQ(result.ops[0].version, 0u);

  // Search on A: the error of a field never defined.
  Status dropped = Search(db_.get(), "s", "A", queries_a[0], &hits);
  Status never = Search(db_.get(), "s", "never", queries_a[0], &hits);
  EXPECT_TRUE(dropped.IsInvalidArgument()) << dropped.ToString();
  EXPECT_TRUE(hits.empty());
  EXPECT_EQ(dropped.ToString(), "InvalidArgument: space 's' has no vector field 'A'");
  EXPECT_EQ(never.ToString(), "InvalidArgument: space 's' has no vector field 'never'");
  // Also at a read point before the drop: the drop is not versioned.
  SearchRequest old_point;
  old_point.spaces = {"s"};
  old_point.field = "A";
  old_point.query = queries_a[0];
  old_point.snapshot = before_drop.get();
  EXPECT_TRUE(db_->Search(old_point, &hits).IsInvalidArgument());
  // B and t's A answer exactly as before.
  EXPECT_EQ(Answers(db_.get(), "s", "B", queries_b), b_before);
  EXPECT_EQ(Answers(db_.get(), "t", "A", queries_a), t_a_before);

  // No version, however old and at whatever read point, shows an A vector in s.
  for (CubeId id : s_ids_) {
    ASSERT_TRUE(db_->Get(ReadOptions(), id, &cube).ok());
    EXPECT_FALSE(HasVector(cube, "A")) << id;
    EXPECT_TRUE(HasVector(cube, "B")) << id;
    std::vector<MemCube> history;
    ReadOptions at_drop;
    at_drop.snapshot = before_drop.get();
    for (const ReadOptions& ro : {at_drop, ReadOptions()}) {
      ASSERT_TRUE(db_->History(ro, id, &history).ok());
      ASSERT_GE(history.size(), 2u);
      for (const MemCube& v : history) EXPECT_FALSE(HasVector(v, "A")) << id << " v" << v.version;
      EXPECT_TRUE(HasVector(history.back(), "B"));
    }
    // Version 1, read as of its own commit: it had only A.
    ReadOptions v1;
    v1.as_of = history[0].tx_from;
    ASSERT_TRUE(db_->Get(v1, id, &cube).ok());
    EXPECT_EQ(cube.version, 1u);
    EXPECT_TRUE(cube.vectors.empty()) << id;
  }
  // t's cubes keep their A vectors.
  ASSERT_FALSE(t_ids_.empty());
  ASSERT_TRUE(db_->Get(ReadOptions(), t_ids_[0], &cube).ok());
  ASSERT_EQ(cube.space, "t");
  EXPECT_TRUE(HasVector(cube, "A"));

  // Stats: s/A is gone, its index memory released.
  const DbStats stats_after = IndexedStats(db_.get());
  for (const VectorFieldInfo& f : stats_after.vector_fields) {
    EXPECT_FALSE(f.space == "s" && f.name == "A");
  }
  EXPECT_EQ(stats_after.vector_fields.size(), stats_before.vector_fields.size() - 1);
  EXPECT_LT(stats_after.index_bytes, stats_before.index_bytes);
  EXPECT_LE(stats_after.index_vectors + a_vectors, stats_before.index_vectors);

  // Writes naming A fail; the error says it was dropped.
  CubeDraft d;
  d.space = "s";
  d.vectors.push_back({"A", RandomVector(rng_, kDimA)});
  Result<CubeId> put = db_->Put(WriteOptions(), d);
  ASSERT_TRUE(put.status().IsInvalidArgument()) << put.status().ToString();
  EXPECT_TRUE(Contains(put.status().message(), "'A'")) << put.status().ToString();
  EXPECT_TRUE(Contains(put.status().message(), "dropped")) << put.status().ToString();
  CubePatch set_a;
  set_a.set_vectors.push_back({"A", RandomVector(rng_, kDimA)});
  EXPECT_TRUE(db_->Update(WriteOptions(), s_ids_[1], set_a).status().IsInvalidArgument());
  CubePatch remove_a;
  remove_a.remove_vectors.push_back("A");
  EXPECT_TRUE(db_->Update(WriteOptions(), s_ids_[1], remove_a).status().IsInvalidArgument());
  // A drop again is refused, and so is one of a field or space that never existed.
  for (auto [space, field, says] :
       {std::tuple{"s", "A", "already dropped"}, std::tuple{"s", "C", "no such field"},
        std::tuple{"nowhere", "A", "no such space"}}) {
    Status s = Drop(db_.get(), space, field);
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), std::string("'") + space + "'")) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), std::string("'") + field + "'")) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), says)) << s.ToString();
  }
  EXPECT_EQ(IndexedStats(db_.get()).spaces, 2u) << "a failed drop created no space";

  EXPECT_EQ(Answers(db_.get(), "s", "B", queries_b), b_before);

  // A defined again, of another dimension and metric: a new field, empty.
  ASSERT_TRUE(Define(db_.get(), "s", "A", 4, Metric::kL2).ok());
  EXPECT_TRUE(Search(db_.get(), "s", "A", queries_a[0], &hits).IsInvalidArgument())
      << "the old dimension is gone";
  ASSERT_TRUE(Search(db_.get(), "s", "A", {1, 0, 0, 0}, &hits).ok());
  EXPECT_TRUE(hits.empty()) << "no old vector resurfaces";
  std::vector<CubeId> new_ids;
  for (int i = 0; i < 5; ++i) {
    CubeDraft n;
    n.space = "s";
    n.vectors.push_back({"A", RandomVector(rng_, 4)});
    Result<CubeId> id = db_->Put(WriteOptions(), n);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    new_ids.push_back(*id);
  }
  CubePatch to_new_a;
  to_new_a.set_vectors.push_back({"A", {0, 0, 1, 0}});
  ASSERT_TRUE(db_->Update(WriteOptions(), s_ids_[2], to_new_a).ok());
  new_ids.push_back(s_ids_[2]);
  ASSERT_TRUE(Search(db_.get(), "s", "A", {1, 0, 0, 0}, &hits, 100).ok());
  std::set<CubeId> found;
  for (const SearchHit& h : hits) found.insert(h.id);
  EXPECT_EQ(found, std::set<CubeId>(new_ids.begin(), new_ids.end()));
  std::vector<MemCube> history;
  ASSERT_TRUE(db_->History(ReadOptions(), s_ids_[2], &history).ok());
  for (size_t i = 0; i + 1 < history.size(); ++i) EXPECT_FALSE(HasVector(history[i], "A"));
  ASSERT_EQ(history.back().vectors.size(), 2u);  // B (field 2), then the new A (field 4)
  EXPECT_EQ(history.back().vectors[1].field, "A");
  EXPECT_EQ(history.back().vectors[1].values, (std::vector<float>{0, 0, 1, 0}));
  IntegrityReport report;
  EXPECT_TRUE(db_->Verify(&report).ok());
}

TEST_F(DropFieldTest, OperationsApplyInBatchOrder) {
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_TRUE(Define(db_.get(), "s", "A", kDimA, Metric::kCosine).ok());
  ASSERT_TRUE(Define(db_.get(), "s", "B", kDimB, Metric::kCosine).ok());
  CubeDraft with_a;
  with_a.space = "s";
  with_a.vectors.push_back({"A", RandomVector(rng_, kDimA)});
  with_a.vectors.push_back({"B", RandomVector(rng_, kDimB)});
  const Result<CubeId> put = db_->Put(WriteOptions(), with_a);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  const CubeId x = *put;

  // A put or update naming the field after its drop fails the whole batch.
  {
    WriteBatch b;
    b.DropVectorField("s", "A");
    b.Put(with_a);
    Status s = db_->Write(WriteOptions(), b, nullptr);
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "operation 1")) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "dropped")) << s.ToString();
    WriteBatch u;
    u.DropVectorField("s", "A");
    CubePatch p;
    p.set_vectors.push_back({"A", RandomVector(rng_, kDimA)});
    u.Update(x, p);
    s = db_->Write(WriteOptions(), u, nullptr);
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "operation 1")) << s.ToString();
    std::vector<SearchHit> hits;
    EXPECT_TRUE(Search(db_.get(), "s", "A", with_a.vectors[0].values, &hits).ok())
        << "the failed batches dropped nothing";
    ASSERT_EQ(hits.size(), 1u);
  }
  // Writes before the drop in the same batch lose the field with everything else.
  {
    WriteBatch b;
    b.Put(with_a);
    CubePatch p;
    p.set_vectors.push_back({"A", RandomVector(rng_, kDimA)});
    b.Update(x, p);
    b.DropVectorField("s", "A");
    WriteResult r;
    ASSERT_TRUE(db_->Write(WriteOptions(), b, &r).ok());
    ASSERT_EQ(r.ops.size(), 3u);
    for (CubeId id : {x, r.ops[0].id}) {
      MemCube c;
      ASSERT_TRUE(db_->Get(ReadOptions(), id, &c).ok());
      EXPECT_FALSE(HasVector(c, "A")) << id;
      EXPECT_TRUE(HasVector(c, "B")) << id;
    }
  }
  // Define after drop: the name anew, usable in the same batch; drop twice fails.
  {
    WriteBatch twice;
    twice.DropVectorField("s", "B");
    twice.DropVectorField("s", "B");
    Status s = db_->Write(WriteOptions(), twice, nullptr);
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "already dropped")) << s.ToString();

    WriteBatch b;
    b.DropVectorField("s", "B");
    b.DefineVectorField("s", "B", 3, Metric::kL2);
    CubeDraft d;
    d.space = "s";
    d.vectors.push_back({"B", {1, 2, 3}});
    b.Put(d);
    // A field defined and dropped in one batch, and one created by first use then dropped.
    b.DefineVectorField("s", "C", 2, Metric::kL2);
    b.DropVectorField("s", "C");
    d.vectors = {{"D", {1, 1}}};
    b.Put(d);
    b.DropVectorField("s", "D");
    b.DefineVectorField("s", "D", 2, Metric::kInnerProduct);
    ASSERT_TRUE(db_->Write(WriteOptions(), b, nullptr).ok());
  }
  auto check = [&] {
    std::vector<SearchHit> hits;
    ASSERT_TRUE(Search(db_.get(), "s", "B", {1, 2, 3}, &hits).ok());
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_TRUE(Search(db_.get(), "s", "C", {1, 2}, &hits).IsInvalidArgument());
    ASSERT_TRUE(Search(db_.get(), "s", "D", {1, 2}, &hits).ok());
    EXPECT_TRUE(hits.empty());
    CubeDraft c;
    c.space = "s";
    c.vectors.push_back({"C", {1, 2}});
    Status s = db_->Put(WriteOptions(), c).status();
    EXPECT_TRUE(s.IsInvalidArgument() && Contains(s.message(), "dropped")) << s.ToString();
    EXPECT_EQ(FieldList(db_.get()), (std::set<std::string>{"s/B 3 l2 1", "s/D 2 ip 0"}));
    MemCube m;
    ASSERT_TRUE(db_->Get(ReadOptions(), x, &m).ok());
    EXPECT_TRUE(m.vectors.empty());
  };
  check();
  // The WAL record of that batch holds drops of older fields, new fields and drops of new
  // fields: replay must apply them in batch order.
  ASSERT_NO_FATAL_FAILURE(Open());
  check();
  ASSERT_TRUE(db_->Checkpoint().ok());
  ASSERT_NO_FATAL_FAILURE(Open());
  check();
}

TEST_F(DropFieldTest, RefusedDropsNameWhatIsWrong) {
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_TRUE(Define(db_.get(), "s", "A", kDimA, Metric::kCosine).ok());
  struct Case {
    std::string space, field, says;
  };
  for (const Case& c : {Case{"", "A", "space is empty"}, Case{"s", "", "name is empty"},
                        Case{"s", "a", "'a' of space 's': no such field"},
                        Case{"S", "A", "'A' of space 'S': no such space"}}) {
    Status s = Drop(db_.get(), c.space, c.field);
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), c.says)) << s.ToString();
  }
  WriteBatch b;
  CubeDraft d;
  d.space = "s";
  b.Put(d);
  b.DropVectorField("s", "nope");
  Status s = db_->Write(WriteOptions(), b, nullptr);
  EXPECT_TRUE(s.IsInvalidArgument() && Contains(s.message(), "operation 1")) << s.ToString();
  EXPECT_EQ(IndexedStats(db_.get()).cubes, 0u) << "the batch failed as a whole";
  EXPECT_EQ(IndexedStats(db_.get()).spaces, 1u);
}

// What the persistence tests compare: every read the drop changes.
struct Observation {
  std::vector<std::string> b_answers, a_answers, old_a_answers;
  std::string vectors;
  std::set<std::string> fields;
  // The index rebuilt at open has the shape the live one had: no partition of a dropped field.
  uint64_t index_bytes = 0, index_vectors = 0;
  bool operator==(const Observation&) const = default;
};

Observation Observe(Db* db, const std::vector<std::vector<float>>& qa,
                    const std::vector<std::vector<float>>& qb) {
  Observation o;
  o.b_answers = Answers(db, "s", "B", qb);
  o.old_a_answers = Answers(db, "s", "A", qa);  // errors or new A's dimension mismatch
  std::vector<std::vector<float>> qa4;
  for (const auto& q : qa) qa4.push_back({q[0], q[1], q[2], q[3]});
  o.a_answers = Answers(db, "s", "A", qa4);
  o.vectors = VectorsOfAllVersions(db);
  o.fields = FieldList(db);
  const DbStats stats = IndexedStats(db);
  o.index_bytes = stats.index_bytes;
  o.index_vectors = stats.index_vectors;
  return o;
}

std::ostream& operator<<(std::ostream& os, const Observation& o) {
  os << "fields:";
  for (const std::string& f : o.fields) os << " [" << f << "]";
  os << "\nindex: " << o.index_bytes << " bytes, " << o.index_vectors << " vectors";
  os << "\nA: " << (o.a_answers.empty() ? "" : o.a_answers[0]);
  os << "\nold A: " << (o.old_a_answers.empty() ? "" : o.old_a_answers[0]);
  return os << "\nB: " << (o.b_answers.empty() ? "" : o.b_answers[0]);
}

TEST_F(DropFieldTest, DropSurvivesReopenAndCheckpoints) {
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_TRUE(Define(db_.get(), "s", "A", kDimA, Metric::kCosine).ok());
  PutWithA(300);
  ASSERT_TRUE(Define(db_.get(), "s", "B", kDimB, Metric::kL2).ok());
  BackfillB();
  // A base checkpoint before the drop: its versions keep their A vectors, the WAL drops them.
  ASSERT_TRUE(db_->Checkpoint().ok());
  const auto qa = Queries(kDimA);
  const auto qb = Queries(kDimB);
  ASSERT_TRUE(Drop(db_.get(), "s", "A").ok());
  ASSERT_TRUE(Define(db_.get(), "s", "A", 4, Metric::kL2).ok());
  for (int i = 0; i < 40; ++i) {
    CubePatch p;
    p.set_vectors.push_back({"A", RandomVector(rng_, 4)});
    ASSERT_TRUE(db_->Update(WriteOptions{.sync = false}, s_ids_[i * 3], p).ok());
  }
  const Observation want = Observe(db_.get(), qa, qb);
  EXPECT_TRUE(Contains(want.old_a_answers[0], "dimension")) << want;
  ASSERT_EQ(want.fields.size(), 3u) << want;  // s/A (the new one), s/B, t/A
  EXPECT_TRUE(Contains(want.vectors, " A/4/")) << want.vectors;
  EXPECT_TRUE(Contains(want.vectors, " A/8/")) << "t's A vectors: " << want.vectors;
  std::istringstream lines(want.vectors);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("s ", 0) != 0) continue;  // only space s dropped A/8
    ASSERT_FALSE(Contains(line, " A/8/")) << "a dropped vector shown: " << line;
  }

  ASSERT_NO_FATAL_FAILURE(Open());  // checkpoint (before the drop) + WAL with the drop
  EXPECT_EQ(Observe(db_.get(), qa, qb), want);
  IntegrityReport with_old_refs;
  ASSERT_TRUE(db_->Verify(&with_old_refs).ok());

  ASSERT_TRUE(db_->Checkpoint().ok());  // a delta after the drop
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(Observe(db_.get(), qa, qb), want);

  // A base checkpoint after the drop no longer refers to the dropped vectors at all (their
  // blobs stay in the arena: there is no blob GC yet).
  for (int i = 0; i < 60 && IndexedStats(db_.get()).checkpoint_files > 1; ++i) {
    CubeDraft d;  // no payload, no vector: no blob
    d.space = "u";
    ASSERT_TRUE(db_->Put(WriteOptions{.sync = false}, d).ok());
    ASSERT_TRUE(db_->Checkpoint().ok());
  }
  ASSERT_EQ(IndexedStats(db_.get()).checkpoint_files, 1u) << "no new base checkpoint was written";
  ASSERT_NO_FATAL_FAILURE(Open());
  const Observation base = Observe(db_.get(), qa, qb);
  EXPECT_EQ(base.b_answers, want.b_answers);
  EXPECT_EQ(base.a_answers, want.a_answers);
  EXPECT_EQ(base.old_a_answers, want.old_a_answers);
  EXPECT_EQ(base.vectors.substr(0, want.vectors.size()), want.vectors);  // then u's cubes
  EXPECT_EQ(base.index_bytes, want.index_bytes);
  IntegrityReport without;
  ASSERT_TRUE(db_->Verify(&without).ok());
  // Versions 1 and 2 (the backfill) of every cube of s had an old A vector.
  EXPECT_EQ(without.blobs + 2 * s_ids_.size(), with_old_refs.blobs);
}

// Versions logged after a drop never keep the dropped field's vectors, so recovery refuses a
// WAL record that does (checkpoint_file_test covers the checkpoint side). The record is forged:
// a version 2 of a cube that copied its version 1's vectors, the dropped A's included, appended
// to the WAL after the drop as a writer would have.
TEST_F(DropFieldTest, RecoveryRefusesALoggedVersionWithAVectorOfADroppedField) {
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_TRUE(Define(db_.get(), "s", "A", 2, Metric::kL2).ok());  // field 1
  ASSERT_TRUE(Define(db_.get(), "s", "B", 2, Metric::kL2).ok());  // field 2
  CubeDraft d;
  d.space = "s";
  d.vectors.push_back({"A", {1, 2}});
  d.vectors.push_back({"B", {3, 4}});
  Result<CubeId> id = db_->Put(WriteOptions(), d);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ASSERT_TRUE(Drop(db_.get(), "s", "A").ok());
  db_.reset();

  // No checkpoint was taken: the put is in the WAL, with the BlobRef of its A vector.
  engine::Superblock sb;
  ASSERT_TRUE(engine::ReadSuperblock(env_.get(), "/db/SUPERBLOCK", &sb).ok());
  ASSERT_TRUE(sb.checkpoints.empty());
  wal::ReplayOptions replay_options;
  replay_options.first_segment_no = sb.wal_first_segment;
  std::unique_ptr<engine::Version> put;
  Timestamp last_commit = 0;
  wal::ReplayResult replay;
  Status replayed = wal::ReplayWal(
      env_.get(), "/db", sb.db_uuid, replay_options,
      [&](wal::Lsn lsn, std::string_view payload) {
        engine::BatchContents batch;
        LOCI_RETURN_IF_ERROR(engine::DecodeBatch(payload, "LSN " + std::to_string(lsn), &batch));
        last_commit = batch.commit_time;
        for (auto& v : batch.versions) {
          if (v->id == *id) put = std::move(v);
        }
        return Status::OK();
      },
      &replay);
  ASSERT_TRUE(replayed.ok()) << replayed.ToString();
  ASSERT_NE(put, nullptr);
  ASSERT_EQ(put->number, 1u);
  ASSERT_EQ(put->vectors.size(), 2u);
  ASSERT_EQ(put->vectors[0].field_id, 1u);

  // Otherwise a valid successor (next number, later commit), so only the dropped field's vector
  // is wrong with it.
  engine::Version forged = *put;
  forged.number = 2;
  std::string payload;
  engine::EncodeBatch(last_commit + 1, {}, {}, {}, {&forged}, &payload);
  std::unique_ptr<IoQueue> io = env_->NewIoQueue();
  wal::LogWriterOptions log_options;
  log_options.db_uuid = sb.db_uuid;
  log_options.preallocate_bytes = 0;
  wal::Lsn lsn = 0;
  {
    wal::LogWriter log(env_.get(), "/db", log_options, io.get());
    ASSERT_TRUE(log.ResumeSegment(replay.last_segment_no, replay.end_offset, replay.last_lsn + 1,
                                  replay.last_checksum)
                    .ok());
    const std::string_view payloads[] = {payload};
    ASSERT_TRUE(log.AppendGroup(payloads, /*sync=*/true, {}, &lsn).ok());
  }

  Status s = Db::Open(SmallIndexOptions(env_.get()), "/db", &db_);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "WAL record LSN " + std::to_string(lsn))) << s.ToString();
  EXPECT_TRUE(Contains(
      s.message(), "cube " + std::to_string(*id) + " version 2 has a vector of dropped field 'A'"))
      << s.ToString();
}

// Power loss with the drop durable (after later sync writes), and with the drop and the put
// before it still unsynced (seeds 7 to 10): the recovered state is then the one before the put,
// after it, or after the drop, never anything in between.
TEST(DropFieldCrashTest, DropSurvivesPowerLoss) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    const bool crash_after_drop = seed > 6;
    sim::SimEnv env(seed);
    Options o = SmallIndexOptions(&env);
    o.deterministic_io = true;
    o.wal_segment_bytes = 64 << 10;  // rotations too
    std::mt19937_64 rng(seed);
    std::vector<std::vector<float>> qa, qb;
    for (int i = 0; i < 6; ++i) {
      qa.push_back(RandomVector(rng, kDimA));
      qb.push_back(RandomVector(rng, kDimB));
    }
    std::vector<Observation> allowed;  // the states the power loss may leave
    {
      std::unique_ptr<Db> db;
      ASSERT_TRUE(Db::Open(o, "/db", &db).ok());
      ASSERT_TRUE(Define(db.get(), "s", "A", kDimA, Metric::kCosine).ok());
      ASSERT_TRUE(Define(db.get(), "s", "B", kDimB, Metric::kL2).ok());
      for (int i = 0; i < 200; ++i) {
        CubeDraft d;
        d.space = "s";
        if (i <= 150) d.vectors.push_back({"A", RandomVector(rng, kDimA)});
        if (i % 2 == 0) d.vectors.push_back({"B", RandomVector(rng, kDimB)});
        if (i == 150 && crash_after_drop) allowed.push_back(Observe(db.get(), qa, qb));
        Status put = db->Put(WriteOptions{.sync = i % 10 == 9}, d).status();
        ASSERT_TRUE(put.ok()) << put.ToString();
        if (i == 100 && seed % 2 == 0) {
          ASSERT_TRUE(db->Checkpoint().ok());
        }
        if (i == 150) {
          if (crash_after_drop) allowed.push_back(Observe(db.get(), qa, qb));
          // Not synced itself: made durable by the next sync write, like any write.
          ASSERT_TRUE(Drop(db.get(), "s", "A", WriteOptions{.sync = false}).ok());
          if (crash_after_drop) break;
          ASSERT_TRUE(Define(db.get(), "s", "A", 4, Metric::kL2).ok());
        }
        if (i > 150 && i % 3 == 0) {
          CubeDraft n;
          n.space = "s";
          n.vectors.push_back({"A", {1, 2, 3, static_cast<float>(i)}});
          ASSERT_TRUE(db->Put(WriteOptions{.sync = false}, n).ok());
        }
        if (i == 170 && seed % 3 == 0) {
          ASSERT_TRUE(db->Checkpoint().ok());
        }
      }
      // The state at the power loss: all of it is durable up to the last sync write.
      allowed.push_back(Observe(db.get(), qa, qb));
      env.Crash();
    }
    std::unique_ptr<Db> db;
    Status s = Db::Open(o, "/db", &db);
    ASSERT_TRUE(s.ok()) << "seed " << seed << ": " << s.ToString();
    const Observation recovered = Observe(db.get(), qa, qb);
    if (crash_after_drop) {
      EXPECT_NE(std::find(allowed.begin(), allowed.end(), recovered), allowed.end())
          << "seed " << seed << ": " << recovered;
    } else {
      EXPECT_EQ(recovered, allowed.back()) << "seed " << seed;
      EXPECT_TRUE(Contains(recovered.old_a_answers[0], "dimension")) << recovered;
    }
  }
}

}  // namespace
}  // namespace loci
