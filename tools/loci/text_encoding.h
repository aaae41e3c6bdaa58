// Byte-string helpers for showing payloads: UTF-8 validation and base64.

#ifndef LOCI_TOOLS_LOCI_TEXT_ENCODING_H_
#define LOCI_TOOLS_LOCI_TEXT_ENCODING_H_

#include <string>
#include <string_view>

namespace loci::cli {

// True if `bytes` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF). NUL bytes count as valid characters.
bool IsValidUtf8(std::string_view bytes);

// Standard base64 (RFC 4648 §4) with '=' padding.
std::string Base64Encode(std::string_view bytes);

}  // namespace loci::cli

#endif  // LOCI_TOOLS_LOCI_TEXT_ENCODING_H_
