// Byte-string helpers for showing stored bytes on a terminal: UTF-8 validation, base64, and
// the escaping that keeps a value or a name on one line.

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

// Decodes what Base64Encode writes: standard alphabet, length a multiple of 4, '=' padding
// only at the end, and the unused bits of the last group zero, so that each byte string has
// exactly one accepted text. Returns false (leaving *bytes unspecified) for anything else.
bool Base64Decode(std::string_view text, std::string* bytes);

// `s` with backslashes, double quotes and control characters escaped (\\, \", \n, \t,
// \xNN), so that a stored value or name, whatever it holds, prints as part of one line and
// cannot forge lines or send terminal escape sequences.
std::string EscapeText(std::string_view s);

}  // namespace loci::cli

#endif  // LOCI_TOOLS_LOCI_TEXT_ENCODING_H_
