// libFuzzer target: the loci command line and the parsers behind it. The first input byte picks
// the mode (modulo 8):
//
//  0-3  the whole CLI (tools/loci RunLoci, in-process): the rest of the input, split on NUL and
//       newline, becomes argv after "loci". It must never crash or throw; it exits 0, 1, 2 or 3;
//       a failure prints exactly one line ("loci: ...\n") on stderr and a success none; a
//       successful --json command prints valid JSON. Commands run against one small database
//       built at start-up in a private temporary directory: the argument "db" names it, and
//       "payload" a small binary file. So that nothing outside is ever written, '/' becomes '_'
//       (arguments cannot leave the working directory), '-' alone (standard input) becomes '_',
//       inputs naming "init" are skipped, and when a write command (put, update, retire,
//       link, unlink, fuse, import, checkpoint, salvage, purge) is named anywhere, every argument
//       that names an existing path, "db" included, is replaced by a path that does not exist:
//       writes always fail at opening, after their arguments were parsed (salvage finds no
//       source before it creates anything; import opens its FILE, only to read it).
//  4    time_format.h: ParseTime on the rest; a parsed time formats back (FormatTime) to text
//       that parses to the same time; FormatTime of the first 8 bytes parses back too.
//  5    value_parse.h numbers: ParseFloat and ParseVectorArg; FormatFloat reads back to the same
//       float (NaN stays NaN).
//  6    value_parse.h: ParseAttrArg (typed and as string; an integer is an exact int64 or
//       refused, never a double), ParseKind/KindName, ParseCubeId, ParseWritableState,
//       ParseMetric: whatever parses prints back to something that parses to the same value.
//  7    text_encoding.h / json_output.h: IsValidUtf8 against a reference decoder, Base64Encode
//       against a decoder and Base64Decode (canonical text only), and DumpJson of a cube
//       holding the bytes is valid JSON.

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "index/vector_field.h"
#include "tools/loci/json_output.h"
#include "tools/loci/run_loci.h"
#include "tools/loci/text_encoding.h"
#include "tools/loci/time_format.h"
#include "tools/loci/value_parse.h"

namespace {

namespace cli = loci::cli;

constexpr size_t kMaxArgs = 64;

// Runs the CLI with stdout and stderr captured.
struct Run {
  int code = 0;
  std::string out, err;
};

Run RunCli(const std::vector<std::string>& args) {
  std::vector<const char*> argv = {"loci"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  std::streambuf* old_out = std::cout.rdbuf(out.rdbuf());
  std::streambuf* old_err = std::cerr.rdbuf(err.rdbuf());
  Run r;
  r.code = cli::RunLoci(static_cast<int>(argv.size()), argv.data());
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// The private directory with the database "db" and the file "payload", made once per process
// with the CLI itself and removed at exit.
class Sandbox {
 public:
  Sandbox() {
    char tmpl[] = "/tmp/loci-fuzz-cli-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) Die("mkdtemp");
    dir_ = tmpl;
    payload_ = dir_ + "/payload";
    {
      std::ofstream f(payload_, std::ios::binary);
      const char bytes[] = "\x00\x01\xff\xfe \"quoted\\\" \xc3\x28 \xed\xa0\x80 \n\t\x7f end";
      f.write(bytes, sizeof(bytes) - 1);
    }
    db_ = dir_ + "/db";
    Must({"init", db_});
    Must({"put",           db_,
          "--space",       "alice",
          "--episode",     "s1",
          "--text",        "likes green tea",
          "--vector",      "e=0.1,0.2,0.3",
          "--attr",        "topic=drinks",
          "--attr",        "n=3",
          "--attr",        "x=2.5",
          "--attr-string", "s=007",
          "--source",      "chat:1",
          "--valid-from",  "2023-05-08T13:56:00Z"});
    Must({"update", db_, "1", "--text", "likes black coffee", "--vector", "e=0.3,0.2,0.1",
          "--valid-from", "2023-06-01T00:00:00Z"});
    Must({"put", db_, "--space", "bob", "--payload-file", payload_, "--kind", "activation",
          "--agent", "a\"gent\\\x01", "--importance", "0.5", "--trust", "-1e3", "--expires-at",
          "2999-01-01T00:00:00.5+02:00", "--state", "archived"});
    Must({"checkpoint", db_});
    // A parent must be in the cube's own space.
    Must({"put", db_, "--space", "alice", "--text", "after the checkpoint", "--valid-to", "forever",
          "--metric", "l2", "--vector", "f=1,2", "--parent", "1"});
    // Cube 4 in the episode of cube 1; edges 3 -> 1 (refers) and 4 -> 3 (an application type),
    // so that trace, episode, events, changes and list have something to find.
    Must({"put", db_, "--space", "alice", "--text", "next event", "--episode", "s1", "--valid-from",
          "2023-07-01T00:00:00Z"});
    Must({"link", db_, "3", "1", "--type", "refers", "--weight", "0.5"});
    Must({"link", db_, "4", "3", "--type", "1000", "--valid-from", "2023-05-08T13:56:00Z"});
    Must({"unlink", db_, "3", "1", "--type", "refers", "--valid-to", "2030-01-01T00:00:00Z"});
    Must({"retire", db_, "1", "--valid-to", "2024-01-01T00:00:00Z"});
  }
  ~Sandbox() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  const std::string& db() const { return db_; }
  const std::string& payload() const { return payload_; }

 private:
  [[noreturn]] static void Die(const std::string& what) {
    std::fprintf(stderr, "fuzz_cli_args: setting up the sandbox: %s\n", what.c_str());
    std::abort();
  }
  void Must(const std::vector<std::string>& args) {
    Run r = RunCli(args);
    if (r.code != 0) Die(args[0] + " failed: " + r.err);
  }

  std::string dir_, payload_, db_;
};

bool IsWriteCommand(const std::string& a) {
  return a == "put" || a == "update" || a == "retire" || a == "link" || a == "unlink" ||
         a == "fuse" || a == "import" || a == "checkpoint" || a == "salvage" || a == "purge";
}

bool PathExists(const std::string& p) {
  struct stat st;
  return !p.empty() && ::stat(p.c_str(), &st) == 0;
}

// Rewrites `value` (an argument, or the part after '=' of one) as the header comment says.
std::string Confine(std::string value, bool writes, const Sandbox& box) {
  for (char& c : value) {
    if (c == '/') c = '_';
  }
  if (value == "-") return "_";
  if (value == "payload") return box.payload();
  if (writes) return PathExists(value) || value == "db" ? "no-such-db" : value;
  return value == "db" ? box.db() : value;
}

void FuzzCli(std::string_view text) {
  static Sandbox* box = new Sandbox();  // never destroyed before exit: see atexit below
  static const bool cleanup = [] {
    std::atexit([] { delete box; });
    return true;
  }();
  (void)cleanup;

  std::vector<std::string> args;
  size_t start = 0;
  for (size_t i = 0; i <= text.size() && args.size() < kMaxArgs; ++i) {
    if (i == text.size() || text[i] == '\0' || text[i] == '\n') {
      args.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  bool writes = false;
  for (const std::string& a : args) {
    if (a == "init") return;
    writes |= IsWriteCommand(a);
  }
  bool json = false, help = false;
  for (std::string& a : args) {
    json |= a == "--json";
    help |= a.rfind("-h", 0) == 0 || a.rfind("--h", 0) == 0;  // help text instead of JSON
    const size_t eq = a.find('=');
    if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
      a = a.substr(0, eq + 1) + Confine(a.substr(eq + 1), writes, *box);
    } else {
      a = Confine(a, writes, *box);
    }
  }

  const Run r = RunCli(args);
  if (r.code < 0 || r.code > 3) __builtin_trap();
  if (r.code == 0) {
    if (!r.err.empty()) __builtin_trap();
    if (json && !help && !args.empty() &&
        (args[0] == "get" || args[0] == "history" || args[0] == "info" || args[0] == "trace" ||
         args[0] == "episode" || args[0] == "events" || args[0] == "changes" || args[0] == "list" ||
         args[0] == "provenance" || args[0] == "search") &&
        !nlohmann::json::accept(r.out)) {
      __builtin_trap();
    }
  } else {
    // Exactly one line, in the form every loci error has.
    if (r.err.rfind("loci: ", 0) != 0 || r.err.back() != '\n' ||
        r.err.find('\n') != r.err.size() - 1) {
      __builtin_trap();
    }
  }
}

void FuzzTime(std::string_view text, const uint8_t* data, size_t size) {
  loci::Result<loci::Timestamp> t = cli::ParseTime(text);
  if (t.ok()) {
    loci::Result<loci::Timestamp> again = cli::ParseTime(cli::FormatTime(*t));
    if (!again.ok() || *again != *t) __builtin_trap();
  } else if (!t.status().IsInvalidArgument()) {
    __builtin_trap();
  }
  int64_t raw = 0;
  std::memcpy(&raw, data, std::min<size_t>(size, 8));
  loci::Result<loci::Timestamp> back = cli::ParseTime(cli::FormatTime(raw));
  if (!back.ok() || *back != raw) __builtin_trap();
}

bool SameFloat(float a, float b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

void FuzzNumbers(std::string_view text) {
  loci::Result<float> f = cli::ParseFloat(text);
  if (f.ok()) {
    loci::Result<float> again = cli::ParseFloat(cli::FormatFloat(*f));
    if (!again.ok() || !SameFloat(*again, *f) ||
        (!std::isnan(*f) && std::signbit(*again) != std::signbit(*f))) {
      __builtin_trap();
    }
  }
  loci::Result<loci::NamedVector> v = cli::ParseVectorArg(text);
  if (v.ok()) {
    if (text.substr(0, text.find('=')) != v->field) __builtin_trap();
    std::string printed = v->field + "=";
    for (size_t i = 0; i < v->values.size(); ++i) {
      printed += (i > 0 ? "," : "") + cli::FormatFloat(v->values[i]);
    }
    loci::Result<loci::NamedVector> again = cli::ParseVectorArg(printed);
    if (!again.ok() || again->field != v->field || again->values.size() != v->values.size()) {
      __builtin_trap();
    }
    for (size_t i = 0; i < v->values.size(); ++i) {
      if (!SameFloat(again->values[i], v->values[i])) __builtin_trap();
    }
  }
}

// An optional sign and decimal digits: text ParseAttrArg must type as an exact int64 or refuse.
bool LooksInteger(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

void FuzzValues(std::string_view text) {
  for (bool as_string : {false, true}) {
    loci::Result<loci::Attr> a = cli::ParseAttrArg(text, as_string);
    const size_t eq = text.find('=');
    if (!a.ok()) {
      if (!a.status().IsInvalidArgument()) __builtin_trap();
      continue;
    }
    if (eq == std::string_view::npos || a->key != text.substr(0, eq)) __builtin_trap();
    const std::string_view value = text.substr(eq + 1);
    // An integer is never rounded into a double.
    if (!as_string && LooksInteger(value) && !std::holds_alternative<int64_t>(a->value)) {
      __builtin_trap();
    }
    if (as_string) {
      if (a->value != loci::AttrValue(std::string(value))) __builtin_trap();
    } else if (const auto* i = std::get_if<int64_t>(&a->value)) {
      loci::Result<loci::Attr> again = cli::ParseAttrArg(a->key + "=" + std::to_string(*i), false);
      if (!again.ok() || again->value != a->value) __builtin_trap();
    } else if (const auto* d = std::get_if<double>(&a->value); d && !std::isfinite(*d)) {
      __builtin_trap();  // non-finite numbers stay strings
    } else if (const auto* s = std::get_if<std::string>(&a->value); s && *s != value) {
      __builtin_trap();
    }
  }
  loci::Result<uint16_t> kind = cli::ParseKind(text);
  if (kind.ok()) {
    loci::Result<uint16_t> again = cli::ParseKind(cli::KindName(*kind));
    if (!again.ok() || *again != *kind) __builtin_trap();
  }
  loci::Result<loci::CubeId> id = cli::ParseCubeId(text);
  if (id.ok()) {
    loci::Result<loci::CubeId> again = cli::ParseCubeId(std::to_string(*id));
    if (!again.ok() || *again != *id) __builtin_trap();
  }
  loci::Result<loci::CubeState> state = cli::ParseWritableState(text);
  if (state.ok() && *state != loci::CubeState::kActive && *state != loci::CubeState::kArchived) {
    __builtin_trap();
  }
  loci::Result<loci::Metric> metric = cli::ParseMetric(text);
  if (metric.ok()) {
    loci::Result<loci::Metric> again = cli::ParseMetric(loci::index::MetricName(*metric));
    if (!again.ok() || *again != *metric) __builtin_trap();
  }
}

// RFC 3629 by its table of well-formed byte sequences (a different method from IsValidUtf8's).
bool ReferenceUtf8(std::string_view s) {
  size_t i = 0;
  auto in = [&](size_t k, uint8_t lo, uint8_t hi) {
    if (i + k >= s.size()) return false;
    const auto b = static_cast<uint8_t>(s[i + k]);
    return b >= lo && b <= hi;
  };
  while (i < s.size()) {
    const auto b = static_cast<uint8_t>(s[i]);
    size_t n;
    if (b <= 0x7F) {
      n = 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
      if (!in(1, 0x80, 0xBF)) return false;
      n = 2;
    } else if (b == 0xE0 || b == 0xED || (b >= 0xE1 && b <= 0xEF)) {
      const uint8_t lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
      if (!in(1, lo, hi) || !in(2, 0x80, 0xBF)) return false;
      n = 3;
    } else if (b >= 0xF0 && b <= 0xF4) {
      const uint8_t lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
      if (!in(1, lo, hi) || !in(2, 0x80, 0xBF) || !in(3, 0x80, 0xBF)) return false;
      n = 4;
    } else {
      return false;
    }
    i += n;
  }
  return true;
}

std::string Base64Decode(std::string_view text) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t group = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    group = (group << 6) | static_cast<uint32_t>(kAlphabet.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((group >> bits) & 0xFF);
    }
  }
  return out;
}

void FuzzEncoding(std::string_view bytes) {
  if (cli::IsValidUtf8(bytes) != ReferenceUtf8(bytes)) __builtin_trap();
  const std::string b64 = cli::Base64Encode(bytes);
  if (b64.size() != (bytes.size() + 2) / 3 * 4 || Base64Decode(b64) != bytes) __builtin_trap();
  // The CLI's strict decoder (loci import) reads the encoding back, and accepts only canonical
  // text: whatever it decodes encodes back to exactly the text it read.
  std::string decoded;
  if (!cli::Base64Decode(b64, &decoded) || decoded != bytes) __builtin_trap();
  if (cli::Base64Decode(bytes, &decoded) && cli::Base64Encode(decoded) != bytes) __builtin_trap();

  loci::MemCube cube;
  cube.id = bytes.size();
  cube.space = std::string(bytes.substr(0, 8));
  cube.payload = std::string(bytes);
  cube.payload_size = bytes.size();
  cube.source = std::string(bytes.substr(bytes.size() / 2));
  cube.agent = std::string(bytes.substr(0, bytes.size() / 3));
  cube.attrs.push_back({std::string(bytes.substr(0, 4)), std::string(bytes)});
  cube.attrs.push_back({"d", bytes.empty() ? 0.0 : std::nan("")});
  cube.vectors.push_back(
      {std::string(bytes.substr(bytes.empty() ? 0 : 1, 5)), {1.0f, std::nanf(""), -0.0f}});
  cube.valid_from = loci::kBeginningOfTime;
  if (bytes.size() >= 8) std::memcpy(&cube.tx_from, bytes.data(), 8);
  const std::string text = cli::DumpJson(cli::CubeToJson(cube));
  if (!nlohmann::json::accept(text)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
    case 4:
      FuzzTime(rest, data + 1, size - 1);
      break;
    case 5:
      FuzzNumbers(rest);
      break;
    case 6:
      FuzzValues(rest);
      break;
    case 7:
      FuzzEncoding(rest);
      break;
    default:
      FuzzCli(rest);
      break;
  }
  return 0;
}
