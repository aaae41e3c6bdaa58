// LexicalEmbedder: tokenising, feature hashing and the signed projection.

#include "tools/embed/lexical_embedder.h"

#include <xxhash.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <unordered_set>

namespace loci::tools {

namespace {

// Salts that keep the three feature families (words, pairs, the empty text) apart even when
// their bytes coincide.
constexpr uint64_t kBigramSalt = 0x9e3779b97f4a7c15ull;
constexpr uint64_t kEmptySalt = 0xc2b2ae3d27d4eb4full;

bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

// splitmix64: a cheap, well-mixed stream of 64-bit values from one seed.
uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t HashString(std::string_view s, uint64_t seed) {
  return XXH3_64bits_withSeed(s.data(), s.size(), seed);
}

}  // namespace

LexicalEmbedder::LexicalEmbedder(LexicalEmbedderOptions options) : options_(options) {
  assert(options_.dim >= 1);
  assert(options_.projections >= 1);
  assert(options_.bigram_weight >= 0);
}

std::vector<std::string> LexicalEmbedder::Words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsWordByte(c)) {
      word.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : ch);
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

void LexicalEmbedder::Features(const std::vector<std::string>& words, std::vector<uint64_t>* hashes,
                               std::vector<bool>* is_bigram) const {
  hashes->clear();
  is_bigram->clear();
  for (const std::string& w : words) {
    hashes->push_back(HashString(w, options_.seed));
    is_bigram->push_back(false);
  }
  if (options_.bigram_weight <= 0) return;
  std::string pair;
  for (size_t i = 1; i < words.size(); ++i) {
    // A space never occurs inside a word, so "a b" names exactly one pair.
    pair.assign(words[i - 1]).append(1, ' ').append(words[i]);
    hashes->push_back(HashString(pair, options_.seed ^ kBigramSalt));
    is_bigram->push_back(true);
  }
}

void LexicalEmbedder::FitIdf(std::span<const std::string> corpus) {
  std::unordered_map<uint64_t, uint64_t> df;
  std::vector<uint64_t> hashes;
  std::vector<bool> is_bigram;
  std::unordered_set<uint64_t> seen;
  for (const std::string& doc : corpus) {
    Features(Words(doc), &hashes, &is_bigram);
    seen.clear();
    for (uint64_t h : hashes) {
      if (seen.insert(h).second) ++df[h];
    }
  }
  const double n = static_cast<double>(corpus.size());
  idf_.clear();
  for (const auto& [feature, count] : df) {
    idf_[feature] = static_cast<float>(std::log((1 + n) / (1 + static_cast<double>(count))) + 1);
  }
  unseen_idf_ = static_cast<float>(std::log(1 + n) + 1);
}

void LexicalEmbedder::ClearIdf() {
  idf_.clear();
  unseen_idf_ = 1.0f;
}

float LexicalEmbedder::Idf(uint64_t feature) const {
  if (idf_.empty()) return 1.0f;
  auto it = idf_.find(feature);
  return it != idf_.end() ? it->second : unseen_idf_;
}

void LexicalEmbedder::Project(uint64_t feature, float weight, std::vector<float>* v) const {
  uint64_t state = feature;
  for (uint32_t i = 0; i < options_.projections; ++i) {
    const uint64_t r = SplitMix64(&state);
    // The high 32 bits choose the coordinate (multiply-shift: unbiased enough for any dim),
    // the lowest bit the sign.
    const auto index = static_cast<uint32_t>(((r >> 32) * options_.dim) >> 32);
    (*v)[index] += (r & 1) != 0 ? weight : -weight;
  }
}

void LexicalEmbedder::EmptyTextVector(std::vector<float>* out) const {
  out->assign(options_.dim, 0.0f);
  Project(HashString("", options_.seed ^ kEmptySalt), 1.0f, out);
  // The reserved feature's own coordinates can cancel when dim is tiny: keep it non-zero.
  if (std::all_of(out->begin(), out->end(), [](float x) { return x == 0; })) (*out)[0] = 1;
}

void LexicalEmbedder::Embed(std::string_view text, std::vector<float>* out) const {
  out->assign(options_.dim, 0.0f);
  std::vector<uint64_t> hashes;
  std::vector<bool> is_bigram;
  Features(Words(text), &hashes, &is_bigram);
  if (hashes.empty()) {
    EmptyTextVector(out);
  } else {
    // Count each feature's occurrences; sorting fixes the summation order, so the result does
    // not depend on hash-table iteration order.
    std::vector<std::pair<uint64_t, bool>> features;
    features.reserve(hashes.size());
    for (size_t i = 0; i < hashes.size(); ++i) features.emplace_back(hashes[i], is_bigram[i]);
    std::sort(features.begin(), features.end());
    for (size_t i = 0; i < features.size();) {
      size_t j = i;
      while (j < features.size() && features[j].first == features[i].first) ++j;
      const double tf = static_cast<double>(j - i);
      const float scale = features[i].second ? options_.bigram_weight : 1.0f;
      Project(features[i].first,
              static_cast<float>(1 + std::log(tf)) * Idf(features[i].first) * scale, out);
      i = j;
    }
  }
  double norm = 0;
  for (float x : *out) norm += static_cast<double>(x) * x;
  if (norm == 0) {
    // Every contribution cancelled (possible in tiny dimensions): fall back to the empty
    // text's vector so that the result is still a unit vector.
    EmptyTextVector(out);
    norm = 0;
    for (float x : *out) norm += static_cast<double>(x) * x;
  }
  const auto inv = static_cast<float>(1 / std::sqrt(norm));
  for (float& x : *out) x *= inv;
}

std::vector<float> LexicalEmbedder::Embed(std::string_view text) const {
  std::vector<float> v;
  Embed(text, &v);
  return v;
}

}  // namespace loci::tools
