#include "hookd/core/object_scan.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>

#include <boost/json/array.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

namespace hookd {

namespace {

namespace json = boost::json;

// What the scan keeps track of inside the payload; beyond it, the tree reads
// the body.
constexpr std::size_t kMaxFrames = 64;     // open arrays and objects
constexpr std::size_t kMaxOpenKeys = 128;  // keys of the open objects, checked for repeats

// The payload's compact JSON, written through a cursor into a string sized
// ahead and trimmed once the payload is complete. The payload is written a
// byte or a few at a time, and std::string's push_back and append are calls
// with their own capacity checks each.
class PayloadWriter {
 public:
  void start(std::string& text, std::size_t expected) {
    text_ = &text;
    text.resize(std::max<std::size_t>(expected, 64));
    at(0);
  }
  // The text is the payload from here on.
  void finish() { text_->resize(size()); }

  void put(char c) {
    if (cursor_ == end_) grow(1);
    *cursor_++ = c;
  }
  void put(std::string_view text) {
    if (static_cast<std::size_t>(end_ - cursor_) < text.size()) grow(text.size());
    std::char_traits<char>::copy(cursor_, text.data(), text.size());
    cursor_ += text.size();
  }
  std::size_t size() const { return static_cast<std::size_t>(cursor_ - base_); }
  // Written text, valid until the next put.
  std::string_view written(std::size_t begin, std::size_t size) const {
    return {base_ + begin, size};
  }

 private:
  void at(std::size_t used) {
    base_ = text_->data();
    cursor_ = base_ + used;
    end_ = base_ + text_->size();
  }
  void grow(std::size_t more) {
    const std::size_t used = size();
    text_->resize(std::max(2 * text_->size(), used + more));
    at(used);
  }

  std::string* text_ = nullptr;
  char* base_ = nullptr;
  char* cursor_ = nullptr;
  char* end_ = nullptr;
};

// Writes `text` escaped as Boost.JSON's serializer escapes it: '"', '\\'
// and the control characters (\b \t \n \f \r, else \u00XX in lower-case
// hex); everything else, UTF-8 included, as it is.
void put_escaped(PayloadWriter& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t plain = 0;  // start of the run not yet copied
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u >= 0x20 && u != '"' && u != '\\') continue;
    out.put(text.substr(plain, i - plain));
    plain = i + 1;
    out.put('\\');
    switch (u) {
      case '"':
      case '\\':
        out.put(static_cast<char>(u));
        break;
      case '\b':
        out.put('b');
        break;
      case '\t':
        out.put('t');
        break;
      case '\n':
        out.put('n');
        break;
      case '\f':
        out.put('f');
        break;
      case '\r':
        out.put('r');
        break;
      default:
        out.put("u00");
        out.put(kHex[u >> 4]);
        out.put(kHex[u & 15]);
    }
  }
  out.put(text.substr(plain));
}

template <class Integer>
void put_integer(PayloadWriter& out, Integer n) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.put(std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

// No member: a root key the caller did not name.
constexpr std::size_t kOther = kMaxScannedMembers;

// The basic_parser handler. depth_ counts the open arrays and objects, the
// root object included: a member's value starts at depth 1, the contents of
// an object payload are at depth 2 and deeper.
class ObjectScanner {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  ObjectScanner(std::string_view body, const ObjectScan& scan, ScannedObject& out)
      : body_(body), scan_(scan), out_(out) {}

  // Whether the body is an object the scan read to its end; the tree reads
  // it otherwise.
  bool taken() const { return root_object_ && !declined_; }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
  bool on_number_part(json::string_view, json::error_code&) { return true; }

  bool on_object_begin(json::error_code& ec) {
    if (depth_ == 0) {
      depth_ = 1;
      root_object_ = true;
      return true;
    }
    if (depth_ == 1) {
      root_value(json::kind::object);
      if (member_ == scan_.payload) {
        writing_ = true;
        frames_used_ = 0;
        keys_used_ = 0;
        out_text_.start(payload().text, body_.size());
        return open(false, ec);
      }
      ++depth_;
      return true;
    }
    return nested_begins(false, ec);
  }

  bool on_object_end(std::size_t, json::error_code&) { return close('}'); }

  bool on_array_begin(json::error_code& ec) {
    if (depth_ == 0) return decline(ec);  // an array of events: the tree's
    if (depth_ == 1) {
      root_value(json::kind::array);
      if (member_ != kOther) listing_ = &out_.members[member_];
      ++depth_;
      return true;
    }
    return nested_begins(true, ec);
  }

  bool on_array_end(std::size_t, json::error_code&) { return close(']'); }

  bool on_key_part(json::string_view part, std::size_t, json::error_code& ec) {
    return key_part(part, ec);
  }

  bool on_key(json::string_view part, std::size_t, json::error_code& ec) {
    if (!key_part(part, ec)) return false;
    in_key_ = false;
    if (depth_ == 1) {
      member_ = key_fits_ ? member_named({key_, key_size_}) : kOther;
      return true;
    }
    if (!writing_) return true;
    // The tree keeps one value per key (the last, where the first stood):
    // a payload with a repeated key is left to it.
    const std::size_t size = out_text_.size() - key_begin_;
    const std::string_view key = out_text_.written(key_begin_, size);
    for (std::size_t k = frames_[frames_used_ - 1].keys_begin; k < keys_used_; ++k) {
      if (keys_[k].size == size && out_text_.written(keys_[k].begin, size) == key) {
        return decline(ec);
      }
    }
    if (keys_used_ == kMaxOpenKeys) return decline(ec);
    keys_[keys_used_++] = KeySpan{key_begin_, size};
    out_text_.put("\":");
    return true;
  }

  bool on_string_part(json::string_view part, std::size_t, json::error_code&) {
    string_part(part);
    return true;
  }

  bool on_string(json::string_view part, std::size_t, json::error_code&) {
    string_part(part);
    in_string_ = false;
    if (writing_) out_text_.put('"');
    return true;
  }

  bool on_int64(std::int64_t n, json::string_view, json::error_code&) {
    if (scalar(json::kind::int64)) put_integer(out_text_, n);
    return true;
  }

  bool on_uint64(std::uint64_t n, json::string_view, json::error_code&) {
    if (scalar(json::kind::uint64)) put_integer(out_text_, n);
    return true;
  }

  bool on_double(double d, json::string_view, json::error_code&) {
    if (!scalar(json::kind::double_)) return true;
    // As all_numbers_finite judges a payload's doubles.
    if (!std::isfinite(d)) out_.payload_finite = false;
    if (std::fabs(d) >= 9223372036854775808.0 && d == std::floor(d)) {
      out_.payload_wide_integral = true;
    }
    // Rare enough in payloads to take the serializer's own formatting.
    out_text_.put(json::serialize(json::value(d)));
    return true;
  }

  bool on_bool(bool b, json::error_code&) {
    if (scalar(json::kind::bool_)) out_text_.put(b ? "true" : "false");
    return true;
  }

  bool on_null(json::error_code&) {
    if (scalar(json::kind::null)) out_text_.put("null");
    return true;
  }

 private:
  // No default member initializers: the scanner's arrays of them would be
  // zeroed for every body, and each element is assigned before it is read.
  struct Frame {
    bool array;
    bool need_comma;
    std::size_t keys_begin;  // this object's keys in keys_
  };
  struct KeySpan {
    std::size_t begin;  // in the payload text, escaped
    std::size_t size;
  };

  ScannedMember& payload() { return out_.members[scan_.payload]; }

  // A string's or key's unescaped text, escaped again into the payload. A
  // part the parser hands over from the body itself is a run of the body
  // with no escape in it, and in valid JSON such a run holds no '"', '\\'
  // or control character: it needs no escaping.
  void append_text(json::string_view part) {
    const std::string_view text(part.data(), part.size());
    const auto at = reinterpret_cast<std::uintptr_t>(text.data());
    const auto body = reinterpret_cast<std::uintptr_t>(body_.data());
    if (at >= body && at + text.size() <= body + body_.size()) {
      out_text_.put(text);
    } else {
      put_escaped(out_text_, text);
    }
  }

  bool decline(json::error_code& ec) {
    declined_ = true;
    ec = json::error::exception;  // any error: it only stops the parser
    return false;
  }

  // The named root member `name`, or kOther.
  std::size_t member_named(std::string_view name) const {
    for (std::size_t i = 0; i < scan_.names.size(); ++i) {
      if (scan_.names[i] == name) return i;
    }
    return kOther;
  }

  // A value of a root member begins (depth 1): the last one counts.
  void root_value(json::kind kind) {
    listing_ = nullptr;
    if (member_ == kOther) return;
    ScannedMember& member = out_.members[member_];
    if (member_ == scan_.payload) {
      out_.payload_finite = true;
      out_.payload_wide_integral = false;
    }
    member.present = true;
    member.kind = kind;
    member.text.clear();
    member.strings.clear();
    member.strings_only = true;
  }

  // An element of a named member's array that is not a string.
  void not_a_string() {
    if (depth_ == 2 && listing_) listing_->strings_only = false;
  }

  // In the payload, before a value: the comma between array elements (an
  // object's comma goes before the key).
  void value_begins() {
    Frame& frame = frames_[frames_used_ - 1];
    if (!frame.array) return;
    if (frame.need_comma) out_text_.put(',');
    frame.need_comma = true;
  }

  // A scalar value: recorded at depth 1; true when it is written into the
  // payload.
  bool scalar(json::kind kind) {
    if (depth_ == 1) {
      root_value(kind);
      return false;
    }
    if (!writing_) {
      not_a_string();
      return false;
    }
    value_begins();
    return true;
  }

  // An array or object inside a member's value: written when in the payload.
  bool nested_begins(bool array, json::error_code& ec) {
    if (!writing_) {
      not_a_string();
      ++depth_;
      return true;
    }
    value_begins();
    return open(array, ec);
  }

  bool open(bool array, json::error_code& ec) {
    if (frames_used_ == kMaxFrames) return decline(ec);
    frames_[frames_used_++] = Frame{array, false, keys_used_};
    out_text_.put(array ? '[' : '{');
    ++depth_;
    return true;
  }

  bool close(char bracket) {
    --depth_;
    if (depth_ == 1) listing_ = nullptr;
    if (!writing_ || depth_ == 0) return true;
    keys_used_ = frames_[--frames_used_].keys_begin;
    out_text_.put(bracket);
    if (frames_used_ == 0) {
      writing_ = false;  // the payload object is complete
      out_text_.finish();
    }
    return true;
  }

  bool key_part(json::string_view part, json::error_code&) {
    if (!in_key_) {
      in_key_ = true;
      key_size_ = 0;
      key_fits_ = true;
      if (writing_ && depth_ > 1) {
        Frame& frame = frames_[frames_used_ - 1];
        if (frame.need_comma) out_text_.put(',');
        frame.need_comma = true;
        out_text_.put('"');
        key_begin_ = out_text_.size();
      }
    }
    if (depth_ == 1) {
      if (key_size_ + part.size() > sizeof key_) {
        key_fits_ = false;
      } else {
        std::char_traits<char>::copy(key_ + key_size_, part.data(), part.size());
        key_size_ += part.size();
      }
    } else if (writing_) {
      append_text(part);
    }
    return true;
  }

  void string_part(json::string_view part) {
    const bool first = !in_string_;
    in_string_ = true;
    if (depth_ == 1) {
      if (first) root_value(json::kind::string);
      if (member_ != kOther) out_.members[member_].text.append(part.data(), part.size());
      return;
    }
    if (!writing_) {
      if (depth_ == 2 && listing_) {
        if (first) listing_->strings.emplace_back();
        listing_->strings.back().append(part.data(), part.size());
      }
      return;
    }
    if (first) {
      value_begins();
      out_text_.put('"');
    }
    append_text(part);
  }

  std::string_view body_;
  const ObjectScan& scan_;
  ScannedObject& out_;
  std::size_t depth_ = 0;
  std::size_t member_ = kOther;
  ScannedMember* listing_ = nullptr;  // a named member's array being read
  bool root_object_ = false;
  bool declined_ = false;
  bool writing_ = false;  // inside an object payload
  bool in_key_ = false;
  bool in_string_ = false;
  char key_[kMaxScannedNameBytes] = {};  // a root key, as long as the longest name
  std::size_t key_size_ = 0;
  bool key_fits_ = true;
  std::size_t key_begin_ = 0;  // the payload key being written
  PayloadWriter out_text_;     // the payload's text, while writing_
  std::array<Frame, kMaxFrames> frames_;
  std::size_t frames_used_ = 0;
  std::array<KeySpan, kMaxOpenKeys> keys_;
  std::size_t keys_used_ = 0;
};

}  // namespace

namespace {

// Both readers set `present` before they write anything else into a
// member, so a member not present is as new: a fresh ScannedObject costs
// no assignments.
void clear(ScannedObject& out) {
  for (ScannedMember& member : out.members) {
    if (member.present) member = ScannedMember{};
  }
  out.payload_finite = true;
  out.payload_wide_integral = false;
}

}  // namespace

bool scan_object(std::string_view body, const ObjectScan& scan, ScannedObject& out) {
  clear(out);
  if (scan_object_bytes(body, scan, out)) return true;
  return scan_object_parser(body, scan, out);
}

bool scan_object_parser(std::string_view body, const ObjectScan& scan, ScannedObject& out) {
  if (scan.names.size() > kMaxScannedMembers || scan.payload >= scan.names.size()) return false;
  clear(out);
  json::parse_options options;
  options.max_depth = scan.max_depth;
  json::basic_parser<ObjectScanner> parser(options, body, scan, out);
  json::error_code ec;
  // As json::parser::write reads it: the whole body, one value, nothing after.
  const std::size_t used = parser.write_some(false, body.data(), body.size(), ec);
  return !ec && used == body.size() && parser.handler().taken();
}

}  // namespace hookd
