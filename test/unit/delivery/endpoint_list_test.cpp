// Endpoint lists: the endpoints file's lines, the specs of file and syslog
// endpoints and their errors, and what a reload changes.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "hookd/delivery/endpoint_list.h"
#include "support/support.h"

using hookd::EndpointFormat;
using hookd::EndpointSpec;

namespace {

EndpointSpec parse_ok(const std::string& text) {
  auto spec = hookd::parse_endpoint_spec(text);
  INFO(text << " -> " << (spec ? "" : spec.error().message));
  REQUIRE(spec.ok());
  return spec.value();
}

}  // namespace

TEST_CASE("an endpoints file holds one spec per line, with comments and blank lines") {
  auto lines = hookd::endpoint_file_lines(
      "# SIEM endpoints\n"
      "name=a,url=https://a/x\n"
      "\n"
      "   # indented comment\n"
      "  name=b,url=https://b/x  \r\n"
      "name=c,url=https://c/x");
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].line == 2);
  CHECK(lines[0].text == "name=a,url=https://a/x");
  CHECK(lines[1].line == 5);
  CHECK(lines[1].text == "name=b,url=https://b/x");
  CHECK(lines[2].line == 6);
  CHECK(hookd::endpoint_file_lines("").empty());
  CHECK(hookd::endpoint_file_lines("\n\n# only\n").empty());
}

TEST_CASE("file and syslog endpoint specs: the URL picks the format and its defaults") {
  EndpointSpec f = parse_ok("name=f,url=file:///var/log/hookd/events.ndjson");
  CHECK(f.format == EndpointFormat::file);
  CHECK(f.file_path == "/var/log/hookd/events.ndjson");
  CHECK(f.max_bytes == 0);
  EndpointSpec r =
      parse_ok("name=r,url=file:///tmp/e%20x.ndjson,format=file,max_bytes=100MiB,keep=3");
  CHECK(r.file_path == "/tmp/e x.ndjson");
  CHECK(r.max_bytes == 100ull << 20);
  CHECK(r.keep == 3);

  EndpointSpec t = parse_ok("name=t,url=syslog+tcp://siem.example");
  CHECK(t.format == EndpointFormat::syslog);
  CHECK(t.host == "siem.example");
  CHECK(t.port == 514);
  CHECK_FALSE(t.tls);
  CHECK(t.facility == 16);
  CHECK(t.app_name == "hookd");
  CHECK(t.syslog_body == hookd::SyslogBody::json);
  EndpointSpec s = parse_ok(
      "name=s,url=syslog+tls://[::1],format=syslog,syslog_format=cef,facility=authpriv,"
      "app_name=edge,batch=10,settle=0s");
  CHECK(s.tls);
  CHECK(s.host == "::1");
  CHECK(s.port == 6514);
  CHECK(s.syslog_body == hookd::SyslogBody::cef);
  CHECK(s.facility == 10);
  CHECK(s.app_name == "edge");
  CHECK(s.batch == 10);
  CHECK(s.settle.count() == 0);
  CHECK(parse_ok("name=p,url=syslog+tcp://127.0.0.1:1514").port == 1514);
}

TEST_CASE("file and syslog endpoint specs: each error names the key") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"name=f,url=file://host/x", R"(key "url")"},
      {"name=f,url=file:///dir/", R"(key "url")"},
      {"name=f,url=file:///x,format=ndjson", R"(key "url")"},
      {"name=f,url=https://h/x,format=file", R"(key "url")"},
      {"name=f,url=https://h/x,format=syslog", R"(key "url")"},
      {"name=f,url=syslog+tcp://h,format=webhook", R"(key "url")"},
      {"name=f,url=syslog+udp://h", R"(key "url")"},
      {"name=f,url=syslog+tcp://h:0", R"(key "url")"},
      {"name=f,url=syslog+tcp://h/path", R"(key "url")"},
      {"name=f,url=file:///x,max_bytes=10", R"(key "max_bytes")"},
      {"name=f,url=file:///x,keep=2", R"(key "keep")"},
      {"name=f,url=file:///x,max_bytes=1MiB,keep=0", R"(key "keep")"},
      {"name=f,url=file:///x,facility=user", R"(key "facility")"},
      {"name=f,url=file:///x,timeout=5s", R"(key "timeout")"},
      {"name=f,url=file:///x,gzip=on", R"(key "gzip")"},
      {"name=f,url=file:///x,header=A: b", R"(key "header")"},
      {"name=f,url=file:///x,connections=2", R"(key "connections")"},
      {"name=s,url=syslog+tcp://h,facility=local9", R"(key "facility")"},
      {"name=s,url=syslog+tcp://h,syslog_format=leef", R"(key "syslog_format")"},
      {"name=s,url=syslog+tcp://h,app_name=two words", R"(key "app_name")"},
      {"name=s,url=syslog+tcp://h,max_bytes=1MiB", R"(key "max_bytes")"},
      {"name=s,url=syslog+tcp://h,ca=/etc/hostname", R"(key "ca")"},
      {"name=w,url=https://h/x,syslog_format=cef", R"(key "syslog_format")"},
      {"name=w,url=https://h/x,settle=1s", R"(key "settle")"},
  };
  for (const auto& [text, expected] : cases) {
    auto spec = hookd::parse_endpoint_spec(text);
    INFO(text);
    REQUIRE_FALSE(spec.ok());
    INFO(spec.error().message);
    CHECK(spec.error().message.find(expected) != std::string::npos);
  }
}

TEST_CASE("an endpoint list joins flags and the file, and names where a bad spec is") {
  hookd::test::TempDir dir;
  auto file = dir.path() / "endpoints";
  hookd::test::write_file(file,
                          "# siem\nname=b,url=file:///tmp/b.ndjson\n\nname=c,url=https://c/x\n");
  auto list = hookd::load_endpoint_list({"name=a,url=https://a/x"}, file);
  REQUIRE(list.ok());
  REQUIRE(list->size() == 3);
  CHECK((*list)[0].name == "a");
  CHECK((*list)[1].name == "b");
  CHECK((*list)[2].name == "c");

  hookd::test::write_file(file, "name=b,url=https://b/x\nname=a,url=https://a/y\n");
  auto twice = hookd::load_endpoint_list({"name=a,url=https://a/x"}, file);
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error().message.find(file.string() + ":2:") == 0);
  CHECK(twice.error().message.find("given twice") != std::string::npos);

  hookd::test::write_file(file, "name=b,url=ftp://b/x\n");
  auto bad = hookd::load_endpoint_list({}, file);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find(file.string() + ":1: endpoint \"b\"") == 0);

  auto missing = hookd::load_endpoint_list({}, dir.path() / "nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("--endpoints-file") == 0);
}

TEST_CASE("a reload adds new names, removes missing ones and restarts changed specs") {
  auto a = parse_ok("name=a,url=https://a/x");
  auto b = parse_ok("name=b,url=https://b/x");
  auto b2 = parse_ok("name=b,url=https://b/x,batch=5,format=ndjson");
  auto c = parse_ok("name=c,url=file:///tmp/c");
  auto same_b = parse_ok("  name=b,url=https://b/x  ");  // trimmed: the same spec

  auto none = hookd::endpoint_changes({a, b}, {a, same_b});
  CHECK(none.empty());

  auto changes = hookd::endpoint_changes({a, b}, {b2, c});
  REQUIRE(changes.added.size() == 1);
  CHECK(changes.added[0].name == "c");
  REQUIRE(changes.removed.size() == 1);
  CHECK(changes.removed[0] == "a");
  REQUIRE(changes.changed.size() == 1);
  CHECK(changes.changed[0].name == "b");
  CHECK(changes.changed[0].batch == 5);

  auto all_gone = hookd::endpoint_changes({a, b}, {});
  CHECK(all_gone.removed.size() == 2);
}
