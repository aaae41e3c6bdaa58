// Tests of index/trace_graph.h's adjacency: the edges of a cube found by ForEachEdge — every
// type or one, out or in — equal a std::set's, whatever order the edges were added in (a
// cube's first entry moves as smaller keys arrive), for cubes with many edges of other types
// (the scan falls back to a search) and for ids beyond the per-cube table (always searched).

#include "index/trace_graph.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <tuple>
#include <vector>

namespace loci::index {
namespace {

// (type, other end) of one cube's edges in one direction, in the order ForEachEdge reports.
using Incidences = std::vector<std::pair<uint32_t, uint64_t>>;

Incidences EdgesOf(const TraceGraph& graph, uint64_t node, TraceGraph::Direction dir,
                   uint32_t type) {
  Incidences out;
  graph.ForEachEdge(node, dir, type, [&](const TraceGraph::Incidence& inc) {
    EXPECT_NE(inc.head(), nullptr);
    out.emplace_back(inc.type, inc.other);
    return true;
  });
  return out;
}

class TraceGraphTest : public ::testing::Test {
 protected:
  void Link(uint64_t from, uint64_t to, uint32_t type) {
    const EdgeKey key{from, to, type};
    auto* v = new EdgeVersion;
    v->key = key;
    v->number = graph_.Latest(key) == nullptr ? 1 : graph_.Latest(key)->number + 1;
    v->prev = graph_.Latest(key);
    graph_.Publish(v);
    edges_.emplace(from, to, type);
  }

  // What ForEachEdge must report, from the set of edges.
  Incidences Expected(uint64_t node, TraceGraph::Direction dir, uint32_t type) const {
    std::set<std::pair<uint32_t, uint64_t>> found;
    for (const auto& [from, to, t] : edges_) {
      if (type != 0 && t != type) continue;
      if (dir == TraceGraph::kOut && from == node) found.emplace(t, to);
      if (dir == TraceGraph::kIn && to == node) found.emplace(t, from);
    }
    return Incidences(found.begin(), found.end());
  }

  void ExpectAllMatch(const std::vector<uint64_t>& nodes, const std::vector<uint32_t>& types) {
    for (uint64_t node : nodes) {
      for (TraceGraph::Direction dir : {TraceGraph::kOut, TraceGraph::kIn}) {
        EXPECT_EQ(EdgesOf(graph_, node, dir, 0), Expected(node, dir, 0)) << "cube " << node;
        for (uint32_t type : types) {
          EXPECT_EQ(EdgesOf(graph_, node, dir, type), Expected(node, dir, type))
              << "cube " << node << " direction " << dir << " type " << type;
        }
      }
    }
  }

  TraceGraph graph_;
  std::set<std::tuple<uint64_t, uint64_t, uint32_t>> edges_;
};

TEST_F(TraceGraphTest, RandomEdgesInRandomOrderMatchASet) {
  std::mt19937_64 rng(7);
  const std::vector<uint32_t> types = {1, 2, 3, 4, 5, 6, 1000, 1001};
  std::vector<uint64_t> nodes;
  for (uint64_t n = 1; n <= 60; ++n) nodes.push_back(n);
  for (int i = 0; i < 3000; ++i) {
    const uint64_t from = nodes[rng() % nodes.size()];
    const uint64_t to = nodes[rng() % nodes.size()];
    if (from == to) continue;
    Link(from, to, types[rng() % types.size()]);
    if (i % 500 == 0) ExpectAllMatch(nodes, types);
  }
  ExpectAllMatch(nodes, types);
  nodes.push_back(61);  // no edge at all
  ExpectAllMatch(nodes, {1});
}

TEST_F(TraceGraphTest, ManyEdgesOfOtherTypesBeforeTheOneAsked) {
  // Cube 1 has 100 out-edges of type 1, then 3 of type 5: asking for type 5 skips more
  // entries than a short scan does. Added largest first, so the first entry keeps moving.
  for (uint64_t to = 200; to >= 2; --to) Link(1, to, to <= 101 ? 1 : 6);
  Link(1, 500, 5);
  Link(1, 400, 5);
  Link(1, 300, 5);
  ExpectAllMatch({1, 2, 150, 300}, {1, 2, 5, 6, 7});
  EXPECT_EQ(EdgesOf(graph_, 1, TraceGraph::kOut, 5), (Incidences{{5, 300}, {5, 400}, {5, 500}}));
}

TEST_F(TraceGraphTest, IdsBeyondThePerCubeTableAreStillFound) {
  const uint64_t far = uint64_t{1} << 40;  // past every chunk of the per-cube table
  Link(far, 3, 2);
  Link(3, far, 2);
  Link(far + 1, far, 1);
  ExpectAllMatch({3, far, far + 1, far + 2}, {1, 2});
}

}  // namespace
}  // namespace loci::index
