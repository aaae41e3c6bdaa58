// tools/embed/lexical_embedder.h: determinism, unit norm, word overlap, the word-pair features,
// IDF weighting and the empty text.

#include "tools/embed/lexical_embedder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace loci::tools {
namespace {

double Dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

double Norm(const std::vector<float>& v) { return std::sqrt(Dot(v, v)); }

TEST(LexicalEmbedderTest, WordsLowercaseAndSplitOnNonAlphanumerics) {
  EXPECT_EQ(LexicalEmbedder::Words("Hey Mel! It's 8:30, LGBTQ-friendly."),
            (std::vector<std::string>{"hey", "mel", "it", "s", "8", "30", "lgbtq", "friendly"}));
  // Bytes >= 0x80 stay inside words (UTF-8 letters are not split or case-folded).
  EXPECT_EQ(LexicalEmbedder::Words("Caf\xc3\xa9 na\xc3\xafve"),
            (std::vector<std::string>{"caf\xc3\xa9", "na\xc3\xafve"}));
  EXPECT_TRUE(LexicalEmbedder::Words(" ,.!? ").empty());
}

TEST(LexicalEmbedderTest, DeterministicAcrossInstances) {
  LexicalEmbedder a, b;
  const std::string text = "Caroline went to the LGBTQ support group yesterday";
  EXPECT_EQ(a.Embed(text), b.Embed(text));
  EXPECT_EQ(a.Embed(text), a.Embed(text));
  // Case and punctuation do not matter; a different seed gives a different projection.
  EXPECT_EQ(a.Embed(text), a.Embed("caroline, went to THE lgbtq support-group yesterday!"));
  LexicalEmbedder seeded({.seed = 7});
  EXPECT_NE(a.Embed(text), seeded.Embed(text));
}

TEST(LexicalEmbedderTest, UnitNormInAnyDimension) {
  for (uint32_t dim : {1u, 2u, 3u, 16u, 384u, 1000u}) {
    LexicalEmbedder e({.dim = dim});
    for (const char* text : {"a", "the quick brown fox", "", "x x x x y"}) {
      const std::vector<float> v = e.Embed(text);
      ASSERT_EQ(v.size(), dim);
      EXPECT_NEAR(Norm(v), 1.0, 1e-5) << "dim " << dim << " text \"" << text << "\"";
      for (float x : v) EXPECT_TRUE(std::isfinite(x));
    }
  }
}

TEST(LexicalEmbedderTest, EmptyTextIsAFixedUnitVectorUnlikeAnyText) {
  LexicalEmbedder e;
  const std::vector<float> empty = e.Embed("");
  EXPECT_EQ(empty, e.Embed("  ...  "));
  EXPECT_NEAR(Norm(empty), 1.0, 1e-6);
  EXPECT_LT(std::abs(Dot(empty, e.Embed("hello world"))), 0.5);
}

TEST(LexicalEmbedderTest, SharedWordsAreCloserThanNone) {
  LexicalEmbedder e;
  const auto q = e.Embed("When did Melanie paint a sunrise?");
  const auto shares = e.Embed("Melanie painted a lake sunrise last year");
  const auto none = e.Embed("Caroline attended an LGBTQ support group");
  EXPECT_GT(Dot(q, shares), Dot(q, none) + 0.2);
  EXPECT_LT(std::abs(Dot(q, none)), 0.25);
}

TEST(LexicalEmbedderTest, WordPairsSeparateWordOrder) {
  // Same words, so the same unigram features: only the pairs tell the texts apart.
  const std::string query = "new york city";
  const std::string same_order = "a trip to new york city";
  const std::string other_order = "city a trip to york new";
  LexicalEmbedder with_pairs({.bigram_weight = 1});
  EXPECT_GT(Dot(with_pairs.Embed(query), with_pairs.Embed(same_order)),
            Dot(with_pairs.Embed(query), with_pairs.Embed(other_order)) + 0.1);
  LexicalEmbedder default_pairs;  // a smaller weight: a smaller, same-signed effect
  EXPECT_GT(Dot(default_pairs.Embed(query), default_pairs.Embed(same_order)),
            Dot(default_pairs.Embed(query), default_pairs.Embed(other_order)));
  LexicalEmbedder words_only({.bigram_weight = 0});
  EXPECT_NEAR(Dot(words_only.Embed(query), words_only.Embed(same_order)),
              Dot(words_only.Embed(query), words_only.Embed(other_order)), 1e-6);
}

TEST(LexicalEmbedderTest, IdfDownweightsCommonWords) {
  const std::vector<std::string> corpus = {"the cat sat", "the dog ran", "the bird sang",
                                           "the fish swam", "a cat"};
  LexicalEmbedder plain({.bigram_weight = 0});
  LexicalEmbedder fitted({.bigram_weight = 0});
  fitted.FitIdf(corpus);
  // "the" is in 4 of 5 documents, "cat" in 2: after fitting, sharing "the" counts for less
  // than sharing "cat".
  const std::string query = "the cat";
  const double the_plain = Dot(plain.Embed(query), plain.Embed("the dog"));
  const double cat_plain = Dot(plain.Embed(query), plain.Embed("a cat"));
  const double the_fitted = Dot(fitted.Embed(query), fitted.Embed("the dog"));
  const double cat_fitted = Dot(fitted.Embed(query), fitted.Embed("a cat"));
  EXPECT_LT(the_fitted, the_plain);
  EXPECT_GT(cat_fitted - the_fitted, cat_plain - the_plain);
  fitted.ClearIdf();
  EXPECT_EQ(fitted.Embed(query), plain.Embed(query));
}

}  // namespace
}  // namespace loci::tools
