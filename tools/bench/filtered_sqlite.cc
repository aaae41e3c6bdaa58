// FilteredSqlite: the relational half of the peer of `loci-bench filtered`, an in-memory SQLite
// database (no durability to pay for: the peer is measured at its fastest).

#include <sqlite3.h>

#include "tools/bench/filtered_peers.h"

namespace loci::bench {

namespace {

constexpr const char* kSchema =
    "CREATE TABLE cubes(id INTEGER PRIMARY KEY, space INTEGER NOT NULL, "
    "valid_from INTEGER NOT NULL, valid_to INTEGER NOT NULL, topic INTEGER NOT NULL);"
    "CREATE TABLE edges(src INTEGER NOT NULL, dst INTEGER NOT NULL, type INTEGER NOT NULL, "
    "PRIMARY KEY(src, dst, type)) WITHOUT ROWID;";
// Built after the load, as a bulk load would.
constexpr const char* kIndexes =
    "CREATE INDEX cubes_filter ON cubes(space, topic, valid_from);"
    "CREATE INDEX cubes_time ON cubes(space, valid_from, id);"
    "CREATE INDEX edges_dst ON edges(dst, src);"
    "ANALYZE;";
constexpr const char* kNeighbours =
    "SELECT dst FROM edges WHERE src = ?1 UNION ALL SELECT src FROM edges WHERE dst = ?1";
// Events are valid forever after valid_from, so valid_to > from always holds; it is kept in
// the query to state Loci's window test whole.
constexpr const char* kCandidates =
    "SELECT id FROM cubes WHERE space = ?1 AND topic = ?2 AND valid_from < ?3 AND valid_to > ?4";
constexpr const char* kEvents =
    "SELECT id FROM cubes WHERE space = ?1 AND valid_from >= ?2 AND valid_from < ?3 "
    "ORDER BY valid_from, id LIMIT ?4";

Status Error(sqlite3* db, const std::string& what) {
  return Status::IOError("sqlite: " + what + ": " + sqlite3_errmsg(db));
}

class FilteredSqliteImpl final : public FilteredSqlite {
 public:
  ~FilteredSqliteImpl() override {
    for (sqlite3_stmt* s : {neighbours_, candidates_, events_}) sqlite3_finalize(s);
    if (db_ != nullptr) sqlite3_close(db_);
  }

  Status Open() {
    if (sqlite3_open(":memory:", &db_) != SQLITE_OK) return Error(db_, "open");
    return Exec(kSchema);
  }

  Status Load(const FilteredCorpus& corpus) {
    LOCI_RETURN_IF_ERROR(Exec("BEGIN"));
    sqlite3_stmt* cube = nullptr;
    sqlite3_stmt* edge = nullptr;
    Status s = Prepare("INSERT INTO cubes VALUES(?1, ?2, ?3, ?4, ?5)", &cube);
    if (s.ok()) s = Prepare("INSERT OR IGNORE INTO edges VALUES(?1, ?2, ?3)", &edge);
    for (uint32_t i = 0; s.ok() && i < corpus.cubes(); ++i) {
      sqlite3_bind_int64(cube, 1, i);
      sqlite3_bind_int64(cube, 2, corpus.SpaceOf(i));
      sqlite3_bind_int64(cube, 3, corpus.ValidFrom(i));
      sqlite3_bind_int64(cube, 4, kForever);
      sqlite3_bind_int64(cube, 5, corpus.Topic(i));
      s = Step(cube, "insert cube");
    }
    for (const FilteredEdge& e : corpus.edges()) {
      if (!s.ok()) break;
      sqlite3_bind_int64(edge, 1, e.from);
      sqlite3_bind_int64(edge, 2, e.to);
      sqlite3_bind_int64(edge, 3, static_cast<int64_t>(e.type));
      s = Step(edge, "insert edge");
    }
    sqlite3_finalize(cube);
    sqlite3_finalize(edge);
    LOCI_RETURN_IF_ERROR(s);
    LOCI_RETURN_IF_ERROR(Exec("COMMIT"));
    LOCI_RETURN_IF_ERROR(Exec(kIndexes));
    LOCI_RETURN_IF_ERROR(Prepare(kNeighbours, &neighbours_));
    LOCI_RETURN_IF_ERROR(Prepare(kCandidates, &candidates_));
    return Prepare(kEvents, &events_);
  }

  Status Neighbours(uint32_t cube, std::vector<uint32_t>* cubes) override {
    sqlite3_bind_int64(neighbours_, 1, cube);
    return Rows(neighbours_, cubes);
  }

  Status Candidates(const FilteredQuery& query, std::vector<uint32_t>* cubes) override {
    cubes->clear();
    sqlite3_bind_int64(candidates_, 1, query.space);
    sqlite3_bind_int64(candidates_, 2, query.topic);
    sqlite3_bind_int64(candidates_, 3, query.window_to);
    sqlite3_bind_int64(candidates_, 4, query.window_from);
    return Rows(candidates_, cubes);
  }

  Status Events(uint32_t space, Timestamp from, Timestamp to, uint32_t limit,
                std::vector<uint32_t>* cubes) override {
    cubes->clear();
    sqlite3_bind_int64(events_, 1, space);
    sqlite3_bind_int64(events_, 2, from);
    sqlite3_bind_int64(events_, 3, to);
    sqlite3_bind_int64(events_, 4, limit);
    return Rows(events_, cubes);
  }

 private:
  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err != nullptr ? err : "error";
      sqlite3_free(err);
      return Status::IOError(std::string("sqlite: ") + sql + ": " + msg);
    }
    return Status::OK();
  }

  Status Prepare(const char* sql, sqlite3_stmt** stmt) {
    if (sqlite3_prepare_v2(db_, sql, -1, stmt, nullptr) != SQLITE_OK) {
      return Error(db_, std::string("prepare ") + sql);
    }
    return Status::OK();
  }

  // Runs a statement that returns no row, then resets it.
  Status Step(sqlite3_stmt* stmt, const char* what) {
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? Status::OK() : Error(db_, what);
  }

  // Appends the first column of every row of `stmt` to *out, then resets it.
  Status Rows(sqlite3_stmt* stmt, std::vector<uint32_t>* out) {
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      out->push_back(static_cast<uint32_t>(sqlite3_column_int64(stmt, 0)));
    }
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? Status::OK() : Error(db_, "query");
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* neighbours_ = nullptr;
  sqlite3_stmt* candidates_ = nullptr;
  sqlite3_stmt* events_ = nullptr;
};

}  // namespace

Status BuildFilteredSqlite(const FilteredCorpus& corpus, std::unique_ptr<FilteredSqlite>* db) {
  auto impl = std::make_unique<FilteredSqliteImpl>();
  LOCI_RETURN_IF_ERROR(impl->Open());
  LOCI_RETURN_IF_ERROR(impl->Load(corpus));
  *db = std::move(impl);
  return Status::OK();
}

}  // namespace loci::bench
