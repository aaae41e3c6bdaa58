// Fts5TurnIndex: SQLite FTS5 in memory, queried with prepared statements.

#include "tools/bench/locomo_fts5.h"

#include <sqlite3.h>

#include "tools/embed/lexical_embedder.h"

namespace loci::bench {

namespace {

Status SqliteError(sqlite3* db, const std::string& what) {
  return Status::IOError("sqlite: " + what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "error"));
}

Status Exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return SqliteError(db, sql);
  return Status::OK();
}

}  // namespace

std::string Fts5AnyWordQuery(std::string_view text) {
  std::string query;
  for (const std::string& word : tools::LexicalEmbedder::Words(text)) {
    if (!query.empty()) query += " OR ";
    query += '"';
    for (char c : word) {
      if (c == '"') query += '"';  // only bytes >= 0x80 survive Words, but stay safe
      query += c;
    }
    query += '"';
  }
  return query;
}

Fts5TurnIndex::~Fts5TurnIndex() {
  sqlite3_finalize(search_);  // null is a no-op
  if (db_ != nullptr) sqlite3_close(db_);
}

Status Fts5TurnIndex::Build(const std::vector<std::pair<std::string, std::string>>& turns) {
  if (sqlite3_open(":memory:", &db_) != SQLITE_OK) return SqliteError(db_, "open :memory:");
  LOCI_RETURN_IF_ERROR(Exec(db_, "CREATE VIRTUAL TABLE t USING fts5(text, dia_id UNINDEXED)"));
  LOCI_RETURN_IF_ERROR(Exec(db_, "BEGIN"));
  sqlite3_stmt* insert = nullptr;
  if (sqlite3_prepare_v2(db_, "INSERT INTO t(text, dia_id) VALUES(?1, ?2)", -1, &insert, nullptr) !=
      SQLITE_OK) {
    return SqliteError(db_, "prepare insert");
  }
  Status s;
  for (const auto& [text, dia_id] : turns) {
    sqlite3_bind_text(insert, 1, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
    sqlite3_bind_text(insert, 2, dia_id.data(), static_cast<int>(dia_id.size()), SQLITE_STATIC);
    if (sqlite3_step(insert) != SQLITE_DONE) {
      s = SqliteError(db_, "insert " + dia_id);
      break;
    }
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  LOCI_RETURN_IF_ERROR(s);
  LOCI_RETURN_IF_ERROR(Exec(db_, "COMMIT"));
  if (sqlite3_prepare_v2(db_, "SELECT dia_id FROM t WHERE t MATCH ?1 ORDER BY bm25(t) LIMIT ?2", -1,
                         &search_, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "prepare search");
  }
  return Status::OK();
}

Status Fts5TurnIndex::Search(const std::string& query, uint32_t k,
                             std::vector<std::string>* dia_ids) {
  dia_ids->clear();
  if (query.empty()) return Status::OK();
  sqlite3_bind_text(search_, 1, query.data(), static_cast<int>(query.size()), SQLITE_STATIC);
  sqlite3_bind_int(search_, 2, static_cast<int>(k));
  int rc;
  while ((rc = sqlite3_step(search_)) == SQLITE_ROW) {
    dia_ids->emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(search_, 0)));
  }
  Status s = rc == SQLITE_DONE ? Status::OK() : SqliteError(db_, "search " + query);
  sqlite3_reset(search_);
  return s;
}

}  // namespace loci::bench
