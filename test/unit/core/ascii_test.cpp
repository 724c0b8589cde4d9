// ASCII case folding and OWS trimming used for HTTP field names and tokens.
#include "hookd/core/ascii.h"

#include <catch2/catch.hpp>
#include <string>

using namespace hookd;

TEST_CASE("ascii_iequals ignores ASCII case only", "[ascii]") {
  CHECK(ascii_iequals("Content-Type", "content-type"));
  CHECK(ascii_iequals("CHUNKED", "chunked"));
  CHECK(ascii_iequals("", ""));
  CHECK_FALSE(ascii_iequals("chunked", "chunked "));
  CHECK_FALSE(ascii_iequals("a", "b"));
  // '@' and '`' sit next to 'A' and 'a'; bytes above 0x7F are not letters.
  CHECK_FALSE(ascii_iequals("@", "`"));
  CHECK_FALSE(ascii_iequals("\xC3\x89", "\xC3\xA9"));
  CHECK(ascii_iequals("\xFF", "\xFF"));
}

TEST_CASE("ascii_lower folds A-Z and nothing else", "[ascii]") {
  CHECK(ascii_lower("X-Webhook-ID") == "x-webhook-id");
  CHECK(ascii_lower("[\\]^_`{|}~@") == "[\\]^_`{|}~@");
  CHECK(ascii_lower(std::string("\xC3\x89Z\0Q", 5)) == std::string("\xC3\x89z\0q", 5));
  std::string reused(100, 'x');
  ascii_lower_assign(reused, "AbC");
  CHECK(reused == "abc");
  CHECK(reused.capacity() >= 100);
}

TEST_CASE("trim_ows strips spaces and tabs at both ends", "[ascii]") {
  CHECK(trim_ows(" \t application/json \t") == "application/json");
  CHECK(trim_ows("a b") == "a b");
  CHECK(trim_ows(" \t ").empty());
  CHECK(trim_ows("").empty());
  CHECK(trim_ows("\r\nx\r\n") == "\r\nx\r\n");  // only OWS, not line breaks
}
