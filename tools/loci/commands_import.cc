// loci import: cubes and edges from JSON Lines (import_parse.h), committed in atomic batches
// of --batch lines. Refs name cubes of earlier lines: within a batch by the placeholder ids
// of WriteBatch::Put, across batches by the ids the engine assigned. A bad line stops the
// import: the lines before it end committed, and the error says which line and what is wrong.

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "loci/db.h"
#include "loci/write_batch.h"
#include "tools/loci/cli_support.h"
#include "tools/loci/commands.h"
#include "tools/loci/import_parse.h"
#include "tools/loci/trace_args.h"

namespace loci::cli {

namespace {

constexpr uint32_t kMaxImportBatch = 100000;

// Reads a file (or standard input, "-") line by line.
class LineReader {
 public:
  ~LineReader() {
    std::free(buf_);
    if (file_ != nullptr && file_ != stdin) std::fclose(file_);
  }
  Status Open(const std::string& path) {
    path_ = path;
    file_ = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
    if (file_ != nullptr) return Status::OK();
    const int err = errno;
    const std::string what = path + ": " + std::strerror(err);
    return err == ENOENT ? Status::NotFound(what) : Status::IOError(what);
  }
  // The next line, without its newline, into *line; false at the end or on a read error
  // (then status() says which).
  bool Next(std::string* line) {
    const ssize_t n = ::getline(&buf_, &cap_, file_);
    if (n < 0) return false;
    line->assign(buf_, static_cast<size_t>(n));
    if (!line->empty() && line->back() == '\n') line->pop_back();
    return true;
  }
  Status status() const {
    if (std::ferror(file_) == 0) return Status::OK();
    const int err = errno;
    const std::string what = path_ + ": cannot read: " + std::strerror(err);
    return err == EISDIR ? Status::InvalidArgument(what) : Status::IOError(what);
  }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  char* buf_ = nullptr;
  size_t cap_ = 0;
};

// Commits parsed lines in batches and remembers the ids of refs.
class Importer {
 public:
  Importer(Db* db, WriteOptions options, bool json) : db_(db), options_(options), json_(json) {}

  // Checks the refs `line` (line number `number`) defines and uses against the lines so far,
  // and queues it. InvalidArgument for a ref defined twice or not on an earlier line.
  Status Add(uint64_t number, ImportLine line);

  size_t pending() const { return pending_.size(); }
  uint64_t cubes() const { return cubes_; }
  uint64_t edges() const { return edges_; }

  // Commits the queued lines as one batch. If the engine refuses the batch as invalid, commits
  // them one line at a time so that the lines before the one at fault end committed; on error
  // *bad_line is that line's number (0 when the error is not a line's, e.g. I/O).
  Status Commit(uint64_t* bad_line);

 private:
  struct Pending {
    uint64_t number;
    ImportLine line;
  };
  struct RefEntry {
    uint64_t line;             // where it was defined
    std::optional<CubeId> id;  // once committed
  };

  Status CheckUse(const CubeRef& ref, std::string_view what) const;
  CubeId Resolve(const CubeRef& ref, const std::map<std::string, CubeId>& local) const;
  // Builds the batch of lines [begin, end) of pending_; (*puts)[i] is the op index of the Put of
  // line begin + i, or -1 for an edge.
  void Build(size_t begin, size_t end, WriteBatch* batch, std::vector<int64_t>* puts) const;
  Status Write(size_t begin, size_t end);

  Db* const db_;
  const WriteOptions options_;
  const bool json_;
  std::vector<Pending> pending_;
  std::map<std::string, RefEntry> refs_;
  uint64_t cubes_ = 0;
  uint64_t edges_ = 0;
};

Status Importer::CheckUse(const CubeRef& ref, std::string_view what) const {
  const std::string* name = std::get_if<std::string>(&ref);
  if (name == nullptr || refs_.count(*name) > 0) return Status::OK();
  return Status::InvalidArgument(std::string(what) + ": ref \"" + *name +
                                 "\" is not defined on an earlier line");
}

Status Importer::Add(uint64_t number, ImportLine line) {
  if (const auto* cube = std::get_if<ImportCube>(&line)) {
    for (size_t i = 0; i < cube->parents.size(); ++i) {
      LOCI_RETURN_IF_ERROR(CheckUse(cube->parents[i], "parents[" + std::to_string(i) + "]"));
    }
    if (cube->ref) {
      auto it = refs_.find(*cube->ref);
      if (it != refs_.end()) {
        return Status::InvalidArgument("ref \"" + *cube->ref + "\" is already defined on line " +
                                       std::to_string(it->second.line));
      }
      refs_[*cube->ref] = RefEntry{number, std::nullopt};
    }
  } else {
    const auto& edge = std::get<ImportEdge>(line);
    LOCI_RETURN_IF_ERROR(CheckUse(edge.from, "edge.from"));
    LOCI_RETURN_IF_ERROR(CheckUse(edge.to, "edge.to"));
  }
  pending_.push_back({number, std::move(line)});
  return Status::OK();
}

CubeId Importer::Resolve(const CubeRef& ref, const std::map<std::string, CubeId>& local) const {
  if (const CubeId* id = std::get_if<CubeId>(&ref)) return *id;
  const std::string& name = std::get<std::string>(ref);
  const RefEntry& entry = refs_.at(name);
  return entry.id ? *entry.id : local.at(name);
}

void Importer::Build(size_t begin, size_t end, WriteBatch* batch,
                     std::vector<int64_t>* puts) const {
  std::map<std::string, CubeId> local;  // refs of this batch -> placeholders
  for (size_t i = begin; i < end; ++i) {
    const ImportLine& line = pending_[i].line;
    if (const auto* edge = std::get_if<ImportEdge>(&line)) {
      batch->Link(std::nullopt, Resolve(edge->from, local), Resolve(edge->to, local), edge->type,
                  edge->weight, edge->valid_from);
      puts->push_back(-1);
      continue;
    }
    const auto& cube = std::get<ImportCube>(line);
    if (cube.metric) {
      for (const NamedVector& v : cube.draft.vectors) {
        batch->DefineVectorField(cube.draft.space, v.field, static_cast<uint32_t>(v.values.size()),
                                 *cube.metric);
      }
    }
    CubeDraft draft = cube.draft;
    for (const CubeRef& p : cube.parents) draft.parents.push_back(Resolve(p, local));
    puts->push_back(static_cast<int64_t>(batch->size()));
    const CubeId placeholder = batch->Put(std::move(draft));
    if (cube.ref) local[*cube.ref] = placeholder;
  }
}

Status Importer::Write(size_t begin, size_t end) {
  WriteBatch batch;
  std::vector<int64_t> puts;
  Build(begin, end, &batch, &puts);
  WriteResult result;
  LOCI_RETURN_IF_ERROR(db_->Write(options_, batch, &result));
  for (size_t i = begin; i < end; ++i) {
    const int64_t op = puts[i - begin];
    if (op < 0) {
      ++edges_;
      continue;
    }
    ++cubes_;
    const CubeId id = result.ops[static_cast<size_t>(op)].id;
    const auto& ref = std::get<ImportCube>(pending_[i].line).ref;
    if (ref) refs_[*ref].id = id;
    if (json_) {
      nlohmann::ordered_json out = {{"ref", ref ? nlohmann::ordered_json(*ref) : nullptr},
                                    {"id", id}};
      std::cout << out.dump() << '\n';
    }
  }
  std::cout.flush();
  return Status::OK();
}

Status Importer::Commit(uint64_t* bad_line) {
  *bad_line = 0;
  Status s = pending_.empty() ? Status::OK() : Write(0, pending_.size());
  if (!s.ok() && (s.IsInvalidArgument() || s.IsNotFound())) {
    // Find the line at fault, committing the ones before it.
    for (size_t i = 0; i < pending_.size(); ++i) {
      s = Write(i, i + 1);
      if (!s.ok()) {
        *bad_line = pending_[i].number;
        break;
      }
    }
  }
  pending_.clear();
  return s;
}

struct ImportArgs {
  std::string dir;
  std::string file;
  uint32_t batch = 1000;
  bool json = false;
  bool no_sync = false;
};

// Reports the error of an import stopped at line `bad_line` (0: at no line) with what was
// committed, and returns its exit code.
int ReportImportFailure(const Importer& importer, uint64_t bad_line, const Status& s) {
  std::string message = s.IsCorruption() ? "corruption: " + s.message() : s.message();
  if (bad_line != 0) message = "line " + std::to_string(bad_line) + ": " + message;
  message += " (" + std::to_string(importer.cubes()) + " cube(s) and " +
             std::to_string(importer.edges()) + " edge(s) committed" +
             (bad_line != 0 ? " before it)" : ")");
  ReportUsage("import", message);
  return ExitCodeFor(s);
}

// Progress on stderr, only when it is a terminal (so scripts see one error line at most).
class Progress {
 public:
  Progress() : tty_(::isatty(STDERR_FILENO) == 1) {}
  void Show(uint64_t lines, const Importer& importer) {
    if (!tty_) return;
    std::cerr << "\r" << lines << " lines: " << importer.cubes() << " cube(s), " << importer.edges()
              << " edge(s) committed" << std::flush;
  }
  // Erases the progress line, before a result or an error.
  void Clear() {
    if (tty_) std::cerr << "\r\x1b[K" << std::flush;
  }

 private:
  const bool tty_;
};

// Reads, checks and commits every line; on the first bad one reports it and stops.
int ImportLines(LineReader* reader, const ImportArgs& a, Importer* importer, Progress* progress) {
  std::string text;
  uint64_t number = 0;
  uint64_t bad_line = 0;
  while (reader->Next(&text)) {
    ++number;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;  // a blank line
    ImportLine line;
    Status s = ParseImportLine(text, &line);
    if (s.ok()) s = importer->Add(number, std::move(line));
    if (!s.ok()) {
      // The lines before it stay committed.
      Status commit = importer->Commit(&bad_line);
      progress->Clear();
      if (!commit.ok()) return ReportImportFailure(*importer, bad_line, commit);
      return ReportImportFailure(*importer, number, s);
    }
    if (importer->pending() < a.batch) continue;
    s = importer->Commit(&bad_line);
    if (!s.ok()) {
      progress->Clear();
      return ReportImportFailure(*importer, bad_line, s);
    }
    progress->Show(number, *importer);
  }
  Status s = reader->status();
  if (s.ok()) s = importer->Commit(&bad_line);
  progress->Clear();
  if (!s.ok()) return ReportImportFailure(*importer, bad_line, s);
  if (!a.json) {
    std::cout << "imported " << importer->cubes() << " cube(s) and " << importer->edges()
              << " edge(s) from " << number << " line(s)\n";
  }
  return kExitOk;
}

int RunImport(const ImportArgs& a) {
  Status s = CheckRange("--batch", a.batch, 1, kMaxImportBatch);
  if (!s.ok()) return ReportFailure("import", s);
  LineReader reader;
  s = reader.Open(a.file);
  if (!s.ok()) return ReportFailure("import", s);
  std::unique_ptr<Db> db;
  s = OpenDb(a.dir, OpenMode::kReadWrite, &db);
  if (!s.ok()) return ReportFailure("import", s);
  WriteOptions options;
  options.sync = !a.no_sync;
  Importer importer(db.get(), options, a.json);
  Progress progress;
  return ImportLines(&reader, a, &importer, &progress);
}

}  // namespace

void RegisterImportCommand(CLI::App* app, std::vector<Command>* commands) {
  auto a = std::make_shared<ImportArgs>();
  CLI::App* cmd = app->add_subcommand(
      "import",
      "Import cubes and edges from JSON Lines, committed in atomic batches; a bad line stops "
      "the import, the lines before it stay committed");
  cmd->footer(
      "A line is a cube {\"ref\", \"space\", \"text\"|\"payload_base64\", \"episode\", "
      "\"kind\", \"state\", \"valid_from\", \"valid_to\", \"expires_at\", \"attrs\", "
      "\"vectors\": {\"field\": [...]}, \"metric\", \"source\", \"agent\", \"parents\", "
      "\"importance\", \"trust\"} (only \"space\" required) or an edge {\"edge\": {\"from\", "
      "\"to\", \"type\", \"weight\", \"valid_from\"}}. Parents and edge ends are refs of "
      "earlier lines of the file (strings) or cube ids (integers); times are RFC 3339. Any "
      "other key is an error. Blank lines are skipped.");
  cmd->add_option("DIR", a->dir, "Database directory")->required();
  cmd->add_option("FILE", a->file, "The JSON Lines file ('-': standard input)")->required();
  cmd->add_option("--batch", a->batch,
                  "Lines committed per atomic batch (1.." + std::to_string(kMaxImportBatch) +
                      ", default 1000)")
      ->type_name("N");
  cmd->add_flag("--json", a->json,
                "Print {\"ref\", \"id\"} for each cube imported, one JSON object a line, instead "
                "of the summary");
  cmd->add_flag("--no-sync", a->no_sync,
                "Acknowledge each batch before it is durable against power loss");
  commands->push_back({cmd, [a] { return RunImport(*a); }});
}

}  // namespace loci::cli
