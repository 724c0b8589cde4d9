#include "hookd/core/numbered_file.h"

#include <catch2/catch.hpp>

using hookd::numbered_file;
using hookd::numbered_file_number;

TEST_CASE("numbered_file names a segment with at least eight digits") {
  CHECK(numbered_file("/d", 1, "log") == std::filesystem::path("/d/00000001.log"));
  CHECK(numbered_file("/d", 123456789, "jsonl") == std::filesystem::path("/d/123456789.jsonl"));
}

TEST_CASE("numbered_file_number reads back only names numbered_file writes") {
  CHECK(numbered_file_number(numbered_file("/d", 42, "log"), "log") == 42u);
  CHECK(numbered_file_number("/d/000000007.jsonl", "jsonl") == 7u);
  CHECK(numbered_file_number("/d/999999999.log", "log") == 999999999u);
  CHECK_FALSE(numbered_file_number("/d/00000001.log", "jsonl"));
  CHECK_FALSE(numbered_file_number("/d/00000001.jsonl", "log"));
  CHECK_FALSE(numbered_file_number("/d/1234567890.log", "log"));  // ten digits
  CHECK_FALSE(numbered_file_number("/d/.log", "log"));
  CHECK_FALSE(numbered_file_number("/d/log", "log"));
  CHECK_FALSE(numbered_file_number("/d/12a4.log", "log"));
  CHECK_FALSE(numbered_file_number("/d/-1.log", "log"));
  CHECK_FALSE(numbered_file_number("/d/00000001xlog", "log"));
  CHECK_FALSE(numbered_file_number("/d/00000001.log.tmp", "log"));
}
