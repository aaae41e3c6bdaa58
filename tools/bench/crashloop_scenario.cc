// loci-bench crashloop: SIGKILL a writing process again and again on a real directory, and check
// after every kill that recovery kept exactly what was acknowledged (design.md §10).
//
// Each round forks a child that opens the database and writes from several threads with
// sync=true (puts with a payload, a small vector and attributes; updates; retires; two-operation
// batches; now and then a checkpoint). After every acknowledged write the child sends the parent
// a fixed-size record over a pipe: ids, versions and a checksum of the content it wrote. The
// parent kills the child after a random delay (counted from the moment the child's Open returned,
// so that a growing recovery time does not eat the writing time; one round in eight instead
// kills the child during its recovery), reopens the database itself and checks:
//   - every acknowledged write is there: the acknowledged version with exactly that content (or
//     later versions on top of it); an acknowledged retirement makes Get report NotFound, while a
//     read just before it still finds the version it retired;
//   - everything recovered in an earlier round is still there, unchanged (recovery is stable);
//   - every version found is whole: its payload carries a header with the hash of its body, its
//     vector and attributes are a function of that header, versions number 1..n per cube with
//     strictly increasing commit times, a retirement is last and keeps the content it retired;
//   - no batch is visible in part: each batch's two versions are both present with one commit
//     time; no two other commits share a commit time, and commits made after a restart are later
//     than everything recovered before it (the clock never goes back);
//   - Db::Verify passes and Stats agree with what was read (cubes, versions, clock, fields).
// The first violation stops the loop with a message naming the round, the cube and the seed.
//
// The parent holds its model in memory when it forks, so a child starts from exactly what was
// recovered: it updates and retires cubes written by earlier rounds too, and knows the version
// each update must produce.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/file_names.h"
#include "common/hash.h"
#include "loci/db.h"
#include "tools/bench/scenarios.h"

namespace loci::bench {

namespace {

constexpr char kSpace[] = "crashloop";
constexpr char kField[] = "e4";
constexpr uint32_t kDim = 4;

// --- content: a pure function of (run, round, thread, seq, part), checkable without the writer

uint64_t Mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

// Who wrote a version, recovered from its payload header.
struct Origin {
  uint32_t run = 0;  // distinguishes runs of crashloop over the same directory
  uint32_t round = 0;
  uint32_t thread = 0;
  uint32_t seq = 0;
  uint32_t part = 0;   // 0 or 1 within a batch, 0 otherwise
  bool batch = false;  // written by a two-operation batch
  uint32_t body = 0;   // body length
  uint64_t hash = 0;   // hash of the body

  // The write (operation or batch) this version came from: "run.round.thread.seq".
  std::string Write() const {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%08x.%u.%u.%u", run, round, thread, seq);
    return buf;
  }
  // The version within that write: "run.round.thread.seq.part".
  std::string Tag() const { return Write() + "." + std::to_string(part); }
};

uint64_t OriginSeed(const Origin& o) {
  return Mix64(Mix64(Mix64(Mix64(o.run) ^ (uint64_t{o.round} + 1)) ^ o.thread) ^
               (uint64_t{o.seq} << 1 | o.part));
}

// Body length: mostly small, sometimes a few pages, rarely tens of pages (so that a kill can
// land in the middle of a large append).
uint32_t BodyLength(Rng* rng) {
  const uint64_t r = rng->Uniform(1000);
  if (r < 900) return static_cast<uint32_t>(rng->Uniform(1500));
  if (r < 995) return static_cast<uint32_t>(1500 + rng->Uniform(6500));
  return static_cast<uint32_t>(32 * 1024 + rng->Uniform(64 * 1024));
}

std::vector<float> VectorFor(const Origin& o) {
  Rng rng(OriginSeed(o) ^ 0x5eed);
  std::vector<float> v(kDim);
  v[0] = 1.0f;  // never all zero (metric cosine)
  for (uint32_t i = 1; i < kDim; ++i) {
    v[i] = static_cast<float>(static_cast<int>(rng.Uniform(2001)) - 1000) / 1000.0f;
  }
  return v;
}

std::string PayloadFor(Origin* o, uint32_t body_len) {
  std::string body(body_len, '\0');
  Rng rng(OriginSeed(*o));
  for (size_t i = 0; i < body.size(); i += 8) {
    const uint64_t r = rng.Next();
    std::memcpy(body.data() + i, &r, std::min<size_t>(8, body.size() - i));
  }
  o->body = body_len;
  o->hash = Hash64(body.data(), body.size(), 0);
  char header[160];
  std::snprintf(header, sizeof(header), "CL1|u=%08x|r=%u|t=%u|s=%u|p=%u|b=%d|n=%u|h=%016llx|",
                o->run, o->round, o->thread, o->seq, o->part, o->batch ? 1 : 0, o->body,
                static_cast<unsigned long long>(o->hash));
  return header + body;
}

// Parses and checks a payload made by PayloadFor: header well-formed, body of the stated length
// and hash.
bool ParsePayload(const std::string& payload, Origin* o, std::string* why) {
  unsigned run, round, thread, seq, part, body;
  int batch, consumed = 0;
  unsigned long long hash;
  // The header is at most ~110 bytes: parse a copy, not the whole (possibly large) payload.
  const std::string header = payload.substr(0, 160);
  if (std::sscanf(header.c_str(), "CL1|u=%8x|r=%u|t=%u|s=%u|p=%u|b=%d|n=%u|h=%16llx|%n", &run,
                  &round, &thread, &seq, &part, &batch, &body, &hash, &consumed) != 8 ||
      consumed == 0) {
    *why =
        "payload header unreadable (not written by crashloop?): \"" + payload.substr(0, 48) + "\"";
    return false;
  }
  o->run = run;
  o->round = round;
  o->thread = thread;
  o->seq = seq;
  o->part = part;
  o->batch = batch != 0;
  o->body = body;
  o->hash = hash;
  const size_t len = payload.size() - static_cast<size_t>(consumed);
  if (len != body) {
    *why = "payload body is " + std::to_string(len) + " bytes, its header says " +
           std::to_string(body);
    return false;
  }
  if (Hash64(payload.data() + consumed, len, 0) != hash) {
    *why = "payload body does not match the hash in its header (torn or mixed content)";
    return false;
  }
  return true;
}

// The checksum an acknowledgement carries: payload, vector and tag attribute together.
uint64_t ContentChecksum(const std::string& payload, const std::vector<float>& vec,
                         const std::string& tag) {
  uint64_t h = Hash64(payload.data(), payload.size(), 1);
  h = Mix64(h ^ Hash64(vec.data(), vec.size() * sizeof(float), 2));
  return Mix64(h ^ Hash64(tag.data(), tag.size(), 3));
}

const std::string* TagAttr(const MemCube& c) {
  for (const Attr& a : c.attrs) {
    if (a.key == "tag") return std::get_if<std::string>(&a.value);
  }
  return nullptr;
}

const std::vector<float>* FieldVector(const MemCube& c) {
  for (const NamedVector& v : c.vectors) {
    if (v.field == kField) return &v.values;
  }
  return nullptr;
}

uint64_t CubeChecksum(const MemCube& c) {
  static const std::vector<float> kNone;
  static const std::string kNoTag;
  const std::vector<float>* v = FieldVector(c);
  const std::string* tag = TagAttr(c);
  return ContentChecksum(c.payload, v ? *v : kNone, tag ? *tag : kNoTag);
}

Options DbOptions() {
  Options o;
  o.create_if_missing = true;
  o.wal_segment_bytes = 256 << 10;      // rotate WAL segments often
  o.checkpoint_wal_bytes = 2 << 20;     // automatic checkpoints too
  o.arena_generation_bytes = 16 << 20;  // and new arena generations
  return o;
}

// --- the child

// kAckOpened is not a write: the child sends it once Db::Open returned, with the time it took.
enum AckKind : uint32_t {
  kAckOpened = 0,
  kAckPut = 1,
  kAckUpdate = 2,
  kAckRetire = 3,
  kAckBatch = 4
};
constexpr uint32_t kAckMagic = 0x4c4b4341;  // "ACKL"

// One acknowledged write, as the child reports it. Written with a single write(2) of less
// than PIPE_BUF bytes, so records from several threads never interleave.
struct AckRecord {
  uint32_t magic;
  uint32_t kind;  // AckKind
  uint32_t ops;   // 1, or 2 for a batch (0 for kAckOpened, whose id[0] is the open time in us)
  uint32_t thread;
  uint64_t id[2];
  uint32_t version[2];
  uint64_t checksum[2];  // ContentChecksum of what was written (0 for a retirement)
};
static_assert(sizeof(AckRecord) <= PIPE_BUF);

// What a child inherits from the parent (through fork): each cube's newest recovered version.
struct CubeHead {
  uint32_t version = 0;  // 0: no such cube
  bool retired = false;
};

struct ChildContext {
  std::string dir;
  uint32_t run;
  uint32_t round;
  int threads;
  uint64_t seed;
  int ack_fd;
  const std::vector<CubeHead>* heads;  // index: id
};

[[noreturn]] void ChildFail(const ChildContext& c, int thread, const std::string& what, int code) {
  std::fprintf(stderr, "crashloop child (round %u, thread %d): %s\n", c.round, thread,
               what.c_str());
  std::fflush(stderr);
  _exit(code);
}

void SendAck(const ChildContext& c, int thread, const AckRecord& ack) {
  const ssize_t n = write(c.ack_fd, &ack, sizeof(ack));
  if (n != static_cast<ssize_t>(sizeof(ack))) {
    ChildFail(c, thread, std::string("writing an acknowledgement: ") + std::strerror(errno), 5);
  }
}

// One writer thread of the child: only touches cubes it owns (id % threads == thread among the
// inherited ones, plus those it creates), so it knows the version each update produces.
void ChildWriter(Db* db, const ChildContext& c, int t) {
  Rng rng(Mix64(c.seed ^ Mix64(uint64_t{c.round} << 8 | static_cast<uint64_t>(t))));
  std::unordered_map<CubeId, uint32_t> versions;  // owned live cubes -> newest version
  std::vector<CubeId> live;
  for (CubeId id = 1; id < c.heads->size(); ++id) {
    const CubeHead& h = (*c.heads)[id];
    if (h.version > 0 && !h.retired && id % static_cast<CubeId>(c.threads) == CubeId(t)) {
      versions[id] = h.version;
      live.push_back(id);
    }
  }
  WriteOptions wo;
  wo.sync = true;

  auto make_content = [&](uint32_t seq, uint32_t part, bool batch, std::string* payload,
                          std::vector<float>* vec, std::string* tag) {
    Origin o;
    o.run = c.run;
    o.round = c.round;
    o.thread = static_cast<uint32_t>(t);
    o.seq = seq;
    o.part = part;
    o.batch = batch;
    *payload = PayloadFor(&o, BodyLength(&rng));
    *vec = VectorFor(o);
    *tag = o.Tag();
    return ContentChecksum(*payload, *vec, *tag);
  };
  auto draft_of = [&](std::string payload, std::vector<float> vec, const std::string& tag) {
    CubeDraft d;
    d.space = kSpace;
    d.payload = std::move(payload);
    d.vectors = {{kField, std::move(vec)}};
    d.attrs = {{"tag", tag}, {"round", int64_t{c.round}}};
    d.agent = "crashloop";
    return d;
  };
  auto patch_of = [&](std::string payload, std::vector<float> vec, const std::string& tag) {
    CubePatch p;
    p.payload = std::move(payload);
    p.set_vectors = {{kField, std::move(vec)}};
    p.set_attrs = {{"tag", tag}, {"round", int64_t{c.round}}};
    return p;
  };
  auto pick_live = [&]() -> size_t { return static_cast<size_t>(rng.Uniform(live.size())); };

  for (uint32_t seq = 0;; ++seq) {
    const uint64_t r = rng.Uniform(100);
    AckRecord ack{};
    ack.magic = kAckMagic;
    ack.thread = static_cast<uint32_t>(t);
    std::string payload, tag;
    std::vector<float> vec;
    if (t == 0 && rng.Uniform(300) == 0) {
      Status s = db->Checkpoint();
      if (!s.ok()) ChildFail(c, t, "Checkpoint: " + s.ToString(), 4);
      continue;
    }
    if (r < 35 || live.size() < 8) {
      const uint64_t sum = make_content(seq, 0, false, &payload, &vec, &tag);
      Result<CubeId> id = db->Put(wo, draft_of(std::move(payload), std::move(vec), tag));
      if (!id.ok()) ChildFail(c, t, "Put: " + id.status().ToString(), 4);
      versions[*id] = 1;
      live.push_back(*id);
      ack.kind = kAckPut;
      ack.ops = 1;
      ack.id[0] = *id;
      ack.version[0] = 1;
      ack.checksum[0] = sum;
    } else if (r < 65) {
      const CubeId id = live[pick_live()];
      const uint64_t sum = make_content(seq, 0, false, &payload, &vec, &tag);
      Result<uint32_t> v = db->Update(wo, id, patch_of(std::move(payload), std::move(vec), tag));
      if (!v.ok()) {
        ChildFail(c, t, "Update of cube " + std::to_string(id) + ": " + v.status().ToString(), 4);
      }
      if (*v != versions[id] + 1) {
        ChildFail(c, t,
                  "Update of cube " + std::to_string(id) + " returned version " +
                      std::to_string(*v) + ", expected " + std::to_string(versions[id] + 1) +
                      " (the newest version recovered or written is " +
                      std::to_string(versions[id]) + ")",
                  6);
      }
      versions[id] = *v;
      ack.kind = kAckUpdate;
      ack.ops = 1;
      ack.id[0] = id;
      ack.version[0] = *v;
      ack.checksum[0] = sum;
    } else if (r < 72 && live.size() > 16) {
      const size_t i = pick_live();
      const CubeId id = live[i];
      Status s = db->Retire(wo, id);
      if (!s.ok()) ChildFail(c, t, "Retire of cube " + std::to_string(id) + ": " + s.ToString(), 4);
      ack.kind = kAckRetire;
      ack.ops = 1;
      ack.id[0] = id;
      ack.version[0] = versions[id] + 1;
      versions.erase(id);
      live[i] = live.back();
      live.pop_back();
    } else {
      // A batch of two: each a put or an update of a distinct owned cube.
      WriteBatch batch;
      CubeId updated[2] = {0, 0};
      uint64_t sums[2];
      for (uint32_t part = 0; part < 2; ++part) {
        sums[part] = make_content(seq, part, true, &payload, &vec, &tag);
        CubeId id = 0;
        if (rng.Uniform(2) == 0) {
          id = live[pick_live()];
          if (id == updated[0]) id = 0;
        }
        if (id == 0) {
          batch.Put(draft_of(std::move(payload), std::move(vec), tag));
        } else {
          updated[part] = id;
          batch.Update(id, patch_of(std::move(payload), std::move(vec), tag));
        }
      }
      WriteResult result;
      Status s = db->Write(wo, batch, &result);
      if (!s.ok()) ChildFail(c, t, "Write of a batch: " + s.ToString(), 4);
      if (result.ops.size() != 2) ChildFail(c, t, "Write of a batch: not two results", 6);
      ack.kind = kAckBatch;
      ack.ops = 2;
      for (int part = 0; part < 2; ++part) {
        const WriteResult::OpResult& op = result.ops[part];
        if (updated[part] != 0) {
          if (op.id != updated[part] || op.version != versions[op.id] + 1) {
            ChildFail(c, t,
                      "batch update of cube " + std::to_string(updated[part]) + " reported cube " +
                          std::to_string(op.id) + " version " + std::to_string(op.version) +
                          ", expected version " + std::to_string(versions[updated[part]] + 1),
                      6);
          }
        } else {
          if (op.version != 1) ChildFail(c, t, "batch put reported a version other than 1", 6);
          live.push_back(op.id);
        }
        versions[op.id] = op.version;
        ack.id[part] = op.id;
        ack.version[part] = op.version;
        ack.checksum[part] = sums[part];
      }
    }
    SendAck(c, t, ack);
  }
}

[[noreturn]] void RunChild(const ChildContext& c) {
  // Never outlive the parent (e.g. when a test runner kills it).
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) _exit(7);
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<Db> db;
  Status s = Db::Open(DbOptions(), c.dir, &db);
  if (!s.ok()) ChildFail(c, -1, "Open: " + s.ToString(), 3);
  AckRecord opened{};
  opened.magic = kAckMagic;
  opened.kind = kAckOpened;
  opened.id[0] = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                           std::chrono::steady_clock::now() - start)
                                           .count());
  SendAck(c, -1, opened);
  std::vector<std::thread> threads;
  for (int t = 0; t < c.threads; ++t) {
    threads.emplace_back([&, t] { ChildWriter(db.get(), c, t); });
  }
  for (std::thread& th : threads) th.join();  // never: the writers loop until killed
  _exit(0);
}

// --- the parent's model and checks

struct CubeModel {
  std::vector<uint64_t> seen;  // CubeChecksum of each version recovered so far (index v - 1)
  bool retired = false;        // the newest recovered version is a retirement
  uint32_t acked = 0;          // highest acknowledged version
  uint64_t acked_checksum = 0;
  bool acked_retire = false;  // ... and it is a retirement
};

struct RoundResult {
  int64_t child_open_us = -1;  // how long the child's Open took (-1: killed before it returned)
  uint64_t acks = 0;
  uint64_t acked_ops[5] = {0, 0, 0, 0, 0};  // by AckKind
  bool torn_tail = false;
  std::string recovery;
  uint64_t cubes = 0;
  uint64_t versions = 0;
  uint64_t new_versions = 0;  // found now, not in the previous round
  double check_seconds = 0;   // reopen, scan, Verify
};

class Crashloop {
 public:
  explicit Crashloop(const CrashloopConfig& config) : config_(config) {}

  Status Run();

 private:
  static constexpr uint32_t kInitialCheck = UINT32_MAX;  // the check before the first kill

  Status Fail(uint32_t round, const std::string& what) const {
    const std::string when =
        round == kInitialCheck
            ? "checking the database found in " + config_.dir
            : "round " + std::to_string(round) + " (kill " + std::to_string(round + 1) + ")";
    return Status::Corruption("VIOLATION in " + when + ", seed " + std::to_string(config_.seed) +
                              ": " + what);
  }
  Status RunRound(uint32_t round, RoundResult* result);
  Status ApplyAck(uint32_t round, const AckRecord& ack, RoundResult* result);
  Status Check(uint32_t round, RoundResult* result);
  Status CheckCube(uint32_t round, Db* db, CubeId id, const std::vector<MemCube>& history,
                   bool exists);
  CubeModel& Model(CubeId id) {
    if (id >= model_.size()) model_.resize(id + 1);
    return model_[id];
  }

  const CrashloopConfig& config_;
  uint32_t run_ = 0;              // this run's id in the payloads
  std::set<uint32_t> runs_seen_;  // run ids found in the database
  // This round's kill: `delay_ms_` after the child's Open returned, or, when `kill_in_open_`,
  // that long after the fork (aiming at the recovery itself).
  int delay_ms_ = 0;
  bool kill_in_open_ = false;
  int64_t last_open_ms_ = 20;     // how long the last child's Open took
  std::vector<CubeModel> model_;  // index: id
  Timestamp max_tx_ = 0;          // newest commit time recovered in the previous round
  Timestamp clock_high_water_ = 0;
};

Status Crashloop::ApplyAck(uint32_t round, const AckRecord& ack, RoundResult* result) {
  if (ack.magic != kAckMagic || ack.kind > kAckBatch ||
      ack.ops != (ack.kind == kAckBatch    ? 2u
                  : ack.kind == kAckOpened ? 0u
                                           : 1u)) {
    return Fail(round, "garbled acknowledgement record from the child");
  }
  if (ack.kind == kAckOpened) {
    result->child_open_us = static_cast<int64_t>(ack.id[0]);
    return Status::OK();
  }
  ++result->acks;
  ++result->acked_ops[ack.kind];
  for (uint32_t i = 0; i < ack.ops; ++i) {
    if (ack.id[i] == 0 || ack.version[i] == 0) return Fail(round, "acknowledgement of cube 0");
    CubeModel& m = Model(ack.id[i]);
    if (ack.version[i] <= m.acked) {
      return Fail(round, "cube " + std::to_string(ack.id[i]) + ": version " +
                             std::to_string(ack.version[i]) + " acknowledged after version " +
                             std::to_string(m.acked));
    }
    m.acked = ack.version[i];
    m.acked_checksum = ack.checksum[i];
    m.acked_retire = ack.kind == kAckRetire;
  }
  return Status::OK();
}

Status Crashloop::RunRound(uint32_t round, RoundResult* result) {
  int fds[2];
  if (pipe(fds) != 0) return Status::IOError(std::string("pipe: ") + std::strerror(errno));
  // The child inherits the recovered state through fork.
  std::vector<CubeHead> heads(model_.size());
  for (CubeId id = 1; id < model_.size(); ++id) {
    heads[id].version = static_cast<uint32_t>(model_[id].seen.size());
    heads[id].retired = model_[id].retired;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) return Status::IOError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    close(fds[0]);
    RunChild(ChildContext{config_.dir, run_, round, config_.threads, config_.seed, fds[1], &heads});
  }
  close(fds[1]);
  fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);

  // Collect acknowledgements while the child runs (so it never blocks on a full pipe), then
  // kill it and drain what is left.
  std::string buffer;
  auto drain = [&]() -> bool {  // false at end of file
    char chunk[8192];
    for (;;) {
      const ssize_t n = read(fds[0], chunk, sizeof(chunk));
      if (n > 0) {
        buffer.append(chunk, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return n != 0;
    }
  };
  // Until the child reports its Open done, the deadline is either the kill (kill_in_open_) or a
  // generous limit for a hung recovery.
  constexpr int kOpenLimitMs = 120000;
  const auto forked = std::chrono::steady_clock::now();
  auto deadline = forked + std::chrono::milliseconds(kill_in_open_ ? delay_ms_ : kOpenLimitMs);
  bool opened = kill_in_open_;  // (no deadline change on the opened record then)
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (!opened && buffer.size() >= sizeof(AckRecord)) {
      // The first record is always kAckOpened: from now, delay_ms_ of writing.
      opened = true;
      deadline = now + std::chrono::milliseconds(delay_ms_);
      continue;
    }
    if (now >= deadline) {
      if (!opened) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        close(fds[0]);
        return Fail(round, "the child's Open did not return within " +
                               std::to_string(kOpenLimitMs / 1000) + " s");
      }
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int wait_ms =
        static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count());
    if (poll(&p, 1, wait_ms) > 0 && !drain()) break;  // EOF: the child is gone already
  }
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (drain()) {
    pollfd p{fds[0], POLLIN, 0};
    poll(&p, 1, 100);
  }
  close(fds[0]);
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
    return Fail(round, WIFEXITED(status)
                           ? "the child stopped on its own with exit status " +
                                 std::to_string(WEXITSTATUS(status)) + " (its message is above)"
                           : "the child died of signal " + std::to_string(WTERMSIG(status)));
  }
  if (buffer.size() % sizeof(AckRecord) != 0) {
    return Fail(round, "a partial acknowledgement record in the pipe");
  }
  for (size_t off = 0; off < buffer.size(); off += sizeof(AckRecord)) {
    AckRecord ack;
    std::memcpy(&ack, buffer.data() + off, sizeof(ack));
    LOCI_RETURN_IF_ERROR(ApplyAck(round, ack, result));
  }
  return Check(round, result);
}

// Structural checks of one cube's recovered history, plus what the model says must be there.
Status Crashloop::CheckCube(uint32_t round, Db* db, CubeId id, const std::vector<MemCube>& history,
                            bool exists) {
  const std::string name = "cube " + std::to_string(id);
  CubeModel& m = Model(id);
  if (!exists) {
    if (m.acked > 0 || !m.seen.empty()) {
      return Fail(
          round,
          name + " is gone: " +
              (m.acked > 0 ? "version " + std::to_string(m.acked) + " was acknowledged"
                           : std::to_string(m.seen.size()) + " versions were recovered before"));
    }
    return Status::OK();
  }
  const uint32_t n = static_cast<uint32_t>(history.size());
  for (uint32_t i = 0; i < n; ++i) {
    const MemCube& v = history[i];
    const std::string vname = name + " version " + std::to_string(v.version);
    if (v.id != id || v.version != i + 1) {
      return Fail(round, name + ": history entry " + std::to_string(i) + " is cube " +
                             std::to_string(v.id) + " version " + std::to_string(v.version));
    }
    if (i > 0 && v.tx_from <= history[i - 1].tx_from) {
      return Fail(round, vname + ": commit time " + std::to_string(v.tx_from) +
                             " is not after the previous version's " +
                             std::to_string(history[i - 1].tx_from));
    }
    if (v.space != kSpace) return Fail(round, vname + ": space '" + v.space + "'");
    if (v.state == CubeState::kRetired) {
      if (i + 1 != n) return Fail(round, vname + ": a retirement followed by more versions");
      if (i == 0) return Fail(round, vname + ": a retirement as first version");
      if (CubeChecksum(v) != CubeChecksum(history[i - 1])) {
        return Fail(round, vname + ": the retirement does not keep the content it retired");
      }
      continue;
    }
    Origin o;
    std::string why;
    if (!ParsePayload(v.payload, &o, &why)) return Fail(round, vname + ": " + why);
    const std::vector<float>* vec = FieldVector(v);
    if (vec == nullptr || *vec != VectorFor(o)) {
      return Fail(round, vname + ": vector '" + kField + "' missing or not the one written with " +
                             "payload " + o.Tag());
    }
    const std::string* tag = TagAttr(v);
    if (tag == nullptr || *tag != o.Tag()) {
      return Fail(round, vname + ": attribute tag '" + (tag ? *tag : "(none)") +
                             "' does not match payload " + o.Tag());
    }
  }
  // Everything recovered before is still there, unchanged.
  if (n < m.seen.size()) {
    return Fail(round, name + ": " + std::to_string(m.seen.size()) +
                           " versions were recovered in an earlier round, now " +
                           std::to_string(n));
  }
  for (uint32_t i = 0; i < m.seen.size(); ++i) {
    if (CubeChecksum(history[i]) != m.seen[i]) {
      return Fail(round, name + " version " + std::to_string(i + 1) +
                             ": content differs from what an earlier recovery found");
    }
  }
  // The acknowledged version, with exactly the acknowledged content.
  if (m.acked > n) {
    return Fail(round, name + ": version " + std::to_string(m.acked) + " (" +
                           (m.acked_retire ? "a retirement" : "a write") +
                           ") was acknowledged, recovery found only " + std::to_string(n));
  }
  if (m.acked > 0) {
    const MemCube& v = history[m.acked - 1];
    if (m.acked_retire) {
      if (v.state != CubeState::kRetired) {
        return Fail(round, name + ": acknowledged retirement (version " + std::to_string(m.acked) +
                               ") recovered as state " + CubeStateName(v.state));
      }
      // Just before the retirement, the retired version is still what a read finds.
      ReadOptions before;
      before.as_of = v.tx_from - 1;
      MemCube old;
      Status s = db->Get(before, id, &old);
      if (!s.ok() || old.version != m.acked - 1) {
        return Fail(round, name + ": Get as of just before its retirement: " +
                               (s.ok() ? "version " + std::to_string(old.version) : s.ToString()));
      }
    } else if (v.state == CubeState::kRetired || CubeChecksum(v) != m.acked_checksum) {
      return Fail(round, name + " version " + std::to_string(m.acked) +
                             ": recovered content differs from the acknowledged write");
    }
  }
  // Get at now agrees with the newest version.
  MemCube now;
  Status s = db->Get(ReadOptions(), id, &now);
  const MemCube& last = history.back();
  if (last.state == CubeState::kRetired) {
    if (!s.IsNotFound()) {
      return Fail(round, name + " is retired (version " + std::to_string(n) + ") but Get says " +
                             (s.ok() ? "version " + std::to_string(now.version) : s.ToString()));
    }
  } else if (!s.ok() || now.version != n || CubeChecksum(now) != CubeChecksum(last)) {
    return Fail(round, name + ": Get at now gives " +
                           (s.ok() ? "version " + std::to_string(now.version) : s.ToString()) +
                           ", History ends at version " + std::to_string(n));
  }
  return Status::OK();
}

Status Crashloop::Check(uint32_t round, RoundResult* result) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<Db> db;
  Status s = Db::Open(DbOptions(), config_.dir, &db);
  if (!s.ok()) return Fail(round, "reopening after the kill: " + s.ToString());
  DbStats stats = db->Stats();
  result->recovery = stats.recovery;
  result->torn_tail = stats.recovery.find("torn") != std::string::npos;
  if (stats.recovery.find("stopped") != std::string::npos) {
    return Fail(round, "recovery stopped at damage in strict mode: " + stats.recovery);
  }

  // Every cube: the model's (acknowledged or recovered before) and any new one. Ids skip after a
  // kill (those of lost writes are never handed out again), so the walk goes on until Stats'
  // count is found, within a bound far past any id reservation.
  const CubeId known = model_.size();
  const CubeId bound = known + (CubeId{1} << 22);
  uint64_t versions = 0, cubes = 0;
  Timestamp max_tx = 0;
  // Commit time -> the write that owns it: "B" + the batch's origin, or the cube version.
  std::unordered_map<Timestamp, std::string> owner;
  // Batch origin -> its versions found: (part, commit time).
  std::unordered_map<std::string, std::vector<std::pair<uint32_t, Timestamp>>> batches;
  std::vector<MemCube> history;
  for (CubeId id = 1; id < known || cubes < stats.cubes; ++id) {
    if (id >= bound) {
      return Fail(round, "only " + std::to_string(cubes) + " of the " +
                             std::to_string(stats.cubes) + " cubes Stats counts were found");
    }
    s = db->History(ReadOptions(), id, &history);
    if (!s.ok() && !s.IsNotFound())
      return Fail(round, "History of cube " + std::to_string(id) + ": " + s.ToString());
    const bool exists = s.ok();
    if (exists && history.empty()) {
      return Fail(round, "History of cube " + std::to_string(id) + " is OK but empty");
    }
    LOCI_RETURN_IF_ERROR(CheckCube(round, db.get(), id, history, exists));
    if (!exists) continue;
    ++cubes;
    versions += history.size();
    CubeModel& m = Model(id);
    for (size_t i = 0; i < history.size(); ++i) {
      const MemCube& v = history[i];
      max_tx = std::max(max_tx, v.tx_from);
      if (i >= m.seen.size()) {
        ++result->new_versions;
        if (v.tx_from <= max_tx_) {
          return Fail(round, "cube " + std::to_string(id) + " version " +
                                 std::to_string(v.version) + " is new since the last recovery " +
                                 "but its commit time " + std::to_string(v.tx_from) +
                                 " is not after that recovery's newest " + std::to_string(max_tx_) +
                                 " (the clock went back)");
        }
      }
      std::string who = "cube " + std::to_string(id) + " version " + std::to_string(v.version);
      if (v.state != CubeState::kRetired) {
        Origin o;
        std::string why;
        ParsePayload(v.payload, &o, &why);  // checked by CheckCube
        runs_seen_.insert(o.run);
        if (o.batch) {
          who = "batch " + o.Write();
          batches[o.Write()].emplace_back(o.part, v.tx_from);
        }
      }
      auto [it, inserted] = owner.emplace(v.tx_from, who);
      if (!inserted && (!who.starts_with("batch ") || it->second != who)) {
        return Fail(round, "cube " + std::to_string(id) + " version " + std::to_string(v.version) +
                               " (" + who + ") shares commit time " + std::to_string(v.tx_from) +
                               " with " + it->second);
      }
    }
    m.seen.resize(history.size());
    for (size_t i = 0; i < history.size(); ++i) m.seen[i] = CubeChecksum(history[i]);
    m.retired = history.back().state == CubeState::kRetired;
  }
  for (const auto& [key, parts] : batches) {
    const bool whole = parts.size() == 2 && parts[0].first + parts[1].first == 1 &&
                       parts[0].second == parts[1].second;
    if (!whole) {
      return Fail(round, "batch " + key + " is visible in part: " + std::to_string(parts.size()) +
                             " of its 2 versions found" +
                             (parts.size() == 2 ? " (with different parts or commit times)" : ""));
    }
  }

  // Stats agree with what was read.
  if (stats.versions != versions) {
    return Fail(round, "Stats counts " + std::to_string(stats.versions) + " versions, History " +
                           std::to_string(versions));
  }
  if (stats.poisoned || stats.read_only) return Fail(round, "Stats: poisoned or read-only");
  if (stats.group_commits != 0 || stats.batches_committed != 0) {
    return Fail(round, "Stats: commits counted by an instance that has not written");
  }
  if (stats.checkpoint_lsn > 0 && stats.checkpoint_files == 0) {
    return Fail(round, "Stats: a checkpoint LSN without checkpoint files");
  }
  if (versions > 0 && stats.last_lsn == 0) return Fail(round, "Stats: versions but no LSN");
  if (stats.checkpoint_lsn > stats.last_lsn) {
    return Fail(round, "Stats: checkpoint LSN " + std::to_string(stats.checkpoint_lsn) +
                           " after the last LSN " + std::to_string(stats.last_lsn));
  }
  if (stats.clock_high_water < max_tx || stats.clock_high_water < clock_high_water_) {
    return Fail(round, "Stats: clock high water " + std::to_string(stats.clock_high_water) +
                           " is behind a commit time issued before (" +
                           std::to_string(std::max(max_tx, clock_high_water_)) + ")");
  }
  if (cubes > 0) {
    const bool field_ok =
        stats.spaces == 1 && stats.vector_fields.size() == 1 &&
        stats.vector_fields[0].space == kSpace && stats.vector_fields[0].name == kField &&
        stats.vector_fields[0].dim == kDim && stats.vector_fields[0].metric == "cosine";
    if (!field_ok) return Fail(round, "Stats: spaces or vector fields are not the one written");
    if (stats.wal_segments == 0 || stats.arena_generations == 0) {
      return Fail(round, "Stats: no WAL segment or arena generation");
    }
  }
  IntegrityReport report;
  s = db->Verify(&report);
  if (!s.ok()) {
    std::string problems;
    for (size_t i = 0; i < report.problems.size() && i < 5; ++i) {
      problems += "\n    " + report.problems[i];
    }
    return Fail(round, "Verify: " + s.ToString() + problems);
  }
  if (report.versions != versions || report.cubes != cubes) {
    return Fail(round, "Verify checked " + std::to_string(report.cubes) + " cubes / " +
                           std::to_string(report.versions) + " versions, History found " +
                           std::to_string(cubes) + " / " + std::to_string(versions));
  }
  max_tx_ = std::max(max_tx_, max_tx);
  clock_high_water_ = stats.clock_high_water;
  result->cubes = cubes;
  result->versions = versions;
  result->check_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Status::OK();
}

Status Crashloop::Run() {
  std::printf(
      "# crashloop: %d kills of a %d-thread sync writer in %s, each %d..%d ms after the child's "
      "Open returned (one in 8 during its Open instead), seed %llu (--seed %llu reproduces the "
      "delays and operations)\n",
      config_.kills, config_.threads, config_.dir.c_str(), config_.min_ms, config_.max_ms,
      static_cast<unsigned long long>(config_.seed), static_cast<unsigned long long>(config_.seed));
  std::fflush(stdout);
  Rng rng(config_.seed);
  const auto start = std::chrono::steady_clock::now();
  uint64_t acks = 0, torn = 0, survived = 0, new_versions = 0;
  Status failure;
  // A database left by an earlier run is checked first: the model starts from what it holds,
  // and this run's payloads get a run id none of its versions has.
  if (std::filesystem::exists(DbPaths(config_.dir).superblock())) {
    RoundResult r;
    failure = Check(kInitialCheck, &r);
    if (failure.ok()) {
      std::printf(
          "# existing database: %llu cubes, %llu versions from %zu earlier run(s), "
          "checked in %.2f s\n",
          static_cast<unsigned long long>(r.cubes), static_cast<unsigned long long>(r.versions),
          runs_seen_.size(), r.check_seconds);
    }
  }
  run_ = static_cast<uint32_t>(Mix64(config_.seed));
  for (uint64_t k = 1; runs_seen_.count(run_) != 0; ++k) {
    run_ = static_cast<uint32_t>(Mix64(config_.seed + k));
  }
  for (int round = 0; failure.ok() && round < config_.kills; ++round) {
    // One round in eight kills the child while it recovers (somewhere in the time the last
    // Open took); the others let it write for a delay in [min_ms, max_ms] after its Open.
    kill_in_open_ = rng.Uniform(8) == 0;
    delay_ms_ =
        kill_in_open_
            ? static_cast<int>(rng.Uniform(static_cast<uint64_t>(last_open_ms_) + 1))
            : config_.min_ms + static_cast<int>(rng.Uniform(
                                   static_cast<uint64_t>(config_.max_ms - config_.min_ms) + 1));
    RoundResult r;
    Status s = RunRound(static_cast<uint32_t>(round), &r);
    if (!s.ok()) {
      failure = s;
      break;
    }
    ++survived;
    acks += r.acks;
    new_versions += r.new_versions;
    if (r.torn_tail) ++torn;
    char opened[32] = "in Open";
    if (r.child_open_us >= 0) {
      last_open_ms_ = std::max<int64_t>(1, r.child_open_us / 1000);
      std::snprintf(opened, sizeof(opened), "open took %lld ms",
                    static_cast<long long>(r.child_open_us / 1000));
    }
    std::printf(
        "kill %3d/%d: %4d ms after %s (%s), %5llu acks (put %llu, update %llu, retire %llu, "
        "batch %llu), %6llu cubes, %6llu versions (+%llu), check %.2f s%s%s\n",
        round + 1, config_.kills, delay_ms_, kill_in_open_ ? "fork" : "Open", opened,
        static_cast<unsigned long long>(r.acks),
        static_cast<unsigned long long>(r.acked_ops[kAckPut]),
        static_cast<unsigned long long>(r.acked_ops[kAckUpdate]),
        static_cast<unsigned long long>(r.acked_ops[kAckRetire]),
        static_cast<unsigned long long>(r.acked_ops[kAckBatch]),
        static_cast<unsigned long long>(r.cubes), static_cast<unsigned long long>(r.versions),
        static_cast<unsigned long long>(r.new_versions), r.check_seconds,
        r.recovery.empty() ? "" : ", recovery: ", r.recovery.c_str());
    std::fflush(stdout);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "crashloop: %llu/%d kills survived, %llu acknowledged writes verified, %llu recoveries "
      "found a torn tail, %.1f s, seed %llu%s\n",
      static_cast<unsigned long long>(survived), config_.kills,
      static_cast<unsigned long long>(acks), static_cast<unsigned long long>(torn), seconds,
      static_cast<unsigned long long>(config_.seed), failure.ok() ? "" : ": FAILED");
  if (!config_.json.empty()) {
    nlohmann::json j = {{"scenario", "crashloop"},
                        {"dir", config_.dir},
                        {"seed", config_.seed},
                        {"kills", config_.kills},
                        {"kills_survived", survived},
                        {"acks_verified", acks},
                        {"versions_recovered_new", new_versions},
                        {"torn_tail_recoveries", torn},
                        {"threads", config_.threads},
                        {"min_ms", config_.min_ms},
                        {"max_ms", config_.max_ms},
                        {"seconds", seconds},
                        {"ok", failure.ok()},
                        {"error", failure.ok() ? "" : failure.message()}};
    FILE* f = std::fopen(config_.json.c_str(), "w");
    if (f == nullptr) {
      return Status::IOError(config_.json + ": " + std::strerror(errno));
    }
    const std::string text = j.dump(2) + "\n";
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  return failure;
}

}  // namespace

Status RunCrashloop(const CrashloopConfig& config) {
  if (config.kills < 1 || config.threads < 1 || config.min_ms < 0 ||
      config.max_ms < config.min_ms) {
    return Status::InvalidArgument(
        "crashloop: need --kills >= 1, --threads >= 1 and 0 <= --min-ms <= --max-ms");
  }
  std::error_code ec;
  std::filesystem::create_directories(config.dir, ec);
  if (ec) return Status::IOError(config.dir + ": " + ec.message());
  signal(SIGPIPE, SIG_IGN);
  Crashloop loop(config);
  return loop.Run();
}

}  // namespace loci::bench
