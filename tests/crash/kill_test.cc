// Process-crash test: a child process writes with sync=true from several threads and reports
// every acknowledged write to the parent through a pipe; the parent SIGKILLs it at a random
// point, reopens the database and checks that every acknowledged write is there with its exact
// contents, that no batch is visible in part, and that Verify finds nothing wrong. The same
// database is reused across kills, so every round also recovers what the previous ones left
// (including checkpoints interrupted by the kill).
//
// LOCI_KILL_ROUNDS sets the number of kills (default 25); LOCI_KILL_SEED the random seed.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <random>
#include <thread>

#include "loci/db.h"
#include "tests/testutil.h"

namespace loci {
namespace {

// What the child reports after each acknowledged write.
struct Ack {
  CubeId id;
  uint32_t version;
  uint32_t round;
  uint32_t thread;
  uint32_t seq;
  uint32_t kind;  // 0 put, 1 update, 2 batch (id is the first of two puts)
};

// "r<round>/t<thread>/s<seq>/p0..." for puts and updates; a batch's two puts are tagged
// "/b0" and "/b1" instead, so the check after recovery can tell a batch half from a put.
std::string PayloadFor(const Ack& a, int part) {
  return "r" + std::to_string(a.round) + "/t" + std::to_string(a.thread) + "/s" +
         std::to_string(a.seq) + (a.kind == 2 ? "/b" : "/p") + std::to_string(part) +
         std::string(a.seq % 200, 'x');
}

std::vector<float> VectorFor(uint32_t seq) { return {1.0f, float(seq % 97), float(seq % 13)}; }

bool WriteAll(int fd, const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n <= 0) return false;
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// The child: writes until killed. Never returns.
[[noreturn]] void RunWriter(const std::string& dir, uint32_t round, int ack_fd) {
  Options options;
  options.create_if_missing = true;
  options.wal_segment_bytes = 256 << 10;  // rotate often
  std::unique_ptr<Db> db;
  Status s = Db::Open(options, dir, &db);
  if (!s.ok()) {
    std::fprintf(stderr, "child open: %s\n", s.ToString().c_str());
    _exit(3);
  }
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
        if (!WriteAll(ack_fd, &ack, sizeof(ack))) _exit(5);
        if (t == 0 && seq % 64 == 63) db->Checkpoint().PermitUncheckedError();
      }
    });
  }
  for (auto& th : threads) th.join();
  _exit(0);
}

TEST(KillTest, AcknowledgedWritesSurviveSigkill) {
  const uint64_t rounds = test::EnvU64("LOCI_KILL_ROUNDS", 25);
  const uint64_t seed = test::EnvU64("LOCI_KILL_SEED", std::random_device{}());
  std::printf("LOCI_KILL_SEED=%llu rounds=%llu\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(rounds));
  std::mt19937_64 rng(seed);
  test::TempDir dir;
  // id -> the newest acknowledged version and its payload.
  std::map<CubeId, std::pair<uint32_t, std::string>> acked;
  uint64_t total_acks = 0;

  for (uint32_t round = 0; round < rounds; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      RunWriter(dir.path(), round, fds[1]);
    }
    close(fds[1]);
    const int delay_ms = 20 + static_cast<int>(rng() % 180);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer exited on its own with status "
                                     << WEXITSTATUS(status) << " in round " << round;
    Ack ack;
    ssize_t n;
    uint32_t round_acks = 0;
    while ((n = read(fds[0], &ack, sizeof(ack))) == sizeof(ack)) {
      ++round_acks;
      if (ack.kind == 2) {
        acked[ack.id] = {1, PayloadFor(ack, 0)};
        acked[ack.id + 1] = {1, PayloadFor(ack, 1)};
      } else {
        auto& slot = acked[ack.id];
        if (ack.version >= slot.first) slot = {ack.version, PayloadFor(ack, 0)};
      }
    }
    close(fds[0]);
    total_acks += round_acks;

    // Recover and verify.
    Options options;
    std::unique_ptr<Db> db;
    Status s = Db::Open(options, dir.path(), &db);
    ASSERT_TRUE(s.ok()) << "round " << round << ": " << s.ToString();
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
      ASSERT_LT(id, highest_acked + (CubeId{1} << 22)) << "only " << found << " of "
                                                       << stats.cubes << " cubes found";
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
    std::printf("round %2u: killed after %3d ms, %4u acks, %6llu cubes, %6llu versions\n", round,
                delay_ms, round_acks, static_cast<unsigned long long>(stats.cubes),
                static_cast<unsigned long long>(stats.versions));
  }
  EXPECT_GT(total_acks, rounds) << "the writer acknowledged almost nothing";
}

}  // namespace
}  // namespace loci
