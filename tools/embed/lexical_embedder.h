// LexicalEmbedder: turns text into a fixed-size vector by feature hashing its words and word
// pairs. It is LEXICAL, NOT SEMANTIC: two texts are close when they share words (and word
// pairs), never because they mean the same thing ("car" and "automobile" are unrelated to it).
// It exists so that benchmarks, tests and demos can exercise vector search deterministically
// without a model; applications pass their own model's vectors to Loci.
//
//   loci::tools::LexicalEmbedder embedder;            // 384 dimensions
//   embedder.FitIdf(corpus);                          // optional
//   std::vector<float> v = embedder.Embed("Caroline went to the LGBTQ support group");
//
// Tokens: the text is lowercased (ASCII letters only; every byte >= 0x80 is kept as is, so the
// letters of UTF-8 text stay inside words, but they are not case-folded and non-ASCII
// punctuation such as U+2019 counts as a letter), then split into words at every ASCII byte
// that is not a letter or a digit. Features: each word, and each pair of adjacent words.
// Each feature, hashed with XXH3-64, adds its weight with a pseudo-random sign to
// `projections` pseudo-random coordinates (a sparse signed random projection of the feature
// space). Its weight is (1 + ln tf) x idf: tf is its count in the text, idf 1 unless FitIdf was
// called. The result is scaled to unit L2 norm.
//
// The output is a pure function of (options, fitted idf table, text): the same on every run and
// machine. A text without any word embeds as the unit vector of a reserved feature that no word
// produces: well defined, non-zero (so a cosine field accepts it), and unrelated to every text
// that has words.

#ifndef LOCI_TOOLS_EMBED_LEXICAL_EMBEDDER_H_
#define LOCI_TOOLS_EMBED_LEXICAL_EMBEDDER_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace loci::tools {

struct LexicalEmbedderOptions {
  // Dimension of the output vectors, >= 1.
  // Default: 384
  uint32_t dim = 384;
  // Signed coordinates each feature contributes to, >= 1. More spreads each feature over more
  // coordinates, so that collisions between two features cancel less often.
  // Default: 8
  uint32_t projections = 8;
  // Weight of a word pair relative to a word (0: words only). Pairs double the features a text
  // spreads over `dim` coordinates, so in small dimensions they mostly add collisions: on
  // LoCoMo's turns (brute-force cosine, evidence recall@10 of its questions) weight 1 gave 0.27
  // at dim 384 against 0.42 without pairs, while 0.25 gave 0.41 there and 0.50 at dim 4096
  // (0.495 without pairs).
  // Default: 0.25
  float bigram_weight = 0.25f;
  // Seed of the feature hashes: a different seed gives a different, equally good projection.
  // Default: 0
  uint64_t seed = 0;
};

class LexicalEmbedder {
 public:
  // REQUIRES: options.dim >= 1, options.projections >= 1, options.bigram_weight >= 0.
  explicit LexicalEmbedder(LexicalEmbedderOptions options = {});

  uint32_t dim() const { return options_.dim; }
  const LexicalEmbedderOptions& options() const { return options_; }

  // The words of `text`, lowercased, in order (see the file comment).
  static std::vector<std::string> Words(std::string_view text);

  // Weights every feature by its smoothed inverse document frequency over `corpus` (one
  // document per element): idf = ln((1 + N) / (1 + df)) + 1, where N is the number of
  // documents and df the number containing the feature; a feature absent from the corpus gets
  // ln(1 + N) + 1, the weight of the rarest. Replaces any table fitted before.
  void FitIdf(std::span<const std::string> corpus);
  // Forgets the fitted table: every idf is 1 again.
  void ClearIdf();

  // Writes the unit-norm embedding of `text` to *out (resized to dim()).
  void Embed(std::string_view text, std::vector<float>* out) const;
  std::vector<float> Embed(std::string_view text) const;

 private:
  // The hashes of the features of `words`: one per word, then one per adjacent pair (when
  // bigram_weight > 0). Bigram hashes are flagged by `*is_bigram`.
  void Features(const std::vector<std::string>& words, std::vector<uint64_t>* hashes,
                std::vector<bool>* is_bigram) const;
  float Idf(uint64_t feature) const;
  // Writes the (unnormalised, non-zero) vector of a text without words to *out.
  void EmptyTextVector(std::vector<float>* out) const;
  // Adds `weight` times the feature's signed projection to `v`.
  void Project(uint64_t feature, float weight, std::vector<float>* v) const;

  LexicalEmbedderOptions options_;
  std::unordered_map<uint64_t, float> idf_;  // empty: every idf is 1
  float unseen_idf_ = 1.0f;                  // idf of a feature not in the fitted corpus
};

}  // namespace loci::tools

#endif  // LOCI_TOOLS_EMBED_LEXICAL_EMBEDDER_H_
