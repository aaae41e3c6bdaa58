// BlobArena: the append-only store of payloads and vectors (design.md §4).
//
// Writers append with pwrite at offsets reserved under a short mutex, many threads at once;
// readers read through a read-only mapping of a range reserved once per generation, so a view
// never moves and needs no lock. A blob becomes readable when the group-commit leader calls
// MakeReadable, before the record that refers to it is published.
//
// Durability comes two ways. A blob larger than ArenaOptions::logged_blob_bytes is made
// durable here — its file synced — before the durable WAL write that refers to it. A blob up to
// that size travels in the WAL record too (engine/record_codec.h, BlobCopy), which is its
// durable copy until a checkpoint syncs the arena (SyncUnsynced) and deletes the record; a
// recovery that finds the arena copy damaged rewrites it from the record (RestoreFromLog).

#ifndef LOCI_BLOB_ARENA_H_
#define LOCI_BLOB_ARENA_H_

#include <atomic>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "blob/format.h"
#include "common/file_names.h"
#include "common/mutex.h"
#include "common/zero_filler.h"
#include "loci/env.h"
#include "loci/status.h"

namespace loci::blob {

struct ArenaOptions {
  DbUuid db_uuid{};
  // A generation is closed once the next append would take it past this size; it is also the
  // address range reserved for its mapping.
  uint64_t generation_bytes = 4ull << 30;
  // A background thread keeps synced zeros ahead of appends, in steps growing up to this size,
  // so a sync writes only the new blobs (see ZeroFiller); 0 disables.
  uint64_t preallocate_bytes = 8ull << 20;
  // Preallocate on the calling thread instead of a background one (deterministic I/O).
  bool preallocate_inline = false;
  bool read_only = false;
  // Blobs up to this size are logged in the WAL records that refer to them (the caller's
  // promise): they need not be synced before the next durable WAL write, only before a
  // checkpoint drops those records.
  uint64_t logged_blob_bytes = 0;
};

struct ArenaStats {
  uint64_t generations = 0;
  uint64_t bytes = 0;  // bytes of the generation files readable through their mappings
  // Frame bytes Discard erased since Open (each dead frame counted once): what compaction
  // could give back, besides the garbage of writes that never committed.
  uint64_t discarded_bytes = 0;
  uint64_t generations_removed = 0;  // by RemoveGeneration since Open
  // Frame bytes appended and not erased since (Discard, EraseAllBut): about what is live. It
  // counts as live the garbage of writes that failed, and, in generations an earlier process
  // wrote, whatever that process erased.
  uint64_t live_bytes_estimate = 0;
  uint64_t open_files = 0;      // generations holding a writable descriptor
  uint64_t reserved_bytes = 0;  // address space reserved for the mappings
};

// A generation as compaction plans with it (BlobArena::Generations).
struct GenerationUse {
  uint32_t number = 0;
  uint64_t end = 0;     // bytes in use: the header and every frame appended
  bool active = false;  // appends go here
  bool pinned = false;  // an append into it has not committed or failed yet (Pin)
};

class BlobArena {
 public:
  BlobArena(Env* env, std::string dir, ArenaOptions options);
  ~BlobArena();
  BlobArena(const BlobArena&) = delete;
  BlobArena& operator=(const BlobArena&) = delete;

  // Opens and maps every generation file in the directory, verifying their headers. Corruption
  // if one belongs to another database. A generation whose header is not valid is set aside:
  // a crash while creating it leaves it so, and then nothing refers to it (see NoteReferenced).
  Status Open();

  // During recovery, before any Append: a committed record refers to `ref`, so appends must
  // resume after it (bytes past the last referenced blob are garbage of unacknowledged writes).
  // Corruption naming the file if the generation is missing or its header is damaged.
  Status NoteReferenced(const BlobRef& ref);

  // After recovery, in read-write mode: removes the generation files set aside by Open, and
  // every generation but the newest that no committed record refers to (NoteReferenced): a
  // compaction emptied it and a crash came before RemoveGeneration.
  Status RemoveUnreferenced();

  // Appends each non-empty payload as one blob (all in one write) and fills refs[i]; an empty
  // payload gets an empty ref. Thread-safe. REQUIRES: refs.size() == payloads.size(), not
  // read-only. The blobs are neither durable nor readable yet.
  //
  // With `pinned`, the generation appended to (0 if every payload was empty) stays pinned
  // until Unpin(*pinned): compaction leaves a pinned generation alone, since a record about to
  // commit refers to blobs in it that no version names yet.
  Status Append(std::span<const std::string_view> payloads, std::span<BlobRef> refs,
                uint32_t* pinned = nullptr);
  // Ends a pin Append took. REQUIRES: generation is 0 or was returned by Append as pinned.
  void Unpin(uint32_t generation);

  // Adds to *files every generation file holding an unlogged blob (one larger than
  // logged_blob_bytes) not yet covered by a sync, and marks them covered: the caller syncs
  // them before a WAL write that makes records durable — its own and every earlier one, whose
  // blobs may sit in any generation.
  void TakeUnloggedFiles(std::vector<WritableFile*>* files);

  // Syncs the files TakeUnloggedFiles would list (before a WAL segment is closed: its records
  // are then certified durable). On failure the caller must poison: the unsynced bytes are now
  // unknown.
  Status SyncUnlogged();

  // Syncs every file with appends not yet covered by a sync, logged blobs included (before a
  // checkpoint drops the WAL records holding their copies, and at a clean close). On failure
  // the caller must poison.
  Status SyncUnsynced();

  // Syncs every generation file (recovery: blobs a crashed process wrote but did not sync may be
  // referenced by WAL records recovery is about to declare durable).
  Status SyncAll();

  // Makes `ref` readable through the mapping. Called by the single commit leader.
  Status MakeReadable(const BlobRef& ref);

  // Recovery: extends every generation's mapping to what its file holds now (within its
  // reservation). A read-only instance opened while another process writes reads records whose
  // blobs were appended after Open mapped the files. Best effort: a blob still out of reach
  // fails View with Corruption as before.
  void ExtendMappings();

  // Recovery: `bytes` are blob `ref`'s payload as a WAL record logged it (verified against
  // ref's checksum by the caller's decoder). If the arena's copy does not verify — the arena was
  // not synced when the crash came — it is written again at its place (read-write; synced by
  // the next SyncUnsynced) or, read-only, kept in memory and returned by View and Locate.
  // Errors: the write's, or Corruption if the generation is missing.
  Status RestoreFromLog(const BlobRef& ref, std::string_view bytes);
  // Blobs RestoreFromLog found damaged and restored since Open.
  uint64_t restored_from_log() const { return restored_from_log_; }

  // Purge and retention: the blobs of `refs` are dead — nothing refers to them, none is being
  // appended, and no reader can still view them (the caller waited them out). Erases their
  // frames (header, payload, padding) and gives their space back to the file system: each run
  // of adjacent dead frames is hole-punched over the whole blocks (kDiscardBlock) it covers and
  // overwritten with zeros where it shares a block with a live frame, so that none of their
  // bytes remain once synced (the next SyncUnsynced); the frames then fail to verify. Empty
  // and repeated refs are allowed. Returns the bytes punched. On failure the caller must
  // poison, as for a failed write. REQUIRES: writable.
  Result<uint64_t> Discard(std::vector<BlobRef> refs);
  static constexpr uint64_t kDiscardBlock = 4096;

  // Recovery after a crash, read-write, before any append: erases, as Discard does, every byte
  // past the header of every generation (of the newest, up to the end of the last blob
  // NoteReferenced was told of) that no frame of `live` covers — dead frames a crash
  // kept from being erased (their erasure comes after the checkpoint that drops them) and,
  // below that end, the garbage of writes that never committed. `live` must name every blob a
  // recovered version refers to. Returns the bytes punched; synced by the next SyncUnsynced (or
  // SyncAll).
  Result<uint64_t> EraseAllBut(std::vector<BlobRef> live);

  // --- Compaction (gc/arena_compaction.h plans it; the engine moves the references)

  // Closes the active generation to appends and starts a new one (a no-op before the first
  // generation): its preallocated tail is given back; its frames stay readable. Thread-safe.
  // Errors: creating the new generation's file.
  Status Seal();

  // Gives back what the sealed generations no longer need — their file descriptors and the
  // address range reserved past their end — for those with no append in flight and nothing
  // unsynced. A later Discard reopens the file it writes; the next call closes it again.
  // Returns the files closed now. REQUIRES: writable, and no file TakeUnloggedFiles handed out
  // still in use (a checkpoint calls it between commit groups, after SyncUnsynced).
  Result<uint32_t> ReleaseSealed();

  // Caps the zeros kept preallocated ahead of appends (ArenaOptions::preallocate_bytes) at
  // `bytes`: the engine scales them to the data it holds.
  void SetPreallocationCap(uint64_t bytes);

  // Whether `p` points into the mapping of generation `number`.
  bool MapsInto(uint32_t number, const char* p) const;

  // Every generation in use, ascending.
  std::vector<GenerationUse> Generations() const;

  // Copies the verified blobs of `refs` to the active generation and fills moved[i] with the
  // copy of refs[i] (empty refs stay empty): the copies are readable, not yet durable (the
  // next SyncUnsynced). Corruption if a blob does not verify; then nothing refers to the
  // copies. REQUIRES: writable; refs.size() == moved.size().
  Status CopyForward(std::span<const BlobRef> refs, std::span<BlobRef> moved);

  // Removes generation `number`: unmaps it, closes it and unlinks its file (the directory
  // synced). REQUIRES: no reference to it remains in any durable state or in memory, no append
  // pins it, and no reader can still view it (the caller waited readers out). Its frames then
  // count as discarded (Discard of a ref into it does nothing).
  Status RemoveGeneration(uint32_t number);

  // Hints that `ref` will be read soon (prefetches its first cache lines). Never fails.
  void Prefetch(const BlobRef& ref) const;

  // Reads and verifies the blob; Corruption naming file and offset if it does not match `ref`.
  // Safe from any thread once MakeReadable(ref) has returned.
  Status View(const BlobRef& ref, std::string_view* payload) const;
  Status Read(const BlobRef& ref, std::string* payload) const;

  // Where the payload of `ref` lies in the mapping, unverified (for identity checks and reads
  // of blobs verified before); nullptr if `ref` is empty or outside the mapped files.
  const char* Locate(const BlobRef& ref) const;

  ArenaStats Stats() const;
  // Paths of the generation files, ascending.
  std::vector<std::string> Files() const;

 private:
  struct Generation;
  static constexpr uint32_t kMaxGenerations = 1 << 16;

  Generation* Find(uint32_t number) const;
  // Opens (or creates) and registers a generation. *bad_header (if given) tells whether a
  // failure was an existing file's header not being valid.
  Status OpenGeneration(uint32_t number, uint64_t reserve, bool create, Generation** out,
                        bool* bad_header = nullptr) REQUIRES(mu_);
  // The writable file of `g`, reopened if ReleaseSealed closed it. REQUIRES: g->map_mu held.
  Result<WritableFile*> WritableOf(Generation* g);
  // Erases [begin, end) of `g` as Discard does (see there); returns the bytes punched.
  Result<uint64_t> EraseRange(Generation* g, uint64_t begin, uint64_t end);
  // Whether appends go to `g` (or resume there, before the first append after Open).
  bool IsActive(const Generation* g) const REQUIRES(mu_);
  // Where `g`'s frames end: the append offset, where a seal left it, or its mapped size.
  uint64_t EndOf(const Generation* g) const REQUIRES(mu_);
  // Takes generation `number` out of use and deletes its file (the directory not synced).
  Status Unlink(uint32_t number) EXCLUDES(mu_);
  // Makes a new generation, with room for `span` bytes, the active one; the previous active
  // one is sealed.
  Status StartGeneration(uint64_t span) REQUIRES(mu_);
  // After Open, before the first append: makes the newest generation the active one again.
  void ResumeNewest() REQUIRES(mu_);
  // Reserves `span` bytes in the active generation (rotating if full).
  Status Reserve(uint64_t span, Generation** gen, uint64_t* offset) REQUIRES(mu_);

  Env* const env_;
  const DbPaths paths_;
  const ArenaOptions options_;

  // Generations by number; a slot is written once (under mu_) and then only read.
  std::unique_ptr<std::atomic<Generation*>[]> generations_;

  mutable Mutex mu_;  // the append state below
  Generation* active_ GUARDED_BY(mu_) = nullptr;
  uint64_t next_offset_ GUARDED_BY(mu_) = 0;  // in active_
  std::atomic<uint32_t> highest_{0};          // written under mu_, read anywhere
  // Of active_; stopped first in the destructor. The filler is thread-safe itself, but it is
  // switched to a new generation (Reset) together with active_.
  std::unique_ptr<ZeroFiller> filler_ PT_GUARDED_BY(mu_);
  // Generations RemoveGeneration took out of generations_: their structs stay allocated (a
  // thread may have loaded the pointer before; it finds them unpinned and synced), their
  // mapping and file are released.
  std::vector<std::unique_ptr<Generation>> removed_ GUARDED_BY(mu_);
  std::atomic<uint64_t> discarded_bytes_{0};
  std::atomic<uint64_t> removed_count_{0};
  // Recovery's: filled by NoteReferenced and set_aside_ by Open, emptied by
  // RemoveUnreferenced, all before the first Append, on the opening thread; only read
  // after that (by Reserve, under mu_). Not guarded.
  std::vector<uint64_t> referenced_end_;                // per generation, from NoteReferenced
  std::vector<std::pair<uint32_t, Status>> set_aside_;  // generations with a bad header
  // A read-only instance's restored blobs, by (generation, offset): filled by RestoreFromLog
  // during recovery, on the opening thread; only read after that. Not guarded.
  std::map<std::pair<uint32_t, uint64_t>, std::string> restored_;
  uint64_t restored_from_log_ = 0;  // recovery's, like restored_
};

}  // namespace loci::blob

#endif  // LOCI_BLOB_ARENA_H_
