// Tests of engine/record_codec, the encoding of WAL batches and version bodies: round trips with
// every field type (typed attributes, parents, several vectors, empty payload references, kForever
// and negative times, extreme integers), blob references, field definitions and field drops
// (format 2); every invariant the decoder promises to check; bounded decoding of absurd counts;
// two sweeps over encoded batches with and without drops: every truncation must fail cleanly,
// and every single-bit flip must either fail or decode to something whose re-encoding is exactly
// the flipped input (the header promises "exactly one encoding", so no byte may be a
// don't-care); how a batch's catalog changes are applied in replay; and format 4 (the trace
// graph: versions' episodes and edge versions): round trips, every edge invariant, the same
// truncation and bit-flip sweeps, and that a format 4 batch without trace content is refused.

#include "engine/record_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/coding.h"
#include "loci/write_batch.h"
#include "tests/testutil.h"

namespace loci::engine {
namespace {

using test::Contains;

blob::BlobRef Ref(uint32_t generation, uint64_t offset, uint32_t length, uint64_t checksum) {
  blob::BlobRef r;
  r.generation = generation;
  r.offset = offset;
  r.length = length;
  r.checksum = checksum;
  return r;
}

// A version using every field, with awkward values.
Version FullVersion() {
  Version v;
  v.id = (uint64_t{1} << 63) + 5;
  v.number = 3;
  v.space_id = 2;
  v.kind = kFirstApplicationKind + 7;
  v.state = CubeState::kArchived;
  v.valid_from = -5'000'000;
  v.valid_to = kForever;
  v.expires_at = -1;
  v.importance = 0.75f;
  v.trust = 1e-30f;
  v.payload = Ref(3, 4096, 1000, 0x0123456789abcdefull);
  v.vectors = {{1, Ref(3, 5128, 1536, 0xfeed)}, {4, Ref(4, 1ull << 40, 12, ~0ull)}};
  v.attrs = {{"agent", std::string("claude")},
             {"b", true},
             {"f", false},
             {"i", std::numeric_limits<int64_t>::min()},
             {"j", int64_t{-1}},
             {"k", std::numeric_limits<int64_t>::max()},
             {"pi", 3.14159},
             {"s", std::string("\0x\xff", 3)},
             {"t", std::string()},
             {"z", -0.0}};
  v.source = std::string("msg:42\0\xff", 8);
  v.agent = "";
  v.parents = {1, std::numeric_limits<uint64_t>::max(), 77};
  return v;
}

Version MinimalVersion() {
  Version v;
  v.id = 1;
  v.number = 1;
  v.space_id = 1;
  return v;
}

Version RetiredVersion() {
  Version v = MinimalVersion();
  v.id = 300;
  v.number = 2;
  v.state = CubeState::kRetired;
  v.valid_from = kBeginningOfTime;
  v.valid_to = 1'700'000'000'000'000;
  v.expires_at = kForever;
  v.kind = kActivation;
  v.importance = -0.0f;
  v.payload = Ref(1, 8, 1, 1);
  v.agent = "agent-7";
  return v;
}

std::vector<SpaceEntry> SampleSpaces() { return {{1, "alpha"}, {2, "beta gamma"}, {7, ""}}; }

std::vector<FieldEntry> SampleFields() {
  return {{1, FieldDef{1, "minilm-384", 384, Metric::kCosine}},
          {2, FieldDef{1, "e", 1, Metric::kL2}},
          {1, FieldDef{2, "ip", kMaxDecodedDim, Metric::kInnerProduct}}};
}

std::vector<FieldDropEntry> SampleDrops() { return {{1, 1}, {2, 300}, {1, 2}}; }

struct SampleBatch {
  Timestamp commit_time = -1234567890123;
  std::vector<FieldDropEntry> drops;
  std::vector<Version> versions = {FullVersion(), MinimalVersion(), RetiredVersion()};
  std::vector<BlobCopy> copies;
  std::string Encode() const {
    std::vector<const Version*> ptrs;
    for (const Version& v : versions) ptrs.push_back(&v);
    std::string out;
    EncodeBatch(commit_time, SampleSpaces(), SampleFields(), drops, ptrs, &out, copies);
    return out;
  }
};

// Blob bytes a batch logs, and refs that really describe them (checksum seeded by place).
const std::string kLoggedPayload = "likes green tea";
const std::string kLoggedVector = std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8);
blob::BlobRef RefTo(const std::string& bytes, uint32_t generation, uint64_t offset) {
  return Ref(generation, offset, static_cast<uint32_t>(bytes.size()),
             blob::PayloadChecksum(bytes, generation, offset));
}

// A batch whose first version's payload and second vector are logged with it (format 3),
// listed out of order: the encoder sorts them.
SampleBatch SampleBatchWithCopies(bool with_drops) {
  SampleBatch b;
  if (with_drops) b.drops = SampleDrops();
  b.versions[0].payload = RefTo(kLoggedPayload, 3, 4096);
  b.versions[0].vectors[1].blob = RefTo(kLoggedVector, 2, 8200);
  b.copies = {BlobCopy{b.versions[0].payload, kLoggedPayload},
              BlobCopy{b.versions[0].vectors[1].blob, kLoggedVector}};
  return b;
}

SampleBatch SampleBatchWithDrops() {
  SampleBatch b;
  b.drops = SampleDrops();
  return b;
}

std::string ReEncode(const BatchContents& b) {
  std::vector<const Version*> ptrs;
  for (const auto& v : b.versions) ptrs.push_back(v.get());
  std::vector<const index::EdgeVersion*> edges;
  for (const auto& e : b.edges) edges.push_back(e.get());
  std::string out;
  EncodeBatch(b.commit_time, b.spaces, b.fields, b.drops, ptrs, &out, b.copies, edges, b.purges);
  return out;
}

std::string EncodeBody(const Version& v) {
  std::string out;
  EncodeVersionBody(v, &out);
  return out;
}

bool DecodeBody(std::string_view bytes, Version* v) {
  Decoder d(bytes);
  return DecodeVersionBody(&d, v) && d.empty();
}

void ExpectSameFields(const std::vector<FieldEntry>& a, const std::vector<FieldEntry>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].space_id, b[i].space_id);
    EXPECT_EQ(a[i].field, b[i].field);
  }
}

TEST(RecordCodecTest, VersionBodiesRoundTrip) {
  for (const Version& in : {FullVersion(), MinimalVersion(), RetiredVersion()}) {
    const std::string body = EncodeBody(in);
    Version out;
    out.tx_from = in.tx_from;
    out.lsn = in.lsn;
    ASSERT_TRUE(DecodeBody(body, &out)) << "id " << in.id;
    EXPECT_TRUE(out.SameContent(in)) << "id " << in.id;
    EXPECT_EQ(EncodeBody(out), body);
  }
}

TEST(RecordCodecTest, DecodingABodyLeavesTxFromAndLsnAlone) {
  Version out;
  out.tx_from = 99;
  out.lsn = 1234;
  ASSERT_TRUE(DecodeBody(EncodeBody(FullVersion()), &out));
  EXPECT_EQ(out.tx_from, 99);
  EXPECT_EQ(out.lsn, 1234u);
}

TEST(RecordCodecTest, FloatAndDoubleBitsSurvive) {
  Version in = MinimalVersion();
  in.importance = -0.0f;
  in.trust = std::numeric_limits<float>::denorm_min();
  in.attrs = {{"d", std::numeric_limits<double>::denorm_min()},
              {"m", -std::numeric_limits<double>::max()}};
  Version out;
  ASSERT_TRUE(DecodeBody(EncodeBody(in), &out));
  EXPECT_TRUE(std::signbit(out.importance));
  EXPECT_EQ(out.trust, std::numeric_limits<float>::denorm_min());
  EXPECT_EQ(out.attrs, in.attrs);
}

TEST(RecordCodecTest, BlobRefsRoundTripAndEmptyIsOneByte) {
  std::string empty;
  EncodeBlobRef(blob::BlobRef(), &empty);
  EXPECT_EQ(empty, std::string(1, '\0'));
  for (const blob::BlobRef& in :
       {Ref(1, 4096, 1, 0), Ref(UINT32_MAX, uint64_t{1} << 56, blob::kMaxBlobLength, ~0ull),
        Ref(2, 8, 100, 42)}) {
    std::string s;
    EncodeBlobRef(in, &s);
    Decoder d(s);
    blob::BlobRef out;
    ASSERT_TRUE(DecodeBlobRef(&d, &out));
    EXPECT_TRUE(d.empty());
    EXPECT_EQ(out, in);
  }
  Decoder d(empty);
  blob::BlobRef out = Ref(1, 2, 3, 4);
  ASSERT_TRUE(DecodeBlobRef(&d, &out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(out, blob::BlobRef());
}

TEST(RecordCodecTest, ImpossibleBlobRefsAreRejected) {
  for (const blob::BlobRef& bad :
       {Ref(1, 4096, 0, 0), Ref(1, 4097, 10, 0), Ref(1, (uint64_t{1} << 56) + 8, 10, 0),
        Ref(1, 4096, blob::kMaxBlobLength + 1, 0)}) {
    std::string s;
    EncodeBlobRef(bad, &s);
    Decoder d(s);
    blob::BlobRef out;
    EXPECT_FALSE(DecodeBlobRef(&d, &out)) << bad.offset << "/" << bad.length;
  }
  std::string wide;
  PutVarint64(&wide, uint64_t{UINT32_MAX} + 1);  // generation wider than 32 bits
  PutVarint64(&wide, 4096);
  PutVarint64(&wide, 10);
  PutFixed64(&wide, 0);
  Decoder d(wide);
  blob::BlobRef out;
  EXPECT_FALSE(DecodeBlobRef(&d, &out));
}

TEST(RecordCodecTest, FieldsRoundTripAndImpossibleOnesAreRejected) {
  for (const FieldEntry& in : SampleFields()) {
    std::string s;
    EncodeField(in.space_id, in.field, &s);
    Decoder d(s);
    FieldEntry out;
    ASSERT_TRUE(DecodeField(&d, &out));
    EXPECT_TRUE(d.empty());
    EXPECT_EQ(out.space_id, in.space_id);
    EXPECT_EQ(out.field, in.field);
  }
  const FieldEntry bad[] = {{0, FieldDef{1, "x", 3, Metric::kL2}},
                            {1, FieldDef{0, "x", 3, Metric::kL2}},
                            {1, FieldDef{1, "", 3, Metric::kL2}},
                            {1, FieldDef{1, "x", 0, Metric::kL2}},
                            {1, FieldDef{1, "x", kMaxDecodedDim + 1, Metric::kL2}},
                            {1, FieldDef{1, "x", 3, static_cast<Metric>(3)}}};
  for (const FieldEntry& f : bad) {
    std::string s;
    EncodeField(f.space_id, f.field, &s);
    Decoder d(s);
    FieldEntry out;
    EXPECT_FALSE(DecodeField(&d, &out))
        << f.space_id << " " << f.field.id << " " << f.field.name << " " << f.field.dim;
  }
}

TEST(RecordCodecTest, FieldDropsRoundTripAndImpossibleOnesAreRejected) {
  for (const FieldDropEntry& in : SampleDrops()) {
    std::string s;
    EncodeFieldDrop(in, &s);
    Decoder d(s);
    FieldDropEntry out;
    ASSERT_TRUE(DecodeFieldDrop(&d, &out));
    EXPECT_TRUE(d.empty());
    EXPECT_EQ(out, in);
  }
  for (const FieldDropEntry& bad : {FieldDropEntry{0, 1}, FieldDropEntry{1, 0}}) {
    std::string s;
    EncodeFieldDrop(bad, &s);
    Decoder d(s);
    FieldDropEntry out;
    EXPECT_FALSE(DecodeFieldDrop(&d, &out)) << bad.space_id << "/" << bad.field_id;
  }
  std::string wide;
  PutVarint64(&wide, 1);
  PutVarint64(&wide, uint64_t{UINT32_MAX} + 1);  // field id wider than 32 bits
  Decoder d(wide);
  FieldDropEntry out;
  EXPECT_FALSE(DecodeFieldDrop(&d, &out));
  for (size_t len = 0; len < 2; ++len) {  // truncated
    std::string s;
    EncodeFieldDrop(FieldDropEntry{1, 2}, &s);
    Decoder t(std::string_view(s).substr(0, len));
    EXPECT_FALSE(DecodeFieldDrop(&t, &out)) << len;
  }
}

TEST(RecordCodecTest, BatchRoundTrips) {
  SampleBatch batch;
  const std::string payload = batch.Encode();
  EXPECT_EQ(payload[0], 1) << "a batch without drops keeps format 1";
  BatchContents out;
  Status s = DecodeBatch(payload, "WAL record LSN 7", &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(out.drops.empty());
  EXPECT_EQ(out.commit_time, batch.commit_time);
  ASSERT_EQ(out.spaces.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out.spaces[i].id, SampleSpaces()[i].id);
    EXPECT_EQ(out.spaces[i].name, SampleSpaces()[i].name);
  }
  ExpectSameFields(out.fields, SampleFields());
  ASSERT_EQ(out.versions.size(), batch.versions.size());
  for (size_t i = 0; i < batch.versions.size(); ++i) {
    Version expected = batch.versions[i];
    expected.tx_from = batch.commit_time;  // every version of a batch commits at its time
    expected.lsn = 0;
    EXPECT_TRUE(out.versions[i]->SameContent(expected)) << i;
  }
  EXPECT_EQ(ReEncode(out), payload);
  EXPECT_EQ(batch.Encode(), payload) << "encoding is deterministic";
}

TEST(RecordCodecTest, BatchWithDropsRoundTripsInFormat2) {
  const SampleBatch batch = SampleBatchWithDrops();
  const std::string payload = batch.Encode();
  EXPECT_EQ(payload[0], 2);
  BatchContents out;
  Status s = DecodeBatch(payload, "WAL record LSN 7", &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectSameFields(out.fields, SampleFields());
  EXPECT_EQ(out.drops, SampleDrops());
  ASSERT_EQ(out.versions.size(), batch.versions.size());
  EXPECT_EQ(ReEncode(out), payload);
  // Only the drop section differs from the same batch without drops.
  std::string drops;
  PutVarint64(&drops, SampleDrops().size());
  for (const FieldDropEntry& d : SampleDrops()) EncodeFieldDrop(d, &drops);
  std::string without = SampleBatch().Encode();
  std::string expected = payload;
  expected[0] = 1;
  const size_t at = expected.find(drops);
  ASSERT_NE(at, std::string::npos);
  expected.erase(at, drops.size());
  EXPECT_EQ(expected, without);
}

// Blob copies (format 3): they come back as views of the payload, sorted by place, each tied to
// the ref of its version; drops may be absent or present.
TEST(RecordCodecTest, BatchWithBlobCopiesRoundTripsInFormat3) {
  for (bool with_drops : {false, true}) {
    const SampleBatch b = SampleBatchWithCopies(with_drops);
    const std::string payload = b.Encode();
    EXPECT_EQ(payload[0], 3);
    BatchContents out;
    ASSERT_TRUE(DecodeBatch(payload, "w", &out).ok());
    EXPECT_EQ(out.drops, b.drops);
    ASSERT_EQ(out.copies.size(), 2u);
    EXPECT_EQ(out.copies[0].ref, b.versions[0].vectors[1].blob);  // generation 2 first
    EXPECT_EQ(out.copies[0].bytes, kLoggedVector);
    EXPECT_EQ(out.copies[1].ref, b.versions[0].payload);
    EXPECT_EQ(out.copies[1].bytes, kLoggedPayload);
    EXPECT_GE(out.copies[1].bytes.data(), payload.data());  // a view, not a copy
    EXPECT_EQ(ReEncode(out), payload);
  }
  SampleBatch without = SampleBatchWithCopies(false);
  without.copies.clear();
  EXPECT_EQ(without.Encode()[0], 1);
}

// What a record with damaged copies held: DecodeBatchWithoutCopies returns its versions and
// catalog changes, where DecodeBatch refuses the whole batch.
TEST(RecordCodecTest, WithoutCopiesDecodesTheVersionsOfABatchWhoseCopiesAreDamaged) {
  SampleBatch b = SampleBatchWithCopies(true);
  std::string payload = b.Encode();
  const size_t at = payload.rfind(kLoggedPayload);
  ASSERT_NE(at, std::string::npos);
  payload[at] ^= 0x20;
  BatchContents strict, lenient;
  EXPECT_TRUE(DecodeBatch(payload, "w", &strict).IsCorruption());
  ASSERT_TRUE(DecodeBatchWithoutCopies(payload, "w", &lenient).ok());
  EXPECT_TRUE(lenient.copies.empty());
  ASSERT_EQ(lenient.versions.size(), b.versions.size());
  for (size_t i = 0; i < b.versions.size(); ++i) {
    EXPECT_EQ(EncodeBody(*lenient.versions[i]), EncodeBody(b.versions[i])) << i;
  }
  EXPECT_EQ(lenient.drops.size(), b.drops.size());
  // The part before the copies is still checked.
  payload[0] = 9;  // unknown format
  EXPECT_TRUE(DecodeBatchWithoutCopies(payload, "w", &lenient).IsCorruption());
}

TEST(RecordCodecTest, BlobCopiesThatDoNotMatchTheirBlobAreCorruption) {
  struct Case {
    const char* what;
    std::function<void(SampleBatch*)> damage;
  };
  const std::vector<Case> cases = {
      {"other bytes", [](SampleBatch* b) { b->copies[1].bytes = "likes green tex"; }},
      {"shorter", [](SampleBatch* b) { b->copies[1].bytes = "likes green te"; }},
      {"no such blob", [](SampleBatch* b) { b->copies[1].ref.offset += 8; }},
      {"twice", [](SampleBatch* b) { b->copies.push_back(b->copies[0]); }},
  };
  for (const Case& c : cases) {
    SampleBatch b = SampleBatchWithCopies(true);
    c.damage(&b);
    BatchContents out;
    Status s = DecodeBatch(b.Encode(), "WAL record LSN 9", &out);
    EXPECT_TRUE(s.IsCorruption()) << c.what << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "WAL record LSN 9")) << s.ToString();
  }
  // Format 3 with no copy at all is not the one encoding of its batch (that is format 1).
  const SampleBatch b = SampleBatchWithCopies(false);
  const std::string payload = b.Encode();
  std::string section;  // the copy section as the format lays it out, sorted by place
  PutVarint64(&section, 2);
  for (const BlobCopy* c : {&b.copies[1], &b.copies[0]}) {
    PutVarint64(&section, c->ref.generation);
    PutVarint64(&section, c->ref.offset);
    PutLengthPrefixed(&section, c->bytes);
  }
  ASSERT_EQ(payload.substr(payload.size() - section.size()), section);
  const std::string no_copies = payload.substr(0, payload.size() - section.size()) + '\0';
  BatchContents out;
  Status s = DecodeBatch(no_copies, "w", &out);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "blob copy count")) << s.ToString();
}

TEST(RecordCodecTest, MalformedDropSectionsAreCorruptionNamingWhat) {
  const SampleBatch batch = SampleBatchWithDrops();
  const std::string payload = batch.Encode();
  std::string drops;
  PutVarint64(&drops, SampleDrops().size());
  for (const FieldDropEntry& d : SampleDrops()) EncodeFieldDrop(d, &drops);
  const size_t at = payload.find(drops);
  ASSERT_NE(at, std::string::npos);
  auto decode = [](const std::string& p) {
    BatchContents out;
    return DecodeBatch(p, "WAL record LSN 11", &out);
  };
  auto with_section = [&](const std::string& section) {
    return payload.substr(0, at) + section + payload.substr(at + drops.size());
  };
  struct Case {
    const char* what;
    std::string payload;
    const char* names;
  };
  std::string zero_field;  // a drop of field 0
  PutVarint64(&zero_field, 1);
  EncodeFieldDrop(FieldDropEntry{1, 1}, &zero_field);
  zero_field.back() = 0;
  std::string zero_space;
  PutVarint64(&zero_space, 1);
  PutVarint64(&zero_space, 0);
  PutVarint64(&zero_space, 1);
  std::string absurd;
  PutVarint64(&absurd, uint64_t{1} << 60);
  const Case cases[] = {
      {"format 2 without drops", with_section(std::string(1, '\0')), "field drop count"},
      {"absurd drop count", with_section(absurd), "field drop count"},
      {"drop of field 0", with_section(zero_field), "field drop entry 0"},
      {"drop of space 0", with_section(zero_space), "field drop entry 0"},
      {"format 1 with a drop section", std::string(1, '\1') + payload.substr(1), "batch"},
  };
  for (const Case& c : cases) {
    Status s = decode(c.payload);
    EXPECT_TRUE(s.IsCorruption()) << c.what << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "WAL record LSN 11")) << c.what << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.message(), c.names)) << c.what << ": " << s.ToString();
  }
}

TEST(RecordCodecTest, EmptyBatchRoundTrips) {
  std::string payload;
  EncodeBatch(kForever, {}, {}, {}, {}, &payload);
  BatchContents out;
  ASSERT_TRUE(DecodeBatch(payload, "w", &out).ok());
  EXPECT_EQ(out.commit_time, kForever);
  EXPECT_TRUE(out.spaces.empty() && out.fields.empty() && out.versions.empty());
  EXPECT_EQ(ReEncode(out), payload);
}

TEST(RecordCodecTest, MalformedBatchesAreCorruptionNamingWhere) {
  const std::string good = SampleBatch().Encode();
  BatchContents out;
  std::string bad = good;
  bad[0] = 3;  // unknown format
  Status s = DecodeBatch(bad, "WAL record LSN 9", &out);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "WAL record LSN 9")) << s.ToString();
  s = DecodeBatch(good + "x", "WAL record LSN 9", &out);  // trailing bytes
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(DecodeBatch("", "w", &out).IsCorruption());
}

TEST(RecordCodecTest, AbsurdCountsFailWithoutAllocating) {
  for (int which = 0; which < 3; ++which) {
    std::string p;
    p.push_back(1);
    PutVarsint64(&p, 5);
    for (int i = 0; i < 3; ++i) PutVarint64(&p, i == which ? (uint64_t{1} << 60) : 0);
    p += std::string(64, '\x01');
    BatchContents out;
    EXPECT_TRUE(DecodeBatch(p, "w", &out).IsCorruption()) << which;
  }
  // Inside a version: vectors, attributes and parents.
  const std::string body = EncodeBody(MinimalVersion());
  // The minimal body ends with: payload ref 0, n_vectors 0, n_attrs 0, source "", agent "",
  // n_parents 0. Replace each count in turn with 2^62.
  const size_t tail = body.size() - 5;  // at n_vectors
  for (size_t pos : {tail, tail + 1, tail + 4}) {
    std::string b = body.substr(0, pos);
    PutVarint64(&b, uint64_t{1} << 62);
    b += body.substr(pos + 1);
    Version v;
    EXPECT_FALSE(DecodeBody(b, &v)) << pos;
  }
}

// Each invariant DecodeVersionBody promises, violated once (with otherwise valid bytes).
TEST(RecordCodecTest, EveryVersionInvariantIsEnforced) {
  struct Case {
    const char* what;
    Version v;
  };
  std::vector<Case> cases;
  auto add = [&](const char* what, auto mutate) {
    Version v = FullVersion();
    mutate(v);
    cases.push_back({what, v});
  };
  add("id 0", [](Version& v) { v.id = 0; });
  add("number 0", [](Version& v) { v.number = 0; });
  add("space 0", [](Version& v) { v.space_id = 0; });
  add("valid_from == valid_to", [](Version& v) { v.valid_to = v.valid_from; });
  add("valid_from > valid_to", [](Version& v) { v.valid_to = v.valid_from - 1; });
  add("NaN importance", [](Version& v) { v.importance = std::nanf(""); });
  add("infinite trust", [](Version& v) { v.trust = std::numeric_limits<float>::infinity(); });
  add("vector of field 0", [](Version& v) { v.vectors[0].field_id = 0; });
  add("vector with empty ref", [](Version& v) { v.vectors[0].blob = blob::BlobRef(); });
  add("vectors unsorted", [](Version& v) { std::swap(v.vectors[0], v.vectors[1]); });
  add("vector field twice", [](Version& v) { v.vectors[1].field_id = v.vectors[0].field_id; });
  add("attrs unsorted", [](Version& v) { std::swap(v.attrs[0], v.attrs[1]); });
  add("attr key twice", [](Version& v) { v.attrs[1].key = v.attrs[0].key; });
  add("empty attr key", [](Version& v) { v.attrs[0].key = ""; });
  add("NaN double attr", [](Version& v) { v.attrs[6].value = std::nan(""); });
  add("infinite double attr",
      [](Version& v) { v.attrs[6].value = -std::numeric_limits<double>::infinity(); });
  add("parent 0", [](Version& v) { v.parents[1] = 0; });
  add("payload of length 0", [](Version& v) { v.payload.length = 0; });
  for (const Case& c : cases) {
    Version out;
    EXPECT_FALSE(DecodeBody(EncodeBody(c.v), &out)) << c.what;
  }

  // Values the encoder cannot even produce, patched into the bytes of a minimal body
  // (id, number, space, kind, state: one byte each).
  const std::string body = EncodeBody(MinimalVersion());
  Version out;
  ASSERT_TRUE(DecodeBody(body, &out));
  std::string b = body;
  b[4] = 3;  // state beyond kRetired
  EXPECT_FALSE(DecodeBody(b, &out)) << "state 3";
  b = body.substr(0, 3);
  PutVarint64(&b, 65536);  // kind beyond uint16
  b += body.substr(4);
  EXPECT_FALSE(DecodeBody(b, &out)) << "kind 65536";

  Version with_bool = MinimalVersion();
  with_bool.attrs = {{"k", true}};
  const std::string wb = EncodeBody(with_bool);
  const size_t at = wb.find(std::string("\x01k\x00\x01", 4));
  ASSERT_NE(at, std::string::npos);
  b = wb;
  b[at + 3] = 2;  // a bool that is neither 0 nor 1
  EXPECT_FALSE(DecodeBody(b, &out)) << "bool 2";
  b = wb;
  b[at + 2] = 9;  // unknown attribute tag
  EXPECT_FALSE(DecodeBody(b, &out)) << "tag 9";
}

TEST(RecordCodecTest, EveryTruncationOfABatchFailsCleanly) {
  for (const std::string& payload :
       {SampleBatch().Encode(), SampleBatchWithDrops().Encode(),
        SampleBatchWithCopies(false).Encode(), SampleBatchWithCopies(true).Encode()}) {
    for (size_t len = 0; len < payload.size(); ++len) {
      std::unique_ptr<char[]> exact(new char[len + 1]);
      std::memcpy(exact.get(), payload.data(), len);
      BatchContents out;
      Status s = DecodeBatch(std::string_view(exact.get(), len), "WAL record LSN 3", &out);
      ASSERT_TRUE(s.IsCorruption()) << len << ": " << s.ToString();
      EXPECT_TRUE(Contains(s.message(), "WAL record LSN 3"));
    }
  }
}

// A flipped bit must be caught, or yield a batch that re-encodes to exactly the flipped bytes (a
// different but canonical value, e.g. another float). A decode that succeeds but re-encodes
// differently means the damaged byte was a don't-care: two encodings of one batch.
void ExpectEveryBitFlipFailsOrIsCanonical(const std::string& payload) {
  size_t failed = 0, canonical = 0;
  std::vector<std::string> non_canonical;
  for (size_t byte = 0; byte < payload.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = payload;
      flipped[byte] ^= static_cast<char>(1 << bit);
      std::unique_ptr<char[]> exact(new char[flipped.size()]);
      std::memcpy(exact.get(), flipped.data(), flipped.size());
      BatchContents out;
      Status s = DecodeBatch(std::string_view(exact.get(), flipped.size()), "w", &out);
      if (!s.ok()) {
        ASSERT_TRUE(s.IsCorruption()) << s.ToString();
        ++failed;
      } else if (ReEncode(out) == flipped) {
        ++canonical;
      } else {
        const std::string again = ReEncode(out);
        non_canonical.push_back("byte " + std::to_string(byte) + " bit " + std::to_string(bit) +
                                ": decodes, re-encodes to " + std::to_string(again.size()) +
                                " bytes instead of " + std::to_string(flipped.size()));
      }
    }
  }
  std::printf(
      "%zu-byte batch, %zu bit flips: %zu rejected, %zu decode to another canonical "
      "batch, %zu decode but are not canonical\n",
      payload.size(), payload.size() * 8, failed, canonical, non_canonical.size());
  std::string examples;
  for (size_t i = 0; i < non_canonical.size() && i < 10; ++i) examples += "\n  " + non_canonical[i];
  EXPECT_TRUE(non_canonical.empty()) << non_canonical.size() << " flips decode to a batch whose "
                                     << "encoding differs from the input, e.g.:" << examples;
}

TEST(RecordCodecTest, EveryBitFlipOfABatchFailsOrIsCanonical) {
  ExpectEveryBitFlipFailsOrIsCanonical(SampleBatch().Encode());
}

TEST(RecordCodecTest, EveryBitFlipOfABatchWithDropsFailsOrIsCanonical) {
  ExpectEveryBitFlipFailsOrIsCanonical(SampleBatchWithDrops().Encode());
}

TEST(RecordCodecTest, EveryBitFlipOfABatchWithBlobCopiesFailsOrIsCanonical) {
  ExpectEveryBitFlipFailsOrIsCanonical(SampleBatchWithCopies(false).Encode());
}

// Replay applies a batch's catalog changes with the effect they had in batch order, whatever
// the order of the record's sections.
TEST(RecordCodecTest, CatalogChangesApplyInBatchOrder) {
  Catalog catalog;
  catalog.AddSpace("s");
  catalog.AddField(1, "a", 8, Metric::kCosine);  // id 1
  catalog.AddField(1, "b", 16, Metric::kL2);     // id 2
  // Drop a, define a (3), drop it, define a (4); define c (5) and drop it; new space t.
  BatchContents batch;
  batch.spaces = {{2, "t"}};
  batch.fields = {{1, FieldDef{3, "a", 4, Metric::kL2}},
                  {1, FieldDef{4, "a", 2, Metric::kInnerProduct}},
                  {1, FieldDef{5, "c", 3, Metric::kCosine}},
                  {2, FieldDef{1, "a", 8, Metric::kCosine}}};
  batch.drops = {{1, 1}, {1, 3}, {1, 5}};
  Status s = ApplyCatalogChanges(batch, "WAL record LSN 5", &catalog);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const SpaceDef& space = *catalog.FindSpace("s");
  ASSERT_EQ(space.fields.size(), 5u);
  EXPECT_TRUE(space.fields[0].dropped);
  EXPECT_FALSE(space.fields[1].dropped);
  EXPECT_TRUE(space.fields[2].dropped);
  EXPECT_FALSE(space.fields[3].dropped);
  EXPECT_TRUE(space.fields[4].dropped);
  ASSERT_NE(space.FindField("a"), nullptr);
  EXPECT_EQ(space.FindField("a")->id, 4u);
  EXPECT_EQ(space.FindField("a")->dim, 2u);
  EXPECT_EQ(space.FindField("c"), nullptr);
  EXPECT_EQ(space.FindFieldEvenDropped("c")->id, 5u);
  EXPECT_EQ(space.LiveFieldById(1), nullptr);
  EXPECT_EQ(space.FieldById(1)->name, "a");
  EXPECT_EQ(catalog.FindSpace("t")->FindField("a")->id, 1u);
}

TEST(RecordCodecTest, CatalogChangesThatDoNotFitAreCorruptionNamingWhere) {
  Catalog base;
  base.AddSpace("s");
  base.AddField(1, "a", 8, Metric::kCosine);
  struct Case {
    const char* what;
    std::vector<FieldEntry> fields;
    std::vector<FieldDropEntry> drops;
  };
  const Case cases[] = {
      {"drop of an unknown field", {}, {{1, 2}}},
      {"drop of a field of an unknown space", {}, {{2, 1}}},
      {"the same field dropped twice", {}, {{1, 1}, {1, 1}}},
      {"a new field dropped twice", {{1, FieldDef{2, "b", 1, Metric::kL2}}}, {{1, 2}, {1, 2}}},
      {"a live name defined again", {{1, FieldDef{2, "a", 1, Metric::kL2}}}, {}},
      {"a name defined twice, dropped once",
       {{1, FieldDef{2, "b", 1, Metric::kL2}}, {1, FieldDef{3, "b", 1, Metric::kL2}}},
       {{1, 3}}},
  };
  for (const Case& c : cases) {
    Catalog catalog = base;
    BatchContents batch;
    batch.fields = c.fields;
    batch.drops = c.drops;
    Status s = ApplyCatalogChanges(batch, "WAL record LSN 8", &catalog);
    EXPECT_TRUE(s.IsCorruption()) << c.what << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "WAL record LSN 8")) << c.what << ": " << s.ToString();
  }
}

// The same property stated on the smallest case: a varint with a redundant zero continuation.
TEST(RecordCodecTest, NonCanonicalVarintsAreRejected) {
  const std::string body = EncodeBody(MinimalVersion());
  ASSERT_EQ(body[0], 1);                                             // id 1
  std::string padded = std::string("\x81\x00", 2) + body.substr(1);  // id 1 in two bytes
  Version out;
  EXPECT_FALSE(DecodeBody(padded, &out))
      << "id 1 encoded as 81 00 decodes; re-encoding gives a different, shorter body";
}

// --- format 4: the trace graph (episodes and edges)

index::EdgeVersion SampleEdge(uint64_t from, uint64_t to, uint32_t type, uint32_t number) {
  index::EdgeVersion e;
  e.key = {from, to, type};
  e.space_id = 2;
  e.number = number;
  e.weight = -0.125f;
  e.valid_from = -7;
  e.valid_to = 1'700'000'000'000'000;
  return e;
}

// Sample versions in episodes and edges of every shape: a built-in and an application type,
// an unlink, extreme ids, times and weights.
struct TraceBatch {
  Timestamp commit_time = 1'700'000'000'000'123;
  std::vector<Version> versions = {FullVersion(), MinimalVersion(), RetiredVersion()};
  std::vector<index::EdgeVersion> edges;
  std::vector<BlobCopy> copies;
  std::vector<PurgeEntry> purges;
  TraceBatch() {
    versions[0].episode = "session-42";
    versions[2].episode = std::string("\0\xff", 2);
    index::EdgeVersion unlink = SampleEdge(300, 1, 6, 7);
    unlink.unlinked = true;
    unlink.valid_to = kForever;
    unlink.weight = 0.0f;
    index::EdgeVersion app = SampleEdge(kBatchRefBit - 1, 2, UINT32_MAX, UINT32_MAX);
    app.valid_from = kBeginningOfTime;
    app.weight = std::numeric_limits<float>::max();
    edges = {SampleEdge(1, 300, 1, 1), unlink, app};
  }
  std::string Encode() const {
    std::vector<const Version*> ptrs;
    for (const Version& v : versions) ptrs.push_back(&v);
    std::vector<const index::EdgeVersion*> edge_ptrs;
    for (const index::EdgeVersion& e : edges) edge_ptrs.push_back(&e);
    std::string out;
    EncodeBatch(commit_time, SampleSpaces(), SampleFields(), {}, ptrs, &out, copies, edge_ptrs,
                purges);
    return out;
  }
};

TEST(RecordCodecTest, BatchWithEdgesAndEpisodesRoundTripsInFormat4) {
  TraceBatch batch;
  const std::string payload = batch.Encode();
  EXPECT_EQ(payload[0], 4);
  BatchContents out;
  Status s = DecodeBatch(payload, "WAL record LSN 7", &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(out.versions.size(), batch.versions.size());
  for (size_t i = 0; i < batch.versions.size(); ++i) {
    Version expected = batch.versions[i];
    expected.tx_from = batch.commit_time;
    expected.lsn = 0;
    EXPECT_TRUE(out.versions[i]->SameContent(expected)) << i;
    EXPECT_EQ(out.versions[i]->episode, batch.versions[i].episode) << i;
  }
  ASSERT_EQ(out.edges.size(), batch.edges.size());
  for (size_t i = 0; i < batch.edges.size(); ++i) {
    index::EdgeVersion expected = batch.edges[i];
    expected.tx_from = batch.commit_time;  // every edge of a batch commits at its time
    expected.lsn = 0;
    EXPECT_TRUE(out.edges[i]->SameContent(expected)) << i;
    EXPECT_EQ(out.edges[i]->prev, nullptr);
  }
  EXPECT_EQ(ReEncode(out), payload);
  // Without copies, the same.
  BatchContents head;
  ASSERT_TRUE(DecodeBatchWithoutCopies(payload, "w", &head).ok());
  ASSERT_EQ(head.edges.size(), 3u);
  EXPECT_TRUE(head.edges[2]->SameContent(*out.edges[2]));
}

TEST(RecordCodecTest, Format4IsWrittenForAnEpisodeOrAnEdgeAlone) {
  {
    TraceBatch only_episode;
    only_episode.edges.clear();
    const std::string payload = only_episode.Encode();
    EXPECT_EQ(payload[0], 4);
    BatchContents out;
    ASSERT_TRUE(DecodeBatch(payload, "w", &out).ok());
    EXPECT_EQ(out.versions[0]->episode, "session-42");
    EXPECT_TRUE(out.edges.empty());
    EXPECT_EQ(ReEncode(out), payload);
  }
  {
    TraceBatch only_edges;
    only_edges.versions.clear();
    const std::string payload = only_edges.Encode();
    EXPECT_EQ(payload[0], 4);
    BatchContents out;
    ASSERT_TRUE(DecodeBatch(payload, "w", &out).ok());
    EXPECT_EQ(out.edges.size(), 3u);
    EXPECT_EQ(ReEncode(out), payload);
  }
  {
    TraceBatch neither;
    neither.edges.clear();
    for (Version& v : neither.versions) v.episode.clear();
    EXPECT_EQ(neither.Encode()[0], 1) << "a batch without trace content keeps format 1";
  }
}

TEST(RecordCodecTest, Format4WithBlobCopiesRoundTrips) {
  TraceBatch batch;
  batch.versions[0].payload = RefTo(kLoggedPayload, 3, 4096);
  batch.copies = {BlobCopy{batch.versions[0].payload, kLoggedPayload}};
  const std::string payload = batch.Encode();
  EXPECT_EQ(payload[0], 4);
  BatchContents out;
  Status s = DecodeBatch(payload, "w", &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(out.copies.size(), 1u);
  EXPECT_EQ(out.copies[0].bytes, kLoggedPayload);
  EXPECT_EQ(out.edges.size(), 3u);
  EXPECT_EQ(ReEncode(out), payload);
}

// Each invariant DecodeEdgeBody promises, violated once in an otherwise valid batch: always
// Corruption naming the edge.
TEST(RecordCodecTest, EveryEdgeInvariantIsEnforced) {
  struct Case {
    const char* what;
    index::EdgeVersion e;
  };
  std::vector<Case> cases;
  auto with = [&](const char* what, auto mutate) {
    index::EdgeVersion e = SampleEdge(1, 300, 2, 1);
    mutate(e);
    cases.push_back({what, e});
  };
  with("self-loop", [](auto& e) { e.key.to = e.key.from; });
  with("type 0", [](auto& e) { e.key.type = 0; });
  with("type 7 (reserved)", [](auto& e) { e.key.type = 7; });
  with("type 999 (reserved)", [](auto& e) { e.key.type = 999; });
  with("NaN weight", [](auto& e) { e.weight = std::numeric_limits<float>::quiet_NaN(); });
  with("infinite weight", [](auto& e) { e.weight = std::numeric_limits<float>::infinity(); });
  with("-infinite weight", [](auto& e) { e.weight = -std::numeric_limits<float>::infinity(); });
  with("valid_from == valid_to", [](auto& e) { e.valid_to = e.valid_from; });
  with("valid_from > valid_to", [](auto& e) { e.valid_to = e.valid_from - 1; });
  with("version 0", [](auto& e) { e.number = 0; });
  with("space 0", [](auto& e) { e.space_id = 0; });
  with("from 0", [](auto& e) { e.key.from = 0; });
  with("to 0", [](auto& e) { e.key.to = 0; });
  with("placeholder from", [](auto& e) { e.key.from = kBatchRefBit | 1; });
  with("placeholder to", [](auto& e) { e.key.to = kBatchRefBit; });
  for (const Case& c : cases) {
    TraceBatch batch;
    batch.edges[1] = c.e;
    const std::string payload = batch.Encode();
    BatchContents out;
    Status s = DecodeBatch(payload, "WAL record LSN 5", &out);
    EXPECT_TRUE(s.IsCorruption()) << c.what << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "edge 1")) << c.what << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "WAL record LSN 5")) << c.what << ": " << s.ToString();
    s = DecodeBatchWithoutCopies(payload, "w", &out);
    EXPECT_TRUE(s.IsCorruption()) << c.what << " (without copies): " << s.ToString();
  }
  // The unlinked flag is a 0/1 byte: 2 is Corruption. It sits right after the weight.
  std::string body;
  EncodeEdgeBody(SampleEdge(1, 300, 2, 1), &body);
  Decoder ok(body);
  index::EdgeVersion e;
  ASSERT_TRUE(DecodeEdgeBody(&ok, &e));
  EXPECT_TRUE(ok.empty());
  // space 2, from 1, to 300 (2 bytes), type 2, number 1, weight (4 bytes): the flag at 10.
  ASSERT_EQ(body[10], 0);
  body[10] = 2;
  Decoder bad(body);
  EXPECT_FALSE(DecodeEdgeBody(&bad, &e));
}

// A version's episode in a format 4 batch is bounded like a name.
TEST(RecordCodecTest, OverlongEpisodeIsCorruption) {
  TraceBatch batch;
  batch.versions[1].episode = std::string(kMaxDecodedName + 1, 'e');
  BatchContents out;
  Status s = DecodeBatch(batch.Encode(), "w", &out);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  batch.versions[1].episode.resize(kMaxDecodedName);
  s = DecodeBatch(batch.Encode(), "w", &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

// "Exactly one encoding": a format 4 batch that holds neither an edge nor a version in an
// episode would be written in an older format, so the decoder must refuse it, or a damaged
// format byte could pass for a different batch encoding.
TEST(RecordCodecTest, Format4WithoutTraceContentIsCorruption) {
  TraceBatch batch;
  batch.edges.clear();
  for (Version& v : batch.versions) v.episode.clear();
  batch.versions[0].episode = "EPISODE-MARK";  // encode as format 4, then empty it by hand
  std::string payload = batch.Encode();
  ASSERT_EQ(payload[0], 4);
  const std::string with_x = std::string(1, '\x0c') + "EPISODE-MARK";
  const size_t at = payload.find(with_x);
  ASSERT_NE(at, std::string::npos);
  payload.replace(at, with_x.size(), std::string(1, '\0'));
  BatchContents out;
  Status s = DecodeBatch(payload, "w", &out);
  EXPECT_TRUE(s.IsCorruption()) << "decodes; re-encodes to format " << int(ReEncode(out)[0]);
}

TEST(RecordCodecTest, EveryTruncationOfAFormat4BatchFailsCleanly) {
  TraceBatch with_copies;
  with_copies.versions[0].payload = RefTo(kLoggedPayload, 3, 4096);
  with_copies.copies = {BlobCopy{with_copies.versions[0].payload, kLoggedPayload}};
  for (const std::string& payload : {TraceBatch().Encode(), with_copies.Encode()}) {
    for (size_t len = 0; len < payload.size(); ++len) {
      std::unique_ptr<char[]> exact(new char[len + 1]);
      std::memcpy(exact.get(), payload.data(), len);
      BatchContents out;
      Status s = DecodeBatch(std::string_view(exact.get(), len), "WAL record LSN 3", &out);
      ASSERT_TRUE(s.IsCorruption()) << len << ": " << s.ToString();
    }
  }
}

TEST(RecordCodecTest, EveryBitFlipOfAFormat4BatchFailsOrIsCanonical) {
  ExpectEveryBitFlipFailsOrIsCanonical(TraceBatch().Encode());
}

// Format 5: format 4's sections and the purged cubes, which decode in order; a purge-only
// batch is format 5 too; a format 5 batch without a purge, or naming id 0 or a placeholder, is
// Corruption (one encoding per batch, and ids a purge can name).
TEST(RecordCodecTest, PurgesRoundTripInFormat5) {
  TraceBatch batch;
  batch.purges = {PurgeEntry{2, 300}, PurgeEntry{1, kBatchRefBit - 1}};
  const std::string payload = batch.Encode();
  ASSERT_EQ(payload[0], 5);
  BatchContents out;
  Status s = DecodeBatch(payload, "WAL record LSN 9", &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(out.purges, batch.purges);
  EXPECT_EQ(out.edges.size(), batch.edges.size());
  EXPECT_EQ(ReEncode(out), payload);
  BatchContents lenient;
  ASSERT_TRUE(DecodeBatchWithoutCopies(payload, "w", &lenient).ok());
  EXPECT_EQ(lenient.purges, batch.purges);

  std::string only;
  const std::vector<PurgeEntry> one = {PurgeEntry{3, 7}};
  EncodeBatch(5, {}, {}, {}, {}, &only, {}, {}, one);
  ASSERT_EQ(only, std::string("\x05\x0a\x00\x00\x00\x00\x00\x01\x03\x07\x00", 11));
  ASSERT_TRUE(DecodeBatch(only, "w", &out).ok());
  EXPECT_EQ(out.purges, one);
  for (const std::string& bad : {std::string("\x05\x0a\x00\x00\x00\x00\x00\x00\x00", 9),
                                 std::string("\x05\x0a\x00\x00\x00\x00\x00\x01\x03\x00\x00", 11)}) {
    s = DecodeBatch(bad, "WAL record LSN 9", &out);
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  }
  std::string placeholder;
  PutVarint64(&placeholder, kBatchRefBit | 1);
  std::string with_placeholder =
      std::string("\x05\x0a\x00\x00\x00\x00\x00\x01\x03", 9) + placeholder + std::string(1, '\0');
  EXPECT_TRUE(DecodeBatch(with_placeholder, "w", &out).IsCorruption());
}

TEST(RecordCodecTest, EveryTruncationAndBitFlipOfAFormat5BatchFailsOrIsCanonical) {
  TraceBatch batch;
  batch.purges = {PurgeEntry{2, 300}};
  const std::string payload = batch.Encode();
  for (size_t len = 0; len < payload.size(); ++len) {
    BatchContents out;
    ASSERT_TRUE(DecodeBatch(payload.substr(0, len), "w", &out).IsCorruption()) << len;
  }
  ExpectEveryBitFlipFailsOrIsCanonical(payload);
}

}  // namespace
}  // namespace loci::engine
