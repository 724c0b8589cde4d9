// What is kept of a hook's output: the first max_bytes exactly, the rest
// counted, however the pipe happened to cut the stream into chunks.
#include "hookd/core/utf8.h"
#include "hookd/hooks/output_capture.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

using hookd::OutputCapture;
using hookd::valid_utf8;

namespace {

struct Case {
  std::size_t max_bytes;
  std::vector<std::string> chunks;
  std::string kept;
  std::uint64_t dropped;
};

OutputCapture capture_all(std::size_t max_bytes, const std::vector<std::string>& chunks) {
  OutputCapture capture(max_bytes);
  for (const auto& chunk : chunks)
    capture.append(chunk);
  return capture;
}

}  // namespace

TEST_CASE("output capture keeps the first max_bytes and counts the rest", "[output_capture]") {
  // clang-format off
  const std::vector<Case> cases = {
    {8, {},                        "",         0},
    {8, {""},                      "",         0},
    {8, {"abc"},                   "abc",      0},
    {8, {"abcdefgh"},              "abcdefgh", 0},  // exactly the cap
    {8, {"abcd", "efgh"},          "abcdefgh", 0},  // the cap, across chunks
    {8, {"abcdefghi"},             "abcdefgh", 1},  // one over
    {8, {"abcdef", "ghij"},        "abcdefgh", 2},  // a chunk straddles the cap
    {8, {"abcdefgh", "", "i"},     "abcdefgh", 1},
    {8, {"abcdefgh", "ijk", "lm"}, "abcdefgh", 5},  // chunks past the cap only count
    {0, {"abc", "de"},             "",         5},  // nothing kept at all
    {1, {std::string(70000, 'x')}, "x",        69999},
    {4, {std::string("\0\xff\n\r\0\x01", 6)}, std::string("\0\xff\n\r", 4), 2},  // bytes as read
  };
  // clang-format on
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    auto capture = capture_all(cases[i].max_bytes, cases[i].chunks);
    CHECK(capture.kept() == cases[i].kept);
    CHECK(capture.dropped_bytes() == cases[i].dropped);
  }
}

TEST_CASE("output capture does not depend on where chunks are cut", "[output_capture]") {
  const std::string stream = "0123456789abcdefghij";
  for (std::size_t max_bytes : {0u, 1u, 7u, 19u, 20u, 21u}) {
    for (std::size_t a = 0; a <= stream.size(); ++a) {
      for (std::size_t b = a; b <= stream.size(); ++b) {
        INFO("max " << max_bytes << ", cuts at " << a << " and " << b);
        auto capture = capture_all(
            max_bytes, {stream.substr(0, a), stream.substr(a, b - a), stream.substr(b)});
        std::size_t kept = std::min(max_bytes, stream.size());
        CHECK(capture.kept() == stream.substr(0, kept));
        CHECK(capture.dropped_bytes() == stream.size() - kept);
      }
    }
  }
}

TEST_CASE("take moves the kept bytes out and keeps the count", "[output_capture]") {
  OutputCapture capture(4);
  capture.append("abcdef");
  CHECK(capture.take() == "abcd");
  CHECK(capture.kept().empty());
  CHECK(capture.dropped_bytes() == 2);
}

TEST_CASE("captured output becomes valid UTF-8 for logs and JSON", "[output_capture]") {
  const std::string bad = "\xEF\xBF\xBD";
  // clang-format off
  const std::vector<std::pair<std::string, std::string>> cases = {
    {"plain ascii\n",         "plain ascii\n"},
    {"h\xC3\xA9",             "h\xC3\xA9"},              // 2 bytes
    {"\xE2\x82\xAC",          "\xE2\x82\xAC"},           // 3 bytes
    {"\xF0\x9F\x98\x80",      "\xF0\x9F\x98\x80"},       // 4 bytes
    {"h\xC3",                 "h" + bad},                // cut by the cap
    {"\xF0\x9F\x98",          bad + bad + bad},          // cut: each byte replaced
    {"\x80x",                 bad + "x"},                // a lone continuation byte
    {"\xC0\xAF",              bad + bad},                // overlong
    {"\xED\xA0\x80",          bad + bad + bad},          // a surrogate
    {"\xF4\x90\x80\x80",      bad + bad + bad + bad},    // above U+10FFFF
    {"\xFF",                  bad},
    {std::string("a\0b", 3),  std::string("a\0b", 3)},  // NUL is valid
  };
  // clang-format on
  for (const auto& [in, out] : cases) {
    INFO(in);
    CHECK(valid_utf8(in) == out);
  }
}
