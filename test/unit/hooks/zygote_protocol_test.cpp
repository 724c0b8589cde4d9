// The zygote protocol's records as tables: what encodes to what, what a
// decoder makes of well-formed records, and which malformed ones it refuses.
#include "hookd/hooks/zygote_protocol.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using hookd::decode_zygote_message;
using hookd::encode_zygote_message;
using hookd::ZygoteMessage;
using Tag = hookd::ZygoteTag;
using Type = hookd::ZygoteMessageType;
using namespace std::string_literals;

TEST_CASE("zygote records are length, version, type, then tag-length-value fields",
          "[zygote_protocol]") {
  ZygoteMessage m{Type::reap, {}};
  m.add_u64(Tag::run_id, 0x0102);
  m.add(Tag::error, "ab");
  CHECK(encode_zygote_message(m) ==
        "\x00\x00\x00\x16"s  // 22 bytes follow
        "\x01\x03"s          // version 1, REAP
        "\x01\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x01\x02"s
        "\x0a\x00\x00\x00\x02"
        "ab"s);
  CHECK(encode_zygote_message(ZygoteMessage{Type::ready, {}}) == "\x00\x00\x00\x02\x01\x10"s);
}

TEST_CASE("zygote records decode to what was encoded", "[zygote_protocol]") {
  ZygoteMessage run{Type::run, {}};
  run.add_u64(Tag::run_id, 7);
  run.add(Tag::script, "/s.py");
  run.add(Tag::env, "A=1");
  run.add(Tag::env, "B=");
  run.add(Tag::env, std::string("BIN=\0\xff", 6));
  run.add(Tag::cwd, "");
  auto decoded = decode_zygote_message(encode_zygote_message(run));
  REQUIRE(decoded.ok());
  CHECK(decoded->type == Type::run);
  CHECK(decoded->fields == run.fields);
  CHECK(decoded->get_u64(Tag::run_id) == 7u);
  CHECK(decoded->get(Tag::script) == std::string_view("/s.py"));
  CHECK(decoded->all(Tag::env) ==
        std::vector<std::string_view>{"A=1", "B=", std::string_view("BIN=\0\xff", 6)});
  CHECK(decoded->get(Tag::cwd) == std::string_view(""));
  CHECK_FALSE(decoded->get(Tag::pid).has_value());
  // Not a u64: absent, or of another length.
  CHECK_FALSE(decoded->get_u64(Tag::pid).has_value());
  CHECK_FALSE(decoded->get_u64(Tag::script).has_value());
}

TEST_CASE("malformed zygote records are refused with the reason", "[zygote_protocol]") {
  struct Row {
    std::string record, error;
  };
  std::vector<Row> rows = {
      {""s, "record shorter than its header"},
      {"\x00\x00\x00\x02\x01"s, "record shorter than its header"},
      {"\x00\x00\x00\x03\x01\x10"s, "record length 3 but 2 bytes follow it"},
      {"\x00\x00\x00\x01\x01\x10"s, "record length 1 but 2 bytes follow it"},
      {"\x00\x00\x00\x02\x02\x10"s, "protocol version 2"},
      {"\x00\x00\x00\x04\x01\x10\x01\x00"s, "field header cut short"},
      {"\x00\x00\x00\x08\x01\x10\x01\x00\x00\x00\x02x"s, "field longer than the record"},
      {"\x00\x00\x00\x07\x01\x10\x01\xff\xff\xff\xff"s, "field longer than the record"},
  };
  for (const auto& row : rows) {
    INFO("record of " << row.record.size() << " bytes");
    auto decoded = decode_zygote_message(row.record);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().message == row.error);
  }
}

TEST_CASE("an unknown message type or tag decodes, for the caller to judge", "[zygote_protocol]") {
  auto decoded = decode_zygote_message("\x00\x00\x00\x08\x01\x63\x77\x00\x00\x00\x01z"s);
  REQUIRE(decoded.ok());
  CHECK(static_cast<int>(decoded->type) == 0x63);
  REQUIRE(decoded->fields.size() == 1);
  CHECK(static_cast<int>(decoded->fields[0].first) == 0x77);
  CHECK(decoded->fields[0].second == "z");
}
