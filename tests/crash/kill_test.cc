// Process-crash tests on the real file system.
//
// AcknowledgedWritesSurviveSigkill: a child process writes with sync=true from several threads
// and reports every acknowledged write to the parent through a pipe; the parent SIGKILLs it,
// reopens the database and checks that every acknowledged write is there with its exact
// contents, that no batch is visible in part, and that Verify finds nothing wrong. The same
// database is reused across kills, so every round also recovers what the previous ones left
// (including checkpoints interrupted by the kill).
//
// Where a kill lands. A timer in the parent hits wherever the machine's load has brought the
// child, so the kill points that matter are chosen rather than timed:
//   - round 0 always kills the child while it creates the database, just before a seeded one of
//     creation's I/O operations (the child's KillingEnv kills its own process);
//   - one round in 8 kills the child likewise at a seeded I/O operation of its recovery (if
//     recovery does fewer operations, the round goes on as the others do);
//   - every other round kills the child once it has acknowledged a seeded number of writes, a
//     seeded delay later: every such round writes, however slow the machine.
// A kill before anything was acknowledged may leave no database or a half-created one; the
// directory must then open with create_if_missing, creating or opening it cleanly.
//
// KillDuringCreationLeavesACleanDirectory kills a creation at each of its I/O operations in turn.
//
// LOCI_KILL_ROUNDS sets the number of kills (default 25); LOCI_KILL_SEED the random seed (it
// reproduces the choice of kill points, not the timing of the threads).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "loci/db.h"
#include "loci/env.h"
#include "tests/testutil.h"

namespace loci {
namespace {

// ---- Kills at exact I/O operations.

class KillingEnv;

// A file whose every mutating call first lets its KillingEnv count (and maybe kill).
class KillingFile : public WritableFile {
 public:
  KillingFile(KillingEnv* env, std::unique_ptr<WritableFile> target)
      : env_(env), target_(std::move(target)) {}
  Status Write(uint64_t offset, std::string_view data) override;
  Status Sync() override;
  Status Truncate(uint64_t size) override;
  Status Allocate(uint64_t offset, uint64_t len) override;
  Result<uint64_t> Size() override { return target_->Size(); }
  const std::string& path() const override { return target_->path(); }

 private:
  KillingEnv* const env_;
  const std::unique_ptr<WritableFile> target_;
};

// The default Env, except that the process SIGKILLs itself just before its `kill_at`-th
// mutating operation (1-based; 0 never): file creations, writes, syncs, truncations,
// allocations, renames, removals, directory creations and syncs, locks. The kill then lands
// at the same point of the I/O sequence however loaded the machine is.
class KillingEnv : public EnvWrapper {
 public:
  explicit KillingEnv(uint64_t kill_at) : EnvWrapper(Env::Default()), kill_at_(kill_at) {}

  // Called before each mutating operation.
  void Tick() {
    const uint64_t op = ops_.fetch_add(1) + 1;
    if (op == kill_at_.load()) raise(SIGKILL);
  }
  // Mutating operations so far.
  uint64_t ops() const { return ops_.load(); }
  // Stops killing (operations are still counted).
  void Disarm() { kill_at_.store(0); }

  Status NewWritableFile(const std::string& path, OpenMode mode,
                         std::unique_ptr<WritableFile>* result) override {
    Tick();
    std::unique_ptr<WritableFile> file;
    Status s = target()->NewWritableFile(path, mode, &file);
    if (s.ok()) *result = std::make_unique<KillingFile>(this, std::move(file));
    return s;
  }
  // The posix io_uring queue takes only posix files, and these are wrapped.
  std::unique_ptr<IoQueue> NewIoQueue() override { return NewSequentialIoQueue(); }
  Status RemoveFile(const std::string& path) override {
    Tick();
    return target()->RemoveFile(path);
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    Tick();
    return target()->RenameFile(from, to);
  }
  Status CreateDir(const std::string& dir) override {
    Tick();
    return target()->CreateDir(dir);
  }
  Status SyncDir(const std::string& dir) override {
    Tick();
    return target()->SyncDir(dir);
  }
  Status LockDir(const std::string& dir, std::unique_ptr<FileLock>* lock) override {
    Tick();
    return target()->LockDir(dir, lock);
  }

 private:
  std::atomic<uint64_t> kill_at_;
  std::atomic<uint64_t> ops_{0};
};

Status KillingFile::Write(uint64_t offset, std::string_view data) {
  env_->Tick();
  return target_->Write(offset, data);
}
Status KillingFile::Sync() {
  env_->Tick();
  return target_->Sync();
}
Status KillingFile::Truncate(uint64_t size) {
  env_->Tick();
  return target_->Truncate(size);
}
Status KillingFile::Allocate(uint64_t offset, uint64_t len) {
  env_->Tick();
  return target_->Allocate(offset, len);
}

// What the writer opens its database with.
Options WriterOptions() {
  Options options;
  options.create_if_missing = true;
  options.wal_segment_bytes = 256 << 10;  // rotate often
  return options;
}

// The mutating I/O operations of opening a new database with WriterOptions (counted on a
// scratch directory): every kill point of creation is before one of them.
uint64_t CreationOps() {
  test::TempDir scratch;
  KillingEnv env(0);
  Options options = WriterOptions();
  options.env = &env;
  std::unique_ptr<Db> db;
  const Status s = Db::Open(options, scratch.Join("db"), &db);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return env.ops();
}

// Opens `dir` after a kill. Until a database was once opened there (`created`), the kill may
// have come before or during its creation, when nothing was acknowledged yet: the directory
// may then hold no database (NotFound), but Open with create_if_missing must create or open it
// cleanly — never Corruption, never a half-created database.
void ReopenAfterKill(const std::string& dir, bool created, std::unique_ptr<Db>* db) {
  Options options;
  Status s = Db::Open(options, dir, db);
  if (!created && s.IsNotFound()) {
    options.create_if_missing = true;
    s = Db::Open(options, dir, db);
  }
  ASSERT_TRUE(s.ok()) << s.ToString();
}

// ---- The writer.

// What the child reports after each acknowledged write (kind 0..2), and once after its Open
// returned (kind kOpened, id: the I/O operations its Open did, when counted).
struct Ack {
  CubeId id;
  uint32_t version;
  uint32_t round;
  uint32_t thread;
  uint32_t seq;
  uint32_t kind;  // 0 put, 1 update, 2 batch (id is the first of two puts), kOpened
};
constexpr uint32_t kOpened = 3;

// "r<round>/t<thread>/s<seq>/p0..." for puts and updates; a batch's two puts are tagged
// "/b0" and "/b1" instead, so the check after recovery can tell a batch half from a put.
std::string PayloadFor(const Ack& a, int part) {
  return "r" + std::to_string(a.round) + "/t" + std::to_string(a.thread) + "/s" +
         std::to_string(a.seq) + (a.kind == 2 ? "/b" : "/p") + std::to_string(part) +
         std::string(a.seq % 200, 'x');
}

std::vector<float> VectorFor(uint32_t seq) { return {1.0f, float(seq % 97), float(seq % 13)}; }

// One write(2) of less than PIPE_BUF bytes: records never interleave, and a kill never splits
// one.
void SendAck(int fd, const Ack& ack) {
  if (write(fd, &ack, sizeof(ack)) != static_cast<ssize_t>(sizeof(ack))) _exit(5);
}

// The child: opens the database (killing itself at its `kill_at`-th I/O operation if not 0)
// and writes until killed. Never returns.
[[noreturn]] void RunWriter(const std::string& dir, uint32_t round, uint64_t kill_at, int ack_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the parent (a test runner's timeout)
  if (getppid() == 1) _exit(7);
  Options options = WriterOptions();
  KillingEnv killing_env(kill_at);
  if (kill_at != 0) options.env = &killing_env;  // else io_uring, as in production
  std::unique_ptr<Db> db;
  Status s = Db::Open(options, dir, &db);
  if (!s.ok()) {
    std::fprintf(stderr, "child open: %s\n", s.ToString().c_str());
    _exit(3);
  }
  killing_env.Disarm();  // the recovery did fewer operations than kill_at: write as usual
  SendAck(ack_fd, Ack{killing_env.ops(), 0, round, 0, 0, kOpened});
  std::mutex ack_mu;
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<CubeId> mine;
      for (uint32_t seq = 0;; ++seq) {
        Ack ack{0, 1, round, t, seq, seq % 3};
        Status st;
        if (ack.kind == 1 && !mine.empty()) {
          ack.id = mine[seq % mine.size()];
          CubePatch patch;
          patch.payload = PayloadFor(ack, 0);
          Result<uint32_t> v = db->Update(WriteOptions(), ack.id, patch);
          st = v.status();
          if (st.ok()) ack.version = *v;
        } else if (ack.kind == 2) {
          WriteBatch batch;
          for (int part = 0; part < 2; ++part) {
            CubeDraft d{.space = "crash", .payload = PayloadFor(ack, part)};
            d.vectors = {{"e", VectorFor(seq)}};
            batch.Put(d);
          }
          WriteResult result;
          st = db->Write(WriteOptions(), batch, &result);
          if (st.ok()) ack.id = result.ops[0].id;
        } else {
          ack.kind = 0;
          CubeDraft d{.space = "crash", .payload = PayloadFor(ack, 0)};
          d.vectors = {{"e", VectorFor(seq)}};
          Result<CubeId> id = db->Put(WriteOptions(), d);
          st = id.status();
          if (st.ok()) {
            ack.id = *id;
            mine.push_back(*id);
          }
        }
        if (!st.ok()) {
          std::fprintf(stderr, "child write: %s\n", st.ToString().c_str());
          _exit(4);
        }
        std::lock_guard<std::mutex> lock(ack_mu);
        SendAck(ack_fd, ack);
        if (t == 0 && seq % 64 == 63) db->Checkpoint().PermitUncheckedError();
      }
    });
  }
  for (auto& th : threads) th.join();
  _exit(0);
}

// ---- The parent.

// Where round `round` kills the child.
struct KillPlan {
  uint64_t kill_at_op = 0;  // the child kills itself before this I/O operation of its Open
  uint32_t acks = 0;        // else: the parent kills it once it acknowledged this many writes
  int delay_ms = 0;         // ... and this much later
};

// How many I/O operations a recovery's kill point is drawn from: recovery after a kill does 5
// to 7 here (the lock, a new WAL segment's creation, write, sync and directory sync, the
// arena's); a draw past its end leaves the child writing, as in any other round.
constexpr uint64_t kRecoveryKillOps = 8;

KillPlan PlanKill(uint32_t round, uint64_t creation_ops, std::mt19937_64* rng) {
  KillPlan plan;
  if (round == 0) {
    plan.kill_at_op = 1 + (*rng)() % creation_ops;
  } else if ((*rng)() % 8 == 0) {
    plan.kill_at_op = 1 + (*rng)() % kRecoveryKillOps;
  }
  plan.acks = 1 + static_cast<uint32_t>((*rng)() % 200);
  plan.delay_ms = static_cast<int>((*rng)() % 50);
  return plan;
}

// Reads what is in the pipe into `buffer`; false once the child is gone (end of file).
bool Drain(int fd, std::string* buffer) {
  char chunk[8192];
  for (;;) {
    const ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n > 0) {
      buffer->append(chunk, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n != 0;  // EAGAIN: all read for now
  }
}

// Collects the child's records until the plan says to kill it (or it killed itself), kills
// it and reaps it. A child that reports nothing for kStallSeconds has hung: killed, and the
// test fails.
void CollectAndKill(pid_t pid, int fd, const KillPlan& plan, std::string* records,
                    int* exit_status) {
  constexpr int kStallSeconds = 120;
  using Clock = std::chrono::steady_clock;
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  Clock::time_point last_progress = Clock::now();
  std::optional<Clock::time_point> kill_at;
  bool alive = true;
  while (alive) {
    const size_t before = records->size();
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, 5);
    alive = Drain(fd, records);
    const Clock::time_point now = Clock::now();
    if (records->size() != before) last_progress = now;
    // The first record says the child opened; every other one is an acknowledged write.
    const size_t acks = records->size() / sizeof(Ack);
    if (!kill_at && acks > plan.acks) kill_at = now + std::chrono::milliseconds(plan.delay_ms);
    if (kill_at && now >= *kill_at) break;
    if (now - last_progress > std::chrono::seconds(kStallSeconds)) {
      ADD_FAILURE() << "the writer reported nothing for " << kStallSeconds << " s";
      break;
    }
  }
  kill(pid, SIGKILL);
  while (waitpid(pid, exit_status, 0) < 0 && errno == EINTR) {
  }
  while (Drain(fd, records)) {  // the rest, up to end of file
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, 100);
  }
}

TEST(KillTest, AcknowledgedWritesSurviveSigkill) {
  const uint64_t rounds = test::EnvU64("LOCI_KILL_ROUNDS", 25);
  const uint64_t seed = test::EnvU64("LOCI_KILL_SEED", std::random_device{}());
  std::printf("LOCI_KILL_SEED=%llu rounds=%llu\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(rounds));
  std::mt19937_64 rng(seed);
  const uint64_t creation_ops = CreationOps();
  ASSERT_GT(creation_ops, 0u);
  test::TempDir root;
  const std::string dir = root.Join("db");
  // id -> the newest acknowledged version and its payload.
  std::map<CubeId, std::pair<uint32_t, std::string>> acked;
  bool created = false;  // the parent opened a database in `dir` once

  for (uint32_t round = 0; round < rounds; ++round) {
    const KillPlan plan = PlanKill(round, creation_ops, &rng);
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    std::fflush(stdout);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      RunWriter(dir, round, plan.kill_at_op, fds[1]);
    }
    close(fds[1]);
    std::string records;
    int status = 0;
    CollectAndKill(pid, fds[0], plan, &records, &status);
    close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the writer " << (WIFEXITED(status) ? "exited with status " : "died of signal ")
        << (WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status)) << " in round " << round;
    ASSERT_FALSE(testing::Test::HasFailure());
    ASSERT_EQ(records.size() % sizeof(Ack), 0u) << "a partial record in the pipe";

    // The records: "opened" (absent if the kill came during Open), then the acknowledgements.
    int64_t open_ops = -1;
    uint32_t round_acks = 0;
    for (size_t off = 0; off < records.size(); off += sizeof(Ack)) {
      Ack ack;
      std::memcpy(&ack, records.data() + off, sizeof(ack));
      if (ack.kind == kOpened) {
        open_ops = static_cast<int64_t>(ack.id);
        continue;
      }
      ++round_acks;
      if (ack.kind == 2) {
        acked[ack.id] = {1, PayloadFor(ack, 0)};
        acked[ack.id + 1] = {1, PayloadFor(ack, 1)};
      } else {
        auto& slot = acked[ack.id];
        if (ack.version >= slot.first) slot = {ack.version, PayloadFor(ack, 0)};
      }
    }
    // Round 0's kill comes during creation: nothing acknowledged, Open never returned.
    if (round == 0) {
      ASSERT_EQ(open_ops, -1) << "creation did fewer I/O operations than measured";
      ASSERT_TRUE(acked.empty());
    }

    // Recover and verify.
    std::unique_ptr<Db> db;
    ASSERT_NO_FATAL_FAILURE(ReopenAfterKill(dir, created || !acked.empty(), &db))
        << "round " << round;
    created = true;
    Status s;
    for (const auto& [id, expected] : acked) {
      MemCube cube;
      s = db->Get(ReadOptions(), id, &cube);
      ASSERT_TRUE(s.ok()) << "round " << round << ": acknowledged cube " << id << ": "
                          << s.ToString();
      // A later, unacknowledged update may have made it; never an older one.
      ASSERT_GE(cube.version, expected.first) << "cube " << id;
      if (cube.version == expected.first) {
        ASSERT_EQ(cube.payload, expected.second);
      }
    }
    // No batch visible in part: the two puts of a batch are consecutive ids tagged b0 and b1.
    // Ids skip after a kill (those of lost writes are never reused): walk them until every
    // cube is found, within a bound far past any reservation.
    const DbStats stats = db->Stats();
    const CubeId highest_acked = acked.empty() ? 0 : acked.rbegin()->first;
    uint64_t found = 0;
    for (CubeId id = 1; found < stats.cubes; ++id) {
      ASSERT_LT(id, highest_acked + (CubeId{1} << 22))
          << "only " << found << " of " << stats.cubes << " cubes found";
      std::vector<MemCube> history;
      if (!db->History(ReadOptions(), id, &history).ok()) continue;
      ++found;
      const std::string& first = history.front().payload;
      const size_t tag = first.find("/b");
      if (tag == std::string::npos) {
        ASSERT_NE(first.find("/p"), std::string::npos) << first;
        continue;
      }
      const bool second_half = first.compare(tag, 3, "/b1") == 0;
      std::vector<MemCube> partner;
      ASSERT_TRUE(db->History(ReadOptions(), second_half ? id - 1 : id + 1, &partner).ok())
          << "batch half without its other half at cube " << id;
      const std::string other = first.substr(0, tag) + (second_half ? "/b0" : "/b1");
      ASSERT_EQ(partner.front().payload.substr(0, other.size()), other)
          << "batch half without its other half at cube " << id;
    }
    IntegrityReport report;
    s = db->Verify(&report);
    ASSERT_TRUE(s.ok()) << s.ToString();

    std::string where;
    if (plan.kill_at_op != 0 && open_ops < 0) {
      where = std::string(round == 0 ? "in creation" : "in recovery") + " at I/O operation " +
              std::to_string(plan.kill_at_op);
    } else {
      where =
          "after " + std::to_string(plan.acks) + " acks + " + std::to_string(plan.delay_ms) + " ms";
      if (plan.kill_at_op != 0) {  // recovery ended before the chosen operation
        where += " (recovery did " + std::to_string(open_ops) + " I/O operations)";
      }
    }
    std::printf("round %2u: killed %-36s %5u acks, %6llu cubes, %6llu versions\n", round,
                (where + ",").c_str(), round_acks, static_cast<unsigned long long>(stats.cubes),
                static_cast<unsigned long long>(stats.versions));
  }
}

// A kill at each I/O operation of creating a database, in turn, each on a fresh directory:
// what is left either holds no database yet or a whole one, and Open with create_if_missing
// creates or opens it cleanly (never Corruption), giving a database that takes a durable write.
TEST(KillTest, KillDuringCreationLeavesACleanDirectory) {
  const uint64_t creation_ops = CreationOps();
  ASSERT_GT(creation_ops, 0u);
  for (uint64_t kill_at = 1; kill_at <= creation_ops; ++kill_at) {
    test::TempDir root;
    const std::string dir = root.Join("db");
    std::fflush(stdout);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      KillingEnv env(kill_at);
      Options options = WriterOptions();
      options.env = &env;
      std::unique_ptr<Db> db;
      _exit(Db::Open(options, dir, &db).ok() ? 0 : 3);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "creation did not reach I/O operation " << kill_at << " of " << creation_ops;

    Options options;
    std::unique_ptr<Db> db;
    Status s = Db::Open(options, dir, &db);
    const bool existed = s.ok();
    ASSERT_TRUE(s.ok() || s.IsNotFound())
        << "kill at operation " << kill_at << ": " << s.ToString();
    options.create_if_missing = true;
    if (!existed) {
      s = Db::Open(options, dir, &db);
      ASSERT_TRUE(s.ok()) << "kill at operation " << kill_at << ": " << s.ToString();
    }
    EXPECT_EQ(db->Stats().cubes, 0u);
    Result<CubeId> id = db->Put(WriteOptions(), CubeDraft{.space = "s", .payload = "after"});
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    db.reset();
    ASSERT_TRUE(Db::Open(options, dir, &db).ok());
    MemCube cube;
    ASSERT_TRUE(db->Get(ReadOptions(), *id, &cube).ok());
    EXPECT_EQ(cube.payload, "after");
    IntegrityReport report;
    s = db->Verify(&report);
    ASSERT_TRUE(s.ok()) << "kill at operation " << kill_at << ": " << s.ToString();
    std::printf("killed at creation's I/O operation %2llu of %llu: %s\n",
                static_cast<unsigned long long>(kill_at),
                static_cast<unsigned long long>(creation_ops),
                existed ? "a whole database" : "no database yet; created cleanly");
  }
}

}  // namespace
}  // namespace loci
