// SkipList: an ordered set with one writer and any number of lock-free readers, the structure
// behind the trace graph's adjacency and the time and episode indexes (index/trace_graph.h,
// index/event_index.h).
//
// Contract
//   - Insert is called by one thread at a time (the commit leader, or recovery); the caller
//     serializes writers.
//   - Readers (Contains, Iterator) run concurrently with Insert and with each other, without
//     locks. A reader sees every key whose Insert returned before the reader started its
//     operation, and possibly keys being inserted concurrently, each either whole or not at all.
//   - Keys are never removed and nodes never move or die before the list: a pointer or
//     iterator position stays valid for the list's lifetime. (Reclaiming keys is a rebuild:
//     a new list, published like any EBR-managed object.)
//
// Why readers are safe: a node is fully built (key and every next pointer it will start with)
// before it is linked, and it is linked level by level from the bottom with release stores; a
// reader follows next pointers with acquire loads, so it never reaches a node whose key or
// lower links it cannot see. A reader at a higher level may miss a node that is linked only at
// the levels below yet; it then finds it from the level below, so a search is never wrong,
// only (for a moment) a little longer.
//
// The comparator is a callable `int(const Key&, const Key&)` (<0, 0, >0), copyable and
// thread-safe. Keys are copied into the list's own memory, which it allocates in blocks.
//
// Locality (optional): a type with `static uint64_t Group(const Key&)`. Nodes of one group
// then get blocks of their own (growing from kFirstGroupBlock to kBlockBytes bytes, so a
// small group wastes little), and a scan of one group's keys — say one space's events,
// inserted over time among every other space's — reads neighbouring memory instead of taking
// a cache miss per key. Without it, nodes are laid out in insertion order.

#ifndef LOCI_INDEX_SKIPLIST_H_
#define LOCI_INDEX_SKIPLIST_H_

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <unordered_map>
#include <vector>

namespace loci::index {

// The default: no grouping, nodes in insertion order.
struct NoLocality {};

template <typename Key, class Comparator, class Locality = NoLocality>
class SkipList {
  struct Node;  // declared before Iterator names it (clang rejects the use otherwise)

 public:
  static constexpr int kMaxHeight = 20;
  using key_type = Key;

  explicit SkipList(Comparator cmp = Comparator())
      : cmp_(cmp), head_(NewNode(Key(), kMaxHeight, &cursor_)) {
    for (int i = 0; i < kMaxHeight; ++i) head_->SetNext(i, nullptr);
  }
  ~SkipList() {
    for (Node* n = head_->Next(0); n != nullptr;) {
      Node* next = n->Next(0);
      n->key.~Key();
      n = next;
    }
    head_->key.~Key();
  }
  SkipList(const SkipList&) = delete;
  SkipList& operator=(const SkipList&) = delete;

  // A key's place in the list, as InsertOrFind returns it: an Iterator can start there
  // (SeekTo) without a search. Valid for the list's lifetime; null names no key. Trivially
  // copyable, so that it can be kept in a std::atomic.
  class Position {
   public:
    Position() = default;
    bool null() const { return node_ == nullptr; }

   private:
    friend class SkipList;
    explicit Position(const Node* node) : node_(node) {}
    const Node* node_ = nullptr;
  };

  // Inserts `key` unless an equal key is present. Returns whether it inserted.
  // REQUIRES: no other Insert runs concurrently.
  bool Insert(const Key& key) {
    bool inserted;
    InsertOrFind(key, &inserted);
    return inserted;
  }

  // Inserts `key` unless an equal key is present; returns the position of the key (the new
  // one, or the equal one already there) and sets *inserted to whether it inserted.
  // REQUIRES: no other Insert runs concurrently.
  Position InsertOrFind(const Key& key, bool* inserted) {
    Node* prev[kMaxHeight];
    Node* x = FindGreaterOrEqual(key, prev);
    *inserted = !(x != nullptr && cmp_(x->key, key) == 0);
    if (!*inserted) return Position(x);
    const int height = RandomHeight();
    const int old_height = height_.load(std::memory_order_relaxed);
    if (height > old_height) {
      for (int i = old_height; i < height; ++i) prev[i] = head_;
      // A reader that sees the new height before the node finds head_'s null links at those
      // levels and drops a level: harmless.
      height_.store(height, std::memory_order_relaxed);
    }
    x = NewNode(key, height, CursorFor(key));
    for (int i = 0; i < height; ++i) {
      x->NoBarrierSetNext(i, prev[i]->NoBarrierNext(i));
      prev[i]->SetNext(i, x);
    }
    size_.fetch_add(1, std::memory_order_relaxed);
    return Position(x);
  }

  bool Contains(const Key& key) const {
    Node* x = FindGreaterOrEqual(key, nullptr);
    return x != nullptr && cmp_(x->key, key) == 0;
  }

  size_t size() const { return size_.load(std::memory_order_relaxed); }
  // Bytes allocated for nodes (keys' own heap memory not included).
  size_t memory_bytes() const { return memory_bytes_.load(std::memory_order_relaxed); }

  // A position in the list. Valid() is false before the first key and after the last.
  class Iterator {
   public:
    explicit Iterator(const SkipList* list) : list_(list) {}
    bool Valid() const { return node_ != nullptr; }
    // REQUIRES: Valid().
    const Key& key() const { return node_->key; }
    void Next() { node_ = node_->Next(0); }
    // Moves to the key before this one (a search: O(log n)).
    void Prev() {
      node_ = list_->FindLessThan(node_->key);
      if (node_ == list_->head_) node_ = nullptr;
    }
    // The first key >= target.
    void Seek(const Key& target) { node_ = list_->FindGreaterOrEqual(target, nullptr); }
    // The last key < target.
    void SeekBefore(const Key& target) {
      node_ = list_->FindLessThan(target);
      if (node_ == list_->head_) node_ = nullptr;
    }
    void SeekToFirst() { node_ = list_->head_->Next(0); }
    // The key at `p` (no search). REQUIRES: p is a position of this list.
    void SeekTo(Position p) { node_ = const_cast<Node*>(p.node_); }

   private:
    const SkipList* list_;
    typename SkipList::Node* node_ = nullptr;
  };

 private:
  struct Node {
    explicit Node(const Key& k) : key(k) {}
    Key key;
    Node* Next(int level) const { return Link(level)->load(std::memory_order_acquire); }
    void SetNext(int level, Node* x) { Link(level)->store(x, std::memory_order_release); }
    Node* NoBarrierNext(int level) const { return Link(level)->load(std::memory_order_relaxed); }
    void NoBarrierSetNext(int level, Node* x) { Link(level)->store(x, std::memory_order_relaxed); }
    // As many slots as the node's height: allocated past the end of the struct (reached by
    // pointer arithmetic, not by indexing the one-element array).
    std::atomic<Node*>* Link(int level) const {
      return const_cast<std::atomic<Node*>*>(next_) + level;
    }
    std::atomic<Node*> next_[1];
  };

  // Where the next node of a group (or of the list) is carved from.
  struct Cursor {
    char* ptr = nullptr;
    size_t left = 0;
    size_t next_block = kBlockBytes;  // the size of the cursor's next block
  };

  Node* NewNode(const Key& key, int height, Cursor* cursor) {
    const size_t bytes = sizeof(Node) + sizeof(std::atomic<Node*>) * (height - 1);
    char* mem = Allocate(bytes, cursor);
    Node* node = new (mem) Node(key);
    for (int i = 1; i < height; ++i) new (node->Link(i)) std::atomic<Node*>(nullptr);
    return node;
  }

  Cursor* CursorFor(const Key& key) {
    if constexpr (requires { Locality::Group(key); }) {
      auto [it, inserted] = group_cursors_.try_emplace(Locality::Group(key));
      if (inserted) it->second.next_block = kFirstGroupBlock;
      return &it->second;
    } else {
      return &cursor_;
    }
  }

  // Nodes live in blocks owned by the list, freed with it (keys are destroyed first).
  char* Allocate(size_t bytes, Cursor* cursor) {
    bytes = (bytes + alignof(Node) - 1) & ~(alignof(Node) - 1);
    if (bytes > cursor->left) {
      const size_t block = std::max(bytes, cursor->next_block);
      cursor->next_block = std::min(2 * cursor->next_block, kBlockBytes);
      blocks_.push_back(std::make_unique<Block[]>((block + sizeof(Block) - 1) / sizeof(Block)));
      cursor->ptr = reinterpret_cast<char*>(blocks_.back().get());
      cursor->left = block;
      memory_bytes_.fetch_add(block, std::memory_order_relaxed);
    }
    char* result = cursor->ptr;
    cursor->ptr += bytes;
    cursor->left -= bytes;
    return result;
  }

  int RandomHeight() {
    // Branching factor 4, as LevelDB's: ~1.33 links per node.
    int height = 1;
    while (height < kMaxHeight && (NextRandom() & 3) == 0) ++height;
    return height;
  }
  uint32_t NextRandom() {
    rnd_ ^= rnd_ << 13;
    rnd_ ^= rnd_ >> 17;
    rnd_ ^= rnd_ << 5;
    return rnd_;
  }

  // The first node >= key; with `prev`, the last node < key at every level.
  Node* FindGreaterOrEqual(const Key& key, Node** prev) const {
    Node* x = head_;
    int level = height_.load(std::memory_order_relaxed) - 1;
    while (true) {
      Node* next = x->Next(level);
      if (next != nullptr && cmp_(next->key, key) < 0) {
        x = next;
      } else {
        if (prev != nullptr) prev[level] = x;
        if (level == 0) return next;
        --level;
      }
    }
  }

  // The last node < key, or head_.
  Node* FindLessThan(const Key& key) const {
    Node* x = head_;
    int level = height_.load(std::memory_order_relaxed) - 1;
    while (true) {
      Node* next = x->Next(level);
      if (next != nullptr && cmp_(next->key, key) < 0) {
        x = next;
      } else {
        if (level == 0) return x;
        --level;
      }
    }
  }

  static constexpr size_t kBlockBytes = 64 << 10;
  static constexpr size_t kFirstGroupBlock = 256;
  struct alignas(alignof(Node)) Block {
    char bytes[alignof(Node)];
  };

  const Comparator cmp_;
  std::vector<std::unique_ptr<Block[]>> blocks_;        // writer only
  Cursor cursor_;                                       // writer only; ungrouped nodes and head_
  std::unordered_map<uint64_t, Cursor> group_cursors_;  // writer only
  uint32_t rnd_ = 0x9e3779b9u;
  std::atomic<int> height_{1};
  std::atomic<size_t> size_{0};
  std::atomic<size_t> memory_bytes_{0};
  Node* const head_;
};

}  // namespace loci::index

#endif  // LOCI_INDEX_SKIPLIST_H_
