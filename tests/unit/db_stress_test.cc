// Stress of one Db from 16 threads for a fixed time (default 3 s; LOCI_STRESS_SECONDS
// overrides), over NewMemEnv(): 7 writers (puts, updates, retires, two-operation batches and
// batches that must fail; sync and not; through Write and through Put/Update/Retire), 8 readers
// (Get at now, Get as of a commit time a writer published, History, snapshot reads) and a
// checkpointer. Built for TSan (label tsan), also run in the debug and ASan builds.
//
// Every version's content is a function of who wrote it: the payload starts with
// "w=<writer>;s=<seq>;v=<version>;i=<id>;b=<batch>;q=<partner>;x=<0|1>;" followed by filler
// derived from that header, its vector and its attributes are derived from the same fields.
// So a reader can check a whole record on its own, and the invariants below hold no matter how
// the threads interleave:
//   - no torn reads: payload, vector and attributes agree with each other and with the version
//     number the read returned (a retirement keeps the content of the version it retires);
//   - per reader, a cube's version never goes backwards, and a retired cube never comes back;
//   - nothing of a failed batch is ever visible (x=1 marks its content);
//   - a version a writer published with its commit time T is exactly what Get as of T returns,
//     and as of T-1 the version before it (or nothing) is; a Get as of T never returns a version
//     committed after T, nor one whose tx_to is at or before T;
//   - histories number versions 1..n with strictly increasing commit times, each version's tx_to
//     being the next one's tx_from;
//   - a snapshot read twice gives the same answer, and sees nothing committed after its time;
//   - batches are atomic: wherever one version of a batch is visible, at that read point its
//     partner is too, with the same commit time.
// At the end published commits are checked again when nothing runs, and a reopen must give the
// same histories.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "loci/db.h"
#include "loci/env.h"

namespace loci {
namespace {

constexpr int kWriters = 7;
constexpr int kReaders = 8;  // + 1 checkpointer = 16 threads
constexpr char kSpace[] = "stress";
constexpr char kField[] = "e";
constexpr CubeId kMissingId = CubeId{1} << 40;  // never assigned

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

uint64_t HashString(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return Mix(h);
}

// What identifies a version's content.
struct Header {
  uint32_t writer = 0;
  uint32_t seq = 0;
  uint32_t version = 0;
  CubeId id = 0;        // 0 for a put (the id is not known before)
  uint64_t batch = 0;   // nonzero: written by a batch, this is its tag
  CubeId partner = 0;   // the other cube of the batch, when known before the write
  bool poison = false;  // part of a batch that must fail
};

uint64_t HeaderSeed(const Header& h) {
  return Mix(Mix(Mix(h.writer + 1) ^ h.seq) ^ (uint64_t{h.version} << 32 | h.poison));
}

std::string MakePayload(const Header& h) {
  char head[160];
  std::snprintf(head, sizeof(head),
                "w=%u;s=%u;v=%u;i=%" PRIu64 ";b=%" PRIu64 ";q=%" PRIu64 ";x=%d;", h.writer, h.seq,
                h.version, h.id, h.batch, h.partner, h.poison ? 1 : 0);
  std::string payload = head;
  uint64_t r = HeaderSeed(h);
  const size_t filler = r % 300;
  for (size_t i = 0; i < filler; ++i) {
    r = Mix(r + i);
    payload.push_back(static_cast<char>('a' + r % 26));
  }
  return payload;
}

std::vector<float> MakeVector(const Header& h) {
  const uint64_t r = HeaderSeed(h) ^ 0xabcdef;
  return {1.0f, static_cast<float>(r % 1000), static_cast<float>((r >> 10) % 1000),
          static_cast<float>(h.version)};
}

std::vector<Attr> MakeAttrs(const Header& h, const std::string& payload) {
  return {{"w", int64_t{h.writer}},
          {"s", int64_t{h.seq}},
          {"v", int64_t{h.version}},
          {"h", std::to_string(HashString(payload))}};
}

bool ParseHeader(const std::string& payload, Header* h) {
  unsigned writer, seq, version;
  uint64_t id, batch, partner;
  int poison;
  if (std::sscanf(payload.c_str(), "w=%u;s=%u;v=%u;i=%" SCNu64 ";b=%" SCNu64 ";q=%" SCNu64 ";x=%d;",
                  &writer, &seq, &version, &id, &batch, &partner, &poison) != 7) {
    return false;
  }
  h->writer = writer;
  h->seq = seq;
  h->version = version;
  h->id = id;
  h->batch = batch;
  h->partner = partner;
  h->poison = poison != 0;
  return true;
}

std::string Describe(const MemCube& c) {
  return "cube " + std::to_string(c.id) + " version " + std::to_string(c.version) + " (" +
         CubeStateName(c.state) + ", tx_from " + std::to_string(c.tx_from) + ", payload \"" +
         c.payload.substr(0, 60) + "\")";
}

// Checks that a cube read back is whole and consistent with itself (a retirement carries the
// content of the version it retires). Returns "" or what is wrong; fills *out with the header.
std::string CheckRecord(const MemCube& c, Header* out = nullptr) {
  Header h;
  if (!ParseHeader(c.payload, &h)) return Describe(c) + ": payload header unreadable";
  if (h.poison) return Describe(c) + ": content of a batch that failed is visible";
  const uint32_t content_version = c.state == CubeState::kRetired ? c.version - 1 : c.version;
  if (h.version != content_version) {
    return Describe(c) + ": payload was written as version " + std::to_string(h.version);
  }
  if (h.id != 0 && h.id != c.id) {
    return Describe(c) + ": payload was written for cube " + std::to_string(h.id);
  }
  if (c.payload != MakePayload(h)) return Describe(c) + ": payload body torn or mixed";
  if (c.vectors.size() != 1 || c.vectors[0].field != kField ||
      c.vectors[0].values != MakeVector(h)) {
    return Describe(c) + ": vector does not belong to the payload";
  }
  std::vector<Attr> attrs = MakeAttrs(h, c.payload);
  std::sort(attrs.begin(), attrs.end(), [](const Attr& a, const Attr& b) { return a.key < b.key; });
  std::vector<Attr> got = c.attrs;
  std::sort(got.begin(), got.end(), [](const Attr& a, const Attr& b) { return a.key < b.key; });
  if (got != attrs) return Describe(c) + ": attributes do not belong to the payload";
  if (c.space != kSpace) return Describe(c) + ": space '" + c.space + "'";
  if (out != nullptr) *out = h;
  return "";
}

// A commit a writer published once its Write returned.
struct Commit {
  CubeId id = 0;
  uint32_t version = 0;
  bool retire = false;
  Timestamp time = 0;  // WriteResult::commit_time
  CubeId partner = 0;  // the other cube of a batch (0: none)
  uint32_t partner_version = 0;
};

// Commits of one writer, appended by it and sampled by the readers.
class CommitLog {
 public:
  void Add(const Commit& c) {
    std::lock_guard<std::mutex> lock(mu_);
    commits_.push_back(c);
  }
  bool Sample(std::mt19937_64* rng, Commit* c) {
    std::lock_guard<std::mutex> lock(mu_);
    if (commits_.empty()) return false;
    // Half from the newest ones: the races are there.
    const size_t n = commits_.size();
    const size_t i = (*rng)() % 2 == 0 ? n - 1 - (*rng)() % std::min<size_t>(n, 16) : (*rng)() % n;
    *c = commits_[i];
    return true;
  }
  std::vector<Commit> All() {
    std::lock_guard<std::mutex> lock(mu_);
    return commits_;
  }

 private:
  std::mutex mu_;
  std::vector<Commit> commits_;
};

double StressSeconds() {
  const char* v = std::getenv("LOCI_STRESS_SECONDS");
  if (v != nullptr && *v != '\0') {
    const double s = std::atof(v);
    if (s > 0) return s;
  }
  return 3.0;
}

class DbStressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = NewMemEnv();
    options_.env = env_.get();
    options_.create_if_missing = true;
    options_.wal_segment_bytes = 64 << 10;      // rotations under load
    options_.checkpoint_wal_bytes = 512 << 10;  // automatic checkpoints besides the explicit ones
    options_.arena_generation_bytes = 2 << 20;  // new arena generations while readers map old ones
    ASSERT_TRUE(Db::Open(options_, "/stress", &db_).ok());
  }

  // Records a violation (the first few in full) and stops every thread.
  void Fail(const std::string& what) {
    if (failures_.fetch_add(1) < 5) ADD_FAILURE() << what;
    stop_.store(true);
  }
  bool Running() const { return !stop_.load(std::memory_order_relaxed); }

  void Writer(int w);
  void Reader(int r);
  void Checkpointer();
  // Checks a batch partner at `at`: visible, written by batch `tag`, committed at `time`.
  void CheckPartner(const ReadOptions& at, CubeId partner, uint64_t tag, Timestamp time,
                    const std::string& context);
  void CheckCommit(const Commit& c);

  std::unique_ptr<Env> env_;
  Options options_;
  std::unique_ptr<Db> db_;
  std::atomic<bool> stop_{false};
  std::atomic<int> failures_{0};
  std::atomic<CubeId> max_id_{0};  // highest id a Put has returned
  CommitLog logs_[kWriters];

  std::atomic<uint64_t> writes_{0}, failed_batches_{0}, reads_{0}, commit_checks_{0},
      partner_checks_{0}, snapshot_reads_{0}, histories_{0}, checkpoints_{0};
};

void DbStressTest::Writer(int w) {
  std::mt19937_64 rng(1000 + w);
  std::unordered_map<CubeId, uint32_t> versions;  // my live cubes -> newest version
  std::vector<CubeId> live;
  uint32_t seq = 0;

  auto content = [&](uint32_t version, CubeId id, uint64_t batch, CubeId partner, bool poison) {
    Header h{static_cast<uint32_t>(w), seq, version, id, batch, partner, poison};
    return h;
  };
  auto draft = [&](const Header& h) {
    CubeDraft d;
    d.space = kSpace;
    d.payload = MakePayload(h);
    d.vectors = {{kField, MakeVector(h)}};
    d.attrs = MakeAttrs(h, d.payload);
    return d;
  };
  auto patch = [&](const Header& h) {
    CubePatch p;
    p.payload = MakePayload(h);
    p.set_vectors = {{kField, MakeVector(h)}};
    p.set_attrs = MakeAttrs(h, *p.payload);
    return p;
  };
  auto pick = [&]() -> size_t { return rng() % live.size(); };
  auto note_put = [&](CubeId id) {
    versions[id] = 1;
    live.push_back(id);
    CubeId cur = max_id_.load();
    while (cur < id && !max_id_.compare_exchange_weak(cur, id)) {
    }
  };

  while (Running()) {
    ++seq;
    WriteOptions wo;
    wo.sync = rng() % 2 == 0;
    const int r = static_cast<int>(rng() % 100);
    const bool via_write = rng() % 3 != 0;  // else the single-operation API
    if (r < 25 || live.size() < 4) {
      const Header h = content(1, 0, 0, 0, false);
      CubeId id = 0;
      if (via_write) {
        WriteBatch b;
        b.Put(draft(h));
        WriteResult res;
        Status s = db_->Write(wo, b, &res);
        if (!s.ok()) return Fail("Write(put): " + s.ToString());
        id = res.ops.at(0).id;
        if (res.ops[0].version != 1)
          return Fail("a put created version " + std::to_string(res.ops[0].version));
        logs_[w].Add(Commit{id, 1, false, res.commit_time});
      } else {
        Result<CubeId> put = db_->Put(wo, draft(h));
        if (!put.ok()) return Fail("Put: " + put.status().ToString());
        id = *put;
      }
      note_put(id);
    } else if (r < 55) {
      const CubeId id = live[pick()];
      const uint32_t v = versions[id] + 1;
      const Header h = content(v, id, 0, 0, false);
      if (via_write) {
        WriteBatch b;
        b.Update(id, patch(h));
        WriteResult res;
        Status s = db_->Write(wo, b, &res);
        if (!s.ok())
          return Fail("Write(update of cube " + std::to_string(id) + "): " + s.ToString());
        if (res.ops.at(0).id != id || res.ops[0].version != v) {
          return Fail("update of cube " + std::to_string(id) + " created version " +
                      std::to_string(res.ops[0].version) + ", expected " + std::to_string(v));
        }
        logs_[w].Add(Commit{id, v, false, res.commit_time});
      } else {
        Result<uint32_t> got = db_->Update(wo, id, patch(h));
        if (!got.ok())
          return Fail("Update of cube " + std::to_string(id) + ": " + got.status().ToString());
        if (*got != v) {
          return Fail("Update of cube " + std::to_string(id) + " returned version " +
                      std::to_string(*got) + ", expected " + std::to_string(v));
        }
      }
      versions[id] = v;
    } else if (r < 60 && live.size() > 8) {
      const size_t i = pick();
      const CubeId id = live[i];
      const uint32_t v = versions[id] + 1;
      if (via_write) {
        WriteBatch b;
        b.Retire(id);
        WriteResult res;
        Status s = db_->Write(wo, b, &res);
        if (!s.ok())
          return Fail("Write(retire of cube " + std::to_string(id) + "): " + s.ToString());
        if (res.ops.at(0).version != v) return Fail("a retirement created the wrong version");
        logs_[w].Add(Commit{id, v, true, res.commit_time});
      } else {
        Status s = db_->Retire(wo, id);
        if (!s.ok()) return Fail("Retire of cube " + std::to_string(id) + ": " + s.ToString());
      }
      versions.erase(id);
      live[i] = live.back();
      live.pop_back();
    } else if (r < 92) {
      // A pair: update+update, put+update or put+put. A payload names its partner when the
      // partner's id is known before the write (an update's).
      const uint64_t tag = (uint64_t{static_cast<uint32_t>(w)} << 32) | seq;
      const int shape = static_cast<int>(rng() % 3);
      CubeId ua = 0, ub = 0;  // the updated cubes (0: that part is a put)
      if (shape == 0) {
        ua = live[pick()];
        ub = live[pick()];
        if (ua == ub) ub = 0;
      } else if (shape == 1) {
        ub = live[pick()];
      }
      WriteBatch b;
      for (int part = 0; part < 2; ++part) {
        const CubeId self = part == 0 ? ua : ub;
        const CubeId partner = part == 0 ? ub : ua;
        const Header h = content(self != 0 ? versions[self] + 1 : 1, self, tag, partner, false);
        if (self != 0) {
          b.Update(self, patch(h));
        } else {
          b.Put(draft(h));
        }
      }
      WriteResult res;
      Status s = db_->Write(wo, b, &res);
      if (!s.ok()) return Fail("Write(pair): " + s.ToString());
      if (res.ops.size() != 2)
        return Fail("a pair produced " + std::to_string(res.ops.size()) + " results");
      for (int part = 0; part < 2; ++part) {
        const CubeId self = part == 0 ? ua : ub;
        const WriteResult::OpResult& op = res.ops[part];
        if (self != 0) {
          if (op.id != self || op.version != versions[self] + 1) {
            return Fail("pair update of cube " + std::to_string(self) + " reported cube " +
                        std::to_string(op.id) + " version " + std::to_string(op.version));
          }
          versions[self] = op.version;
        } else {
          if (op.version != 1)
            return Fail("pair put created version " + std::to_string(op.version));
          note_put(op.id);
        }
      }
      logs_[w].Add(Commit{res.ops[0].id, res.ops[0].version, false, res.commit_time, res.ops[1].id,
                          res.ops[1].version});
      logs_[w].Add(Commit{res.ops[1].id, res.ops[1].version, false, res.commit_time, res.ops[0].id,
                          res.ops[0].version});
    } else {
      // A batch that must fail as a whole: a valid first operation (marked poison), then an
      // update of a cube that does not exist. Nothing of it may ever be visible.
      WriteBatch b;
      const uint64_t tag = (uint64_t{static_cast<uint32_t>(w)} << 32) | seq;
      if (rng() % 2 == 0) {
        const CubeId id = live[pick()];
        b.Update(id, patch(content(versions[id] + 1, id, tag, kMissingId, true)));
      } else {
        b.Put(draft(content(1, 0, tag, kMissingId, true)));
      }
      b.Update(kMissingId, patch(content(1, kMissingId, tag, 0, true)));
      WriteResult res;
      Status s = db_->Write(wo, b, &res);
      if (s.ok()) return Fail("a batch updating a missing cube succeeded");
      if (!s.IsNotFound()) return Fail("a batch updating a missing cube: " + s.ToString());
      ++failed_batches_;
      continue;
    }
    ++writes_;
  }
}

void DbStressTest::CheckPartner(const ReadOptions& at, CubeId partner, uint64_t tag, Timestamp time,
                                const std::string& context) {
  // At the read point where one half of the batch is visible, the partner's history holds its
  // half: a version committed at the same time by the same batch (later versions may follow).
  std::vector<MemCube> h;
  Status s = db_->History(at, partner, &h);
  ++partner_checks_;
  if (!s.ok()) {
    return Fail(context + ": batch visible in part: its partner cube " + std::to_string(partner) +
                " has no history at the same read point: " + s.ToString());
  }
  for (const MemCube& v : h) {
    if (v.tx_from != time) continue;
    Header vh;
    if (std::string bad = CheckRecord(v, &vh); !bad.empty()) return Fail(context + ": " + bad);
    if (vh.batch != tag) return Fail(context + ": partner " + Describe(v) + " shares its time");
    return;
  }
  Fail(context + ": batch visible in part: partner cube " + std::to_string(partner) +
       " has no version committed with it at the same read point (newest: " + Describe(h.back()) +
       ")");
}

// The version a writer published with commit time T is exactly what a read as of T sees; as of
// T - 1, the version before it.
void DbStressTest::CheckCommit(const Commit& c) {
  ++commit_checks_;
  const std::string what = "cube " + std::to_string(c.id) + " version " +
                           std::to_string(c.version) + " committed at " + std::to_string(c.time);
  ReadOptions at;
  at.as_of = c.time;
  MemCube cube;
  Status s = db_->Get(at, c.id, &cube);
  if (c.retire) {
    if (!s.IsNotFound()) {
      return Fail(what + " (a retirement): Get as of its commit time: " +
                  (s.ok() ? Describe(cube) : s.ToString()));
    }
  } else {
    if (!s.ok()) return Fail(what + ": Get as of its commit time: " + s.ToString());
    if (cube.version != c.version || cube.tx_from != c.time) {
      return Fail(what + ": Get as of its commit time returns " + Describe(cube));
    }
    if (std::string bad = CheckRecord(cube); !bad.empty()) return Fail(bad);
    if (cube.tx_to <= c.time) return Fail(what + ": tx_to " + std::to_string(cube.tx_to));
  }
  if (c.partner != 0) {
    MemCube p;
    s = db_->Get(at, c.partner, &p);
    if (!s.ok() || p.version != c.partner_version || p.tx_from != c.time) {
      return Fail(what + ": its batch partner cube " + std::to_string(c.partner) + " version " +
                  std::to_string(c.partner_version) +
                  " as of the same time: " + (s.ok() ? Describe(p) : s.ToString()));
    }
  }
  ReadOptions before;
  before.as_of = c.time - 1;
  s = db_->Get(before, c.id, &cube);
  if (c.version == 1) {
    if (!s.IsNotFound()) {
      return Fail(what +
                  ": as of just before its put: " + (s.ok() ? Describe(cube) : s.ToString()));
    }
  } else if (!s.ok() || cube.version != c.version - 1) {
    return Fail(what + ": as of just before it: " + (s.ok() ? Describe(cube) : s.ToString()));
  }
  if (c.partner != 0) {
    MemCube p;
    s = db_->Get(before, c.partner, &p);
    if (s.ok() ? p.version != c.partner_version - 1 : c.partner_version != 1) {
      return Fail(what + ": its batch partner as of just before the batch: " +
                  (s.ok() ? Describe(p) : s.ToString()));
    }
  }
}

void DbStressTest::Reader(int r) {
  std::mt19937_64 rng(2000 + r);
  std::unordered_map<CubeId, uint32_t> seen;  // newest version this reader saw per cube
  std::unordered_map<CubeId, bool> gone;      // this reader saw it retired
  auto random_id = [&]() -> CubeId {
    const CubeId max = max_id_.load();
    if (max == 0) return 0;
    if (rng() % 2 == 0) return max - rng() % std::min<CubeId>(max, 32);
    return 1 + rng() % max;
  };
  // Checks a version read at `at` (and its batch partner at the same read point).
  auto check_read = [&](const ReadOptions& at, const MemCube& c, const std::string& how) {
    Header h;
    if (std::string bad = CheckRecord(c, &h); !bad.empty()) return Fail(how + ": " + bad);
    if (h.batch != 0 && h.partner != 0) {
      ReadOptions same = at;
      if (same.snapshot == nullptr && !same.as_of) same.as_of = c.tx_from;
      CheckPartner(same, h.partner, h.batch, c.tx_from, how + " " + Describe(c));
    }
  };

  while (Running()) {
    const int op = static_cast<int>(rng() % 100);
    ++reads_;
    if (op < 30) {
      // Get at now.
      const CubeId id = random_id();
      if (id == 0) continue;
      MemCube c;
      Status s = db_->Get(ReadOptions(), id, &c);
      if (s.IsNotFound()) {
        if (seen.count(id) != 0) gone[id] = true;  // retired since (it existed: seen)
        continue;
      }
      if (!s.ok()) return Fail("Get of cube " + std::to_string(id) + ": " + s.ToString());
      if (gone.count(id) != 0) return Fail(Describe(c) + " is back after a Get found it retired");
      if (c.version < seen[id]) {
        return Fail(Describe(c) + ": this reader saw version " + std::to_string(seen[id]) +
                    " before");
      }
      seen[id] = c.version;
      check_read(ReadOptions(), c, "Get at now");
    } else if (op < 55) {
      // Get as of a commit time a writer published.
      Commit c;
      if (logs_[rng() % kWriters].Sample(&rng, &c)) CheckCommit(c);
    } else if (op < 70) {
      // History.
      const CubeId id = random_id();
      if (id == 0) continue;
      std::vector<MemCube> h;
      Status s = db_->History(ReadOptions(), id, &h);
      ++histories_;
      if (!s.ok()) return Fail("History of cube " + std::to_string(id) + ": " + s.ToString());
      for (size_t i = 0; i < h.size(); ++i) {
        const MemCube& v = h[i];
        if (v.id != id || v.version != i + 1)
          return Fail("History: entry " + std::to_string(i) + " is " + Describe(v));
        if (v.state == CubeState::kRetired && i + 1 != h.size()) {
          return Fail("History: " + Describe(v) + " is a retirement followed by more versions");
        }
        if (v.state == CubeState::kRetired && i == 0) return Fail("History: retired version 1");
        if (std::string bad = CheckRecord(v); !bad.empty()) return Fail("History: " + bad);
        const Timestamp next_tx = i + 1 < h.size() ? h[i + 1].tx_from : kForever;
        if (i + 1 < h.size() && next_tx <= v.tx_from) {
          return Fail("History: " + Describe(h[i + 1]) + " not committed after its predecessor");
        }
        if (v.tx_to != next_tx) {
          return Fail("History: " + Describe(v) + " has tx_to " + std::to_string(v.tx_to) +
                      ", the next version's tx_from is " + std::to_string(next_tx));
        }
      }
      if (h.size() < seen[id]) {
        return Fail("History of cube " + std::to_string(id) + " has " + std::to_string(h.size()) +
                    " versions, this reader saw version " + std::to_string(seen[id]));
      }
      if (h.back().state == CubeState::kRetired) {
        gone[id] = true;
      } else if (gone.count(id) != 0) {
        return Fail("History: cube " + std::to_string(id) + " is back after being retired");
      }
      seen[id] = std::max<uint32_t>(seen[id], static_cast<uint32_t>(h.size()));
    } else if (op < 90) {
      // A snapshot: several reads, each repeated, all at its time.
      std::shared_ptr<const Snapshot> snap = db_->GetSnapshot();
      ReadOptions at;
      at.snapshot = snap.get();
      CubeId ids[6];
      MemCube first[6];
      Status st[6];
      for (int i = 0; i < 6; ++i) {
        ids[i] = random_id();
        if (ids[i] == 0) continue;
        st[i] = db_->Get(at, ids[i], &first[i]);
        ++snapshot_reads_;
        if (st[i].ok()) {
          if (first[i].tx_from > snap->time()) {
            return Fail("snapshot at " + std::to_string(snap->time()) + " sees " +
                        Describe(first[i]));
          }
          check_read(at, first[i], "snapshot read");
        } else if (!st[i].IsNotFound()) {
          return Fail("snapshot Get of cube " + std::to_string(ids[i]) + ": " + st[i].ToString());
        }
      }
      std::this_thread::yield();
      for (int i = 0; i < 6; ++i) {
        if (ids[i] == 0) continue;
        MemCube again;
        Status s = db_->Get(at, ids[i], &again);
        if (s.ok() != st[i].ok() ||
            (s.ok() && (again.version != first[i].version || again.payload != first[i].payload ||
                        again.tx_to != first[i].tx_to))) {
          return Fail("snapshot at " + std::to_string(snap->time()) + ", cube " +
                      std::to_string(ids[i]) + ": read twice, first " +
                      (st[i].ok() ? Describe(first[i]) : st[i].ToString()) + ", then " +
                      (s.ok() ? Describe(again) : s.ToString()));
        }
      }
      if (snap->time() > db_->Now()) return Fail("a snapshot's time is after Now()");
    } else {
      // As of a time a little in the past: nothing committed after it, nothing overridden by then.
      const CubeId id = random_id();
      if (id == 0) continue;
      ReadOptions at;
      at.as_of = db_->Now() - static_cast<Timestamp>(rng() % 2000);
      MemCube c;
      Status s = db_->Get(at, id, &c);
      if (s.ok()) {
        if (c.tx_from > *at.as_of || c.tx_to <= *at.as_of) {
          return Fail("Get as of " + std::to_string(*at.as_of) + " returns " + Describe(c) +
                      " with tx_to " + std::to_string(c.tx_to));
        }
        check_read(at, c, "Get as of the recent past");
      } else if (!s.IsNotFound()) {
        return Fail("Get as of the recent past, cube " + std::to_string(id) + ": " + s.ToString());
      }
    }
  }
}

void DbStressTest::Checkpointer() {
  while (Running()) {
    Status s = db_->Checkpoint();
    if (!s.ok()) return Fail("Checkpoint: " + s.ToString());
    ++checkpoints_;
    std::this_thread::sleep_for(std::chrono::milliseconds(15));
  }
}

TEST_F(DbStressTest, SixteenThreadsKeepEveryInvariant) {
  const double seconds = StressSeconds();
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) threads.emplace_back([this, w] { Writer(w); });
  for (int r = 0; r < kReaders; ++r) threads.emplace_back([this, r] { Reader(r); });
  threads.emplace_back([this] { Checkpointer(); });
  ASSERT_EQ(threads.size(), 16u);
  // The run lasts `seconds`, or longer while a loaded machine (or TSan) has not yet let writers,
  // readers checking published commits and the checkpointer each do their work once: the
  // checks below would fail on timing alone. Two minutes on, they report what is missing.
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  const auto last_chance = deadline + std::chrono::minutes(2);
  auto every_kind_ran = [&] {
    return writes_.load() > 0 && commit_checks_.load() > 0 && checkpoints_.load() > 0;
  };
  for (auto now = start; Running() && now < last_chance; now = std::chrono::steady_clock::now()) {
    if (now >= deadline && every_kind_ran()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop_.store(true);
  for (std::thread& t : threads) t.join();
  std::printf(
      "%.1f s: %llu writes, %llu failed batches, %llu reads (%llu as-of-commit checks, %llu "
      "batch partner checks, %llu snapshot reads, %llu histories), %llu checkpoints\n",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
      static_cast<unsigned long long>(writes_.load()),
      static_cast<unsigned long long>(failed_batches_.load()),
      static_cast<unsigned long long>(reads_.load()),
      static_cast<unsigned long long>(commit_checks_.load()),
      static_cast<unsigned long long>(partner_checks_.load()),
      static_cast<unsigned long long>(snapshot_reads_.load()),
      static_cast<unsigned long long>(histories_.load()),
      static_cast<unsigned long long>(checkpoints_.load()));
  ASSERT_EQ(failures_.load(), 0);
  EXPECT_GT(writes_.load(), 0u);
  EXPECT_GT(commit_checks_.load(), 0u);
  EXPECT_GT(checkpoints_.load(), 0u);

  // Quiescent: published commits once more (each writer's newest and a sample of the rest, to
  // bound the time under TSan).
  std::mt19937_64 rng(7);
  for (CommitLog& log : logs_) {
    const std::vector<Commit> all = log.All();
    for (size_t i = 0; i < all.size(); ++i) {
      if (i + 200 >= all.size() || rng() % all.size() < 200) CheckCommit(all[i]);
    }
  }
  ASSERT_EQ(failures_.load(), 0);

  // The state survives a reopen unchanged, and Verify finds nothing wrong.
  const DbStats before = db_->Stats();
  std::map<CubeId, std::vector<std::pair<uint32_t, std::string>>> histories;
  Timestamp newest_commit = 0;
  for (CubeId id = 1; id <= before.cubes; ++id) {
    std::vector<MemCube> h;
    ASSERT_TRUE(db_->History(ReadOptions(), id, &h).ok()) << "cube " << id;
    for (const MemCube& v : h) {
      histories[id].emplace_back(v.version, v.payload);
      newest_commit = std::max(newest_commit, v.tx_from);
    }
  }
  IntegrityReport report;
  Status s = db_->Verify(&report);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(report.versions, before.versions);
  db_.reset();
  ASSERT_TRUE(Db::Open(options_, "/stress", &db_).ok());
  const DbStats after = db_->Stats();
  EXPECT_EQ(after.cubes, before.cubes);
  EXPECT_EQ(after.versions, before.versions);
  // The clock never goes back behind a commit. (Not behind before.clock_high_water either,
  // ideally; but a timestamp issued to a batch that then failed is not persisted, so that
  // high-water mark can drop by such a timestamp across a reopen.)
  EXPECT_GE(after.clock_high_water, newest_commit);
  EXPECT_GE(db_->Now(), newest_commit);
  for (const auto& [id, expected] : histories) {
    std::vector<MemCube> h;
    ASSERT_TRUE(db_->History(ReadOptions(), id, &h).ok()) << "cube " << id;
    ASSERT_EQ(h.size(), expected.size()) << "cube " << id;
    for (size_t i = 0; i < h.size(); ++i) {
      ASSERT_EQ(h[i].version, expected[i].first) << "cube " << id;
      ASSERT_EQ(h[i].payload, expected[i].second) << "cube " << id << " version " << h[i].version;
    }
  }
  s = db_->Verify(&report);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

}  // namespace
}  // namespace loci
