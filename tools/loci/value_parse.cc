// Argument value parsers of the loci CLI.

#include "tools/loci/value_parse.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "index/vector_field.h"

namespace loci::cli {

namespace {

Status Invalid(std::string_view what, std::string_view text, std::string_view why) {
  return Status::InvalidArgument("invalid " + std::string(what) + " '" + std::string(text) +
                                 "': " + std::string(why));
}

// An optional sign and decimal digits, nothing else: text that means an integer.
bool LooksInteger(std::string_view text) {
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) text.remove_prefix(1);
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

// A plain decimal number: digits, optional fraction, optional exponent (no inf/nan/hex).
bool LooksDecimal(std::string_view text) {
  size_t i = (!text.empty() && (text[0] == '-' || text[0] == '+')) ? 1 : 0;
  bool digits = false;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, digits = true;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, digits = true;
  }
  if (!digits) return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
    bool exponent_digits = false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, exponent_digits = true;
    if (!exponent_digits) return false;
  }
  return i == text.size();
}

}  // namespace

Result<Timestamp> ParseDuration(const std::string& text, const std::string& what) {
  static const std::pair<char, Timestamp> kUnits[] = {
      {'d', 86400LL * 1000000}, {'h', 3600LL * 1000000}, {'m', 60LL * 1000000}, {'s', 1000000}};
  const auto bad = [&] {
    return Status::InvalidArgument(what + ": '" + text +
                                   "' is not a duration (a positive whole number followed by "
                                   "d, h, m or s, e.g. 30d)");
  };
  if (text.size() < 2 || text.size() > 12) return bad();
  for (const auto& [unit, micros] : kUnits) {
    if (text.back() != unit) continue;
    Timestamp n = 0;
    for (size_t i = 0; i + 1 < text.size(); ++i) {
      if (text[i] < '0' || text[i] > '9') return bad();
      n = n * 10 + (text[i] - '0');
    }
    if (n == 0) return bad();
    return n * micros;
  }
  return bad();
}

Result<CubeId> ParseCubeId(std::string_view text) {
  CubeId id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return Invalid("cube id", text, "expected a decimal number");
  }
  return id;
}

Result<float> ParseFloat(std::string_view text) {
  std::string_view body = text;
  if (!body.empty() && body[0] == '+') body.remove_prefix(1);
  if (body.empty() || body[0] == '+') return Invalid("number", text, "empty");
  const char* first = body.data();
  const char* last = body.data() + body.size();
  float value = 0;
  auto [end, ec] = std::from_chars(first, last, value, std::chars_format::general);
  if (ec == std::errc::result_out_of_range && end == last) {
    // Too large for a float, or so small it underflows; only the latter is a usable value.
    double wide = 0;
    auto [wide_end, wide_ec] = std::from_chars(first, last, wide, std::chars_format::general);
    if (wide_ec == std::errc() && wide_end == last && std::fabs(wide) < 1.0) {
      return static_cast<float>(wide);
    }
    return Invalid("number", text, "out of range for a 32-bit float");
  }
  if (ec != std::errc() || end != last) return Invalid("number", text, "not a decimal number");
  return value;
}

Result<NamedVector> ParseVectorArg(std::string_view text) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos) {
    return Invalid("vector", text, "expected NAME=x1,x2,...");
  }
  NamedVector v;
  v.field = std::string(text.substr(0, eq));
  std::string_view rest = text.substr(eq + 1);
  if (rest.empty()) return v;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    Result<float> x = ParseFloat(item);
    if (!x.ok()) {
      return Invalid("vector", text,
                     "component " + std::to_string(v.values.size()) + ": " + x.status().message());
    }
    v.values.push_back(*x);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return v;
}

Result<Attr> ParseAttrArg(std::string_view text, bool as_string) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos) return Invalid("attribute", text, "expected KEY=VALUE");
  Attr attr;
  attr.key = std::string(text.substr(0, eq));
  const std::string_view value = text.substr(eq + 1);
  if (as_string) {
    attr.value = std::string(value);
  } else if (value == "true" || value == "false") {
    attr.value = value == "true";
  } else if (LooksInteger(value)) {
    // Exact, or refused: an integer outside int64 read as the nearest double would match, and
    // store, a different integer.
    const std::string_view digits = value[0] == '+' ? value.substr(1) : value;
    int64_t integer = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), integer);
    if (ec != std::errc() || end != digits.data() + digits.size()) {
      return Invalid("attribute", text,
                     "integer outside the signed 64-bit range (use --attr-string to store it as a "
                     "string)");
    }
    attr.value = integer;
  } else if (double d = 0;
             LooksDecimal(value) &&
             std::from_chars(value.data() + (value[0] == '+'), value.data() + value.size(), d).ec ==
                 std::errc() &&
             std::isfinite(d)) {
    attr.value = d;
  } else {
    attr.value = std::string(value);
  }
  return attr;
}

Result<uint16_t> ParseKind(std::string_view text) {
  if (text == "plaintext") return uint16_t{kPlaintext};
  if (text == "activation") return uint16_t{kActivation};
  if (text == "parametric") return uint16_t{kParametric};
  uint16_t code = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), code);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return Invalid("kind", text, "expected plaintext, activation, parametric or a code 0-65535");
  }
  return code;
}

std::string KindName(uint16_t kind) {
  switch (kind) {
    case kPlaintext:
      return "plaintext";
    case kActivation:
      return "activation";
    case kParametric:
      return "parametric";
    default:
      return std::to_string(kind);
  }
}

Result<CubeState> ParseWritableState(std::string_view text) {
  if (text == "active") return CubeState::kActive;
  if (text == "archived") return CubeState::kArchived;
  if (text == "retired") return Invalid("state", text, "use 'loci retire' to retire a cube");
  return Invalid("state", text, "expected active or archived");
}

Result<Metric> ParseMetric(std::string_view text) {
  if (std::optional<Metric> m = index::ParseMetric(text)) return *m;
  return Invalid("metric", text, "expected cosine, ip or l2");
}

std::string FormatFloat(float value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(value);
}

}  // namespace loci::cli
