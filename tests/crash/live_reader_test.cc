// Live inspection: read-only opens, through the API and through every read-only CLI command,
// while another process writes the database without pause — puts, updates and batches, sync
// and not, with WAL rotation and checkpoints that delete the segments and checkpoint files
// older superblocks named.
//
// Checked: no read-only open or command fails; every answer is one the writer committed (a
// payload names its cube and version, so a version read back must carry exactly its own
// payload); everything the writer acknowledged before a reader opened is visible to it; the
// writer never fails (readers take no lock and change no file) and, once it closes, every
// acknowledged write is there.
//
// LOCI_LIVE_SECONDS sets how long readers run (default 4).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include "loci/db.h"
#include "tests/testutil.h"

namespace loci {
namespace {

using test::Contains;

struct Ack {
  CubeId id;
  uint32_t version;
};

std::string PayloadFor(CubeId id, uint32_t version) {
  return "cube " + std::to_string(id) + " version " + std::to_string(version) + " " +
         std::string(id % 300, 'x');
}

// A cube's vector: distinct per cube, the same in every version.
std::vector<float> VectorFor(CubeId id) {
  return {1.0f, static_cast<float>(id % 101), static_cast<float>(id % 7) + 0.5f};
}

Options WriterOptions() {
  Options o;
  o.create_if_missing = true;
  o.wal_segment_bytes = 64 << 10;      // rotate often
  o.checkpoint_wal_bytes = 192 << 10;  // and checkpoint on the way
  o.arena_generation_bytes = 1 << 20;  // and open new arena generations
  return o;
}

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

// The writer process: commits until `stop_fd` becomes readable, then closes cleanly and exits
// 0 (non-zero with a message if any write fails).
[[noreturn]] void RunWriter(const std::string& dir, int ack_fd, int stop_fd) {
  std::unique_ptr<Db> db;
  Status s = Db::Open(WriterOptions(), dir, &db);
  if (!s.ok()) {
    std::fprintf(stderr, "writer open: %s\n", s.ToString().c_str());
    _exit(3);
  }
  fcntl(stop_fd, F_SETFL, O_NONBLOCK);
  std::vector<CubeId> ids;
  std::map<CubeId, uint32_t> versions;
  for (uint64_t n = 0;; ++n) {
    char c;
    if (read(stop_fd, &c, 1) >= 0) break;  // a byte or EOF: stop
    WriteOptions wo;
    wo.sync = n % 4 != 0;
    std::vector<Ack> acks;
    if (n % 5 == 1 && !ids.empty()) {
      const CubeId id = ids[(n * 7919) % ids.size()];
      const uint32_t next = versions[id] + 1;
      CubePatch patch;
      patch.payload = PayloadFor(id, next);
      Result<uint32_t> v = db->Update(wo, id, patch);
      s = v.status();
      if (s.ok() && *v != next) s = Status::Corruption("update gave an unexpected version");
      if (s.ok()) acks.push_back({id, next});
    } else {
      // Ids are assigned by the engine: write the payload in a second version, so that every
      // version's payload names it (version 1 says "version 1" of the id it turned out to get).
      WriteBatch batch;
      const int puts = n % 3 == 0 ? 2 : 1;
      for (int i = 0; i < puts; ++i) {
        CubeDraft d{.space = "live", .payload = "pending"};
        d.vectors = {{"e", {1.0f, 0.0f, 0.0f}}};
        batch.Put(d);
      }
      WriteResult result;
      s = db->Write(wo, batch, &result);
      for (size_t i = 0; s.ok() && i < result.ops.size(); ++i) {
        const CubeId id = result.ops[i].id;
        CubePatch patch;
        patch.payload = PayloadFor(id, 2);
        patch.set_vectors = {{"e", VectorFor(id)}};
        Result<uint32_t> v = db->Update(wo, id, patch);
        s = v.status();
        if (s.ok()) {
          ids.push_back(id);
          versions[id] = 2;
          acks.push_back({id, 2});
        }
      }
    }
    if (!s.ok()) {
      std::fprintf(stderr, "writer: %s\n", s.ToString().c_str());
      _exit(4);
    }
    for (const Ack& a : acks) {
      versions[a.id] = a.version;
      if (!WriteAll(ack_fd, &a, sizeof(a))) _exit(5);
    }
  }
  db.reset();  // a clean close
  _exit(0);
}

// Runs `command`; returns its exit code and fills *out with its standard output.
int RunCommand(const std::string& command, std::string* out) {
  out->clear();
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class LiveReaderTest : public ::testing::Test {
 protected:
  void StartWriter() {
    int acks[2], stop[2];
    ASSERT_EQ(pipe(acks), 0);
    ASSERT_EQ(pipe(stop), 0);
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      close(acks[0]);
      close(stop[1]);
      RunWriter(dir_.path(), acks[1], stop[0]);
    }
    close(acks[1]);
    close(stop[0]);
    ack_fd_ = acks[0];
    stop_fd_ = stop[1];
    fcntl(ack_fd_, F_SETFL, O_NONBLOCK);
  }
  // Takes the acknowledgements written so far.
  void DrainAcks() {
    Ack a;
    while (read(ack_fd_, &a, sizeof(a)) == sizeof(a))
      acked_[a.id] = std::max(acked_[a.id], a.version);
  }
  void StopWriter() {
    close(stop_fd_);
    int status = 0;
    ASSERT_EQ(waitpid(pid_, &status, 0), pid_);
    fcntl(ack_fd_, F_SETFL, 0);
    DrainAcks();
    close(ack_fd_);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "the writer failed while readers ran (status " << status << ")";
  }

  // A version read back must carry exactly the payload its writer gave that version.
  static void CheckCommitted(const MemCube& cube, const std::string& where) {
    if (cube.version == 1) {
      ASSERT_EQ(cube.payload, "pending") << where;
    } else {
      ASSERT_EQ(cube.payload, PayloadFor(cube.id, cube.version)) << where;
    }
  }

  // One read-only open through the API: everything acknowledged before it is there.
  void ReadThroughTheApi(uint64_t round) {
    ++opens_;
    const std::map<CubeId, uint32_t> before = acked_;
    Options o;
    o.read_only = true;
    std::unique_ptr<Db> db;
    Status s = Db::Open(o, dir_.path(), &db);
    ASSERT_TRUE(s.ok()) << "round " << round << ": " << s.ToString();
    if (Contains(db->Stats().recovery, "while a writer changed them")) ++retried_opens_;
    const std::string where = "round " + std::to_string(round);
    for (const auto& [id, version] : before) {
      MemCube cube;
      s = db->Get(ReadOptions(), id, &cube);
      ASSERT_TRUE(s.ok()) << where << ": acknowledged cube " << id << ": " << s.ToString();
      ASSERT_GE(cube.version, version) << where << ": cube " << id;
      CheckCommitted(cube, where);
    }
    if (!before.empty()) {
      const CubeId id = before.rbegin()->first;
      std::vector<MemCube> history;
      ASSERT_TRUE(db->History(ReadOptions(), id, &history).ok()) << where;
      for (const MemCube& v : history) CheckCommitted(v, where);
      SearchRequest request;
      request.spaces = {"live"};
      request.field = "e";
      request.query = VectorFor(id);
      request.k = 5;
      request.fill_cubes = true;
      request.fill_payload = true;
      std::vector<SearchHit> hits;
      s = db->Search(request, &hits);
      ASSERT_TRUE(s.ok()) << where << ": " << s.ToString();
      for (const SearchHit& h : hits) CheckCommitted(h.cube, where + " search");
    }
    IntegrityReport report;
    s = db->Verify(&report);
    ASSERT_TRUE(s.ok()) << where << ": " << s.ToString();
  }

  // The read-only CLI commands: each must succeed and show only committed versions.
  void ReadThroughTheCli(uint64_t round) {
    DrainAcks();
    if (acked_.empty()) return;
    const auto [id, version] = *acked_.rbegin();
    const std::string cli = std::string(LOCI_CLI_PATH) + " ";
    const std::string dir = " '" + dir_.path() + "'";
    std::string out;
    const std::string where = "round " + std::to_string(round) + ": ";
    ASSERT_EQ(RunCommand(cli + "get" + dir + " " + std::to_string(id), &out), 0) << where << out;
    ASSERT_TRUE(Contains(out, "cube " + std::to_string(id) + " version ")) << where << out;
    ASSERT_EQ(RunCommand(cli + "history" + dir + " " + std::to_string(id), &out), 0)
        << where << out;
    ASSERT_TRUE(Contains(out, PayloadFor(id, version).substr(0, 20))) << where << out;
    const std::vector<float> v = VectorFor(id);
    ASSERT_EQ(RunCommand(cli + "search" + dir + " --space live --field e --vector " +
                             std::to_string(v[0]) + "," + std::to_string(v[1]) + "," +
                             std::to_string(v[2]),
                         &out),
              0)
        << where << out;
    ASSERT_EQ(RunCommand(cli + "info" + dir, &out), 0) << where << out;
    ASSERT_EQ(RunCommand(cli + "check" + dir, &out), 0) << where << out;
  }

  test::TempDir dir_;
  pid_t pid_ = -1;
  int ack_fd_ = -1;
  int stop_fd_ = -1;
  std::map<CubeId, uint32_t> acked_;  // cube -> newest acknowledged version
  uint64_t opens_ = 0;
  uint64_t retried_opens_ = 0;  // opens that had to read the files again
};

TEST_F(LiveReaderTest, ReadOnlyOpensSeeCommittedStatesWhileAWriterWrites) {
  StartWriter();
  // Readers start once the database exists (before, a read-only open is NotFound, as it must).
  for (int i = 0; i < 2000 && acked_.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    DrainAcks();
  }
  ASSERT_FALSE(acked_.empty()) << "the writer acknowledged nothing in 10 s";
  const auto seconds = std::chrono::seconds(test::EnvU64("LOCI_LIVE_SECONDS", 4));
  const auto end = std::chrono::steady_clock::now() + seconds;
  uint64_t api_rounds = 0, cli_rounds = 0;
  while (std::chrono::steady_clock::now() < end && !HasFatalFailure()) {
    DrainAcks();
    ReadThroughTheApi(api_rounds++);
    if (api_rounds % 4 == 0 && !HasFatalFailure()) ReadThroughTheCli(cli_rounds++);
  }
  StopWriter();
  ASSERT_FALSE(HasFatalFailure());
  std::printf(
      "%llu read-only opens (%llu read the files again) and %llu rounds of CLI commands "
      "against a live writer; %zu cubes acknowledged\n",
      static_cast<unsigned long long>(api_rounds), static_cast<unsigned long long>(retried_opens_),
      static_cast<unsigned long long>(cli_rounds), acked_.size());
  EXPECT_GT(cli_rounds, 0u);
  // The writer lost nothing.
  std::unique_ptr<Db> db;
  Options o;
  Status s = Db::Open(o, dir_.path(), &db);
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (const auto& [id, version] : acked_) {
    MemCube cube;
    ASSERT_TRUE(db->Get(ReadOptions(), id, &cube).ok()) << "cube " << id;
    ASSERT_EQ(cube.version, version) << "cube " << id;
    ASSERT_EQ(cube.payload, PayloadFor(id, version));
  }
  EXPECT_GT(db->Stats().checkpoint_lsn, 0u) << "the writer never checkpointed";
}

}  // namespace
}  // namespace loci
