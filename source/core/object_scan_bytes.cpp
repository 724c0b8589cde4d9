// scan_object's first reader: one pass over the body's bytes, without
// Boost.JSON's parser or its handler calls. It takes the common body, whose
// payload becomes its compact JSON just by leaving out the whitespace
// between tokens: strings with no escape other than \" \\ \b \t \n \f \r
// (the serializer writes exactly these), integers of up to 18 digits (no
// "-0"), no fractions or exponents, no repeated key in the payload, root
// member names and named strings with no escape at all. What it takes it
// validates as Boost.JSON does (RFC 8259; UTF-8 as Unicode's table 3-7,
// which is Boost's classify_utf8; nesting within max_depth); everything else
// it declines, and the basic_parser reader decides.
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "hookd/core/object_scan.h"

namespace hookd {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxDepth = 64;      // open arrays and objects, the root included
constexpr std::size_t kMaxOpenKeys = 128;  // keys of the payload's open objects
constexpr std::size_t kMaxDigits = 18;     // always an int64, written back as it was
constexpr std::size_t kOther = kMaxScannedMembers;

// How a byte inside a string is read.
enum : unsigned char { kPlain, kQuote, kBackslash, kControl, kHigh };

constexpr std::array<unsigned char, 256> make_string_classes() {
  std::array<unsigned char, 256> classes{};
  for (std::size_t c = 0; c < 256; ++c) {
    classes[c] = c < 0x20 ? kControl : c >= 0x80 ? kHigh : kPlain;
  }
  classes['"'] = kQuote;
  classes['\\'] = kBackslash;
  return classes;
}
constexpr std::array<unsigned char, 256> kStringClasses = make_string_classes();

// The first byte at or after `p` that is not plain inside a string, or
// `end`; sixteen bytes at a time with SSE2 (every x86-64 has it). One
// signed compare flags both the control characters and the bytes >= 0x80.
const char* skip_plain(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i special =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)),
                     _mm_cmplt_epi8(bytes, space));
    if (const int mask = _mm_movemask_epi8(special); mask != 0) {
      return p + std::countr_zero(static_cast<unsigned>(mask));
    }
    p += 16;
  }
#endif
  while (p < end && kStringClasses[static_cast<unsigned char>(*p)] == kPlain)
    ++p;
  return p;
}

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// The length of the well-formed UTF-8 sequence at `p` (a byte >= 0x80), 0
// when there is none: no overlong forms, surrogates or code points past
// U+10FFFF.
std::size_t utf8_sequence(const char* p, const char* end) {
  const auto lead = static_cast<unsigned char>(p[0]);
  std::size_t size = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    size = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    size = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    size = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (static_cast<std::size_t>(end - p) < size) return 0;
  const auto second = static_cast<unsigned char>(p[1]);
  if (second < low || second > high) return 0;
  for (std::size_t i = 2; i < size; ++i) {
    if ((static_cast<unsigned char>(p[i]) & 0xC0) != 0x80) return 0;
  }
  return size;
}

// Every member function returns false to decline; the body is then read
// again by the basic_parser reader, so nothing here decides an error.
class ByteScanner {
 public:
  ByteScanner(std::string_view body, const ObjectScan& scan, ScannedObject& out)
      : p_(body.data()),
        end_(body.data() + body.size()),
        scan_(scan),
        out_(out),
        max_depth_(std::min(scan.max_depth, kMaxDepth)) {}

  bool run() {
    space();
    if (peek() != '{' || max_depth_ < 1) return false;
    ++p_;
    space();
    if (peek() == '}') {
      ++p_;
    } else {
      for (;;) {
        std::string_view key;
        if (peek() != '"' || !string(false, key)) return false;
        space();
        if (peek() != ':') return false;
        ++p_;
        space();
        if (!root_member(member_named(key))) return false;
        const Next next = after<false>('}');
        if (next == Next::closed) break;
        if (next == Next::bad) return false;
      }
    }
    space();
    return p_ == end_;
  }

 private:
  char peek() const { return p_ < end_ ? *p_ : '\0'; }

  void space() {
    while (p_ < end_ && is_space(*p_))
      ++p_;
  }

  std::size_t member_named(std::string_view name) const {
    for (std::size_t i = 0; i < scan_.names.size(); ++i) {
      if (scan_.names[i] == name) return i;
    }
    return kOther;
  }

  // A string whose opening quote is at p_; `contents` is what is between
  // the quotes. `escapes`: the serializer's own escapes may appear (they
  // are copied as they are); otherwise none may.
  bool string(bool escapes, std::string_view& contents) {
    const char* begin = ++p_;
    for (;;) {
      p_ = skip_plain(p_, end_);
      if (p_ == end_) return false;
      switch (kStringClasses[static_cast<unsigned char>(*p_)]) {
        case kQuote:
          contents = {begin, static_cast<std::size_t>(p_ - begin)};
          ++p_;
          return true;
        case kBackslash: {
          if (!escapes || end_ - p_ < 2) return false;
          const char c = p_[1];
          if (c != '"' && c != '\\' && c != 'b' && c != 't' && c != 'n' && c != 'f' && c != 'r') {
            return false;  // \/ and \u are written differently by the serializer
          }
          p_ += 2;
          break;
        }
        case kHigh: {
          const std::size_t size = utf8_sequence(p_, end_);
          if (size == 0) return false;
          p_ += size;
          break;
        }
        default:
          return false;  // a control character
      }
    }
  }

  // An integer as the serializer writes its value back, or one of the three
  // literals; `kind` is what Boost.JSON would make of it.
  bool scalar(json::kind& kind) {
    const char c = peek();
    if (c == 't' || c == 'f' || c == 'n') {
      const std::string_view word = c == 't' ? "true" : c == 'f' ? "false" : "null";
      if (static_cast<std::size_t>(end_ - p_) < word.size() ||
          std::memcmp(p_, word.data(), word.size()) != 0) {
        return false;
      }
      p_ += word.size();
      kind = c == 'n' ? json::kind::null : json::kind::bool_;
      return true;
    }
    const bool negative = c == '-';
    if (negative) ++p_;
    const char* digits = p_;
    if (!is_digit(peek())) return false;
    if (*p_ == '0') {
      ++p_;
      if (negative) return false;  // -0: Boost.JSON writes it back as 0
    } else {
      while (p_ < end_ && is_digit(*p_))
        ++p_;
    }
    if (static_cast<std::size_t>(p_ - digits) > kMaxDigits) return false;
    const char next = peek();
    if (is_digit(next) || next == '.' || next == 'e' || next == 'E') return false;
    kind = json::kind::int64;
    return true;
  }

  // The value of a root member (at depth 1; its arrays and objects open at
  // depth 2), recorded when the member is named: the last one counts.
  bool root_member(std::size_t index) {
    if (index == kOther) return value<false>(2);
    ScannedMember& member = out_.members[index];
    member.present = true;
    member.text.clear();
    member.strings.clear();
    member.strings_only = true;
    switch (peek()) {
      case '{':
        member.kind = json::kind::object;
        return index == scan_.payload ? payload(member.text) : value<false>(2);
      case '[':
        member.kind = json::kind::array;
        return strings(member);
      case '"': {
        member.kind = json::kind::string;
        std::string_view text;
        if (!string(false, text)) return false;
        member.text.assign(text);
        return true;
      }
      default:
        return scalar(member.kind);
    }
  }

  // A named member's array (depth 2): its string elements are kept.
  bool strings(ScannedMember& member) {
    if (2 >= max_depth_) return false;
    ++p_;
    space();
    if (peek() == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      if (peek() == '"') {
        std::string_view text;
        if (!string(false, text)) return false;
        member.strings.emplace_back(text);
      } else {
        member.strings_only = false;
        if (!value<false>(3)) return false;
      }
      const Next next = after<false>(']');
      if (next != Next::more) return next == Next::closed;
    }
  }

  // The payload object at p_, copied into `text` without the whitespace
  // between its tokens.
  bool payload(std::string& text) {
    text.resize(static_cast<std::size_t>(end_ - p_));  // at most the rest of the body
    cursor_ = text.data();
    copied_to_ = p_;
    keys_used_ = 0;
    if (!value<true>(2)) return false;
    copy_run();
    text.resize(static_cast<std::size_t>(cursor_ - text.data()));
    return true;
  }

  // Copies the bytes read since the last gap.
  void copy_run() {
    const auto size = static_cast<std::size_t>(p_ - copied_to_);
    std::memcpy(cursor_, copied_to_, size);
    cursor_ += size;
  }

  // space() inside the payload: the whitespace is left out of the copy.
  void payload_space() {
    if (p_ == end_ || !is_space(*p_)) return;
    copy_run();
    space();
    copied_to_ = p_;
  }

  // Any value; its arrays and objects open at `depth`. kCopy: inside the
  // payload, which is copied without its whitespace and whose keys must not
  // repeat.
  template <bool kCopy>
  bool value(std::size_t depth) {
    const char open = peek();
    if (open == '"') {
      std::string_view ignored;
      return string(true, ignored);
    }
    if (open != '{' && open != '[') {
      json::kind ignored;
      return scalar(ignored);
    }
    if (depth >= max_depth_) return false;
    const char close = open == '{' ? '}' : ']';
    const std::size_t keys_begin = keys_used_;
    ++p_;
    gap<kCopy>();
    if (peek() == close) {
      ++p_;
      return true;
    }
    for (;;) {
      if (open == '{' && !key<kCopy>(keys_begin)) return false;
      if (!value<kCopy>(depth + 1)) return false;
      const Next next = after<kCopy>(close);
      if (next == Next::closed) break;
      if (next == Next::bad) return false;
    }
    keys_used_ = keys_begin;
    return true;
  }

  enum class Next { more, closed, bad };

  // After a member or element: its container's `close`, or a ',' and more.
  template <bool kCopy>
  Next after(char close) {
    gap<kCopy>();
    const char c = peek();
    ++p_;
    if (c == close) return Next::closed;
    if (c != ',') return Next::bad;
    gap<kCopy>();
    return Next::more;
  }

  template <bool kCopy>
  void gap() {
    if constexpr (kCopy) {
      payload_space();
    } else {
      space();
    }
  }

  // A key and its ':'. The tree keeps one value per key, so a repeated key
  // in the payload is left to it. Keys are compared as written: with only
  // the serializer's escapes allowed, equal texts are equal keys and back.
  template <bool kCopy>
  bool key(std::size_t keys_begin) {
    std::string_view key;
    if (peek() != '"' || !string(true, key)) return false;
    if constexpr (kCopy) {
      for (std::size_t k = keys_begin; k < keys_used_; ++k) {
        if (keys_[k].size == key.size() &&
            std::memcmp(keys_[k].data, key.data(), key.size()) == 0) {
          return false;
        }
      }
      if (keys_used_ == kMaxOpenKeys) return false;
      keys_[keys_used_++] = Key{key.data(), key.size()};
    }
    gap<kCopy>();
    if (peek() != ':') return false;
    ++p_;
    gap<kCopy>();
    return true;
  }

  const char* p_;
  const char* end_;
  const ObjectScan& scan_;
  ScannedObject& out_;
  const std::size_t max_depth_;  // an array or object opens only below it
  char* cursor_ = nullptr;       // the payload copy's end
  const char* copied_to_ = nullptr;
  // No initializers: the array would be zeroed for every body, and each
  // element is assigned before it is read.
  struct Key {
    const char* data;
    std::size_t size;
  };
  std::array<Key, kMaxOpenKeys> keys_;
  std::size_t keys_used_ = 0;
};

}  // namespace

bool scan_object_bytes(std::string_view body, const ObjectScan& scan, ScannedObject& out) {
  if (scan.names.size() > kMaxScannedMembers || scan.payload >= scan.names.size()) return false;
  return ByteScanner(body, scan, out).run();
}

}  // namespace hookd
