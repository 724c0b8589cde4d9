// File endpoints end to end with the real hookd: one JSON line per event,
// appended and synced; rotation at max_bytes keeping `keep` files; SIGHUP
// reopening the file after an external rename (as logrotate does); a
// restart (and a kill -9) resuming without loss; and SIGHUP re-reading
// --endpoints-file to add, remove and restart endpoints.
#include <signal.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/support.h"

namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using hookd::test::Daemon;
using hookd::test::DaemonOptions;
using hookd::test::TempDir;
using namespace std::chrono_literals;

const char* const kAdminToken = "file-test-token";

// Complete lines of `path` ("" when it does not exist), each parsed. A last
// line without its newline is a batch hookd is writing as we read (a read of
// a regular file may see part of a concurrent write): not there yet. A torn
// line anywhere else (a killed writer's half batch that the restart did not
// cut off) has another line glued to it and fails to parse.
std::vector<json::object> lines_of(const fs::path& path) {
  std::vector<json::object> out;
  if (!fs::exists(path)) return out;
  const std::string text = hookd::test::read_file(path);
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;
    boost::system::error_code ec;
    json::value v = json::parse(text.substr(pos, nl - pos), ec);
    INFO(text.substr(pos, nl - pos));
    REQUIRE_FALSE(ec);  // whole lines only
    out.push_back(v.as_object());
    pos = nl + 1;
  }
  return out;
}

std::vector<std::string> ids_in(const fs::path& path) {
  std::vector<std::string> ids;
  for (const auto& line : lines_of(path))
    ids.emplace_back(line.at("id").as_string());
  return ids;
}

std::string event(int n, const std::string& type = "session.open", std::size_t pad = 0) {
  json::object e;
  e["id"] = "evt_file_" + std::to_string(1000 + n);  // sorts by n
  e["type"] = type;
  e["timestamp"] = "2026-11-24T10:15:02Z";
  json::object p;
  p["sid"] = "s-" + std::to_string(n);
  p["pad"] = std::string(pad, 'x');
  e["payload"] = p;
  return json::serialize(e);
}

std::vector<std::string> post(unsigned short port, int from, int to,
                              const std::string& type = "session.open", std::size_t pad = 0) {
  std::vector<std::string> ids;
  std::string body = "[";
  for (int n = from; n < to; ++n) {
    if (body.size() > 1) body += ',';
    body += event(n, type, pad);
    ids.push_back("evt_file_" + std::to_string(1000 + n));
  }
  body += "]";
  auto reply = hookd::test::post_json(port, "/v1/events", body);
  INFO(reply.body);
  REQUIRE(reply.status == 202);
  return ids;
}

bool holds_all(const fs::path& path, const std::vector<std::string>& ids) {
  auto got = ids_in(path);
  std::set<std::string> have(got.begin(), got.end());
  for (const auto& id : ids) {
    if (!have.count(id)) return false;
  }
  return true;
}

DaemonOptions with_endpoint(const std::string& spec, std::vector<std::string> more = {}) {
  DaemonOptions o;
  o.args = {"--admin-token", kAdminToken, "--endpoint", spec};
  o.args.insert(o.args.end(), more.begin(), more.end());
  return o;
}

json::array endpoints(const Daemon& hookd) {
  auto reply = hookd::test::http(hookd.port(), "GET", "/v1/endpoints", "",
                                 {{"Authorization", std::string("Bearer ") + kAdminToken}});
  REQUIRE(reply.status == 200);
  return json::parse(reply.body).as_array();
}

std::set<std::string> endpoint_names(const Daemon& hookd) {
  std::set<std::string> names;
  for (const auto& e : endpoints(hookd))
    names.emplace(e.at("name").as_string());
  return names;
}

}  // namespace

TEST_CASE("file endpoint: one JSON line per event, the ndjson fields, in a 0600 file") {
  TempDir out;
  const fs::path file = out.path() / "events.ndjson";
  Daemon hookd(with_endpoint("name=f,url=file://" + file.string() + ",batch=7"));
  auto ids = post(hookd.port(), 0, 25);
  REQUIRE(hookd::test::wait_until([&] { return ids_in(file).size() == ids.size(); }));
  CHECK(ids_in(file) == ids);  // one writer, in journal order
  for (const auto& line : lines_of(file)) {
    CHECK(line.size() == 4);
    CHECK(line.contains("id"));
    CHECK(line.at("type").as_string() == "session.open");
    CHECK(line.at("timestamp").as_string() == "2026-11-24T10:15:02Z");
    CHECK(line.at("payload").as_object().contains("sid"));
  }
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  // Delivered means on disk: the status says so, with no HTTP status.
  auto reply = hookd::test::http(hookd.port(), "GET", "/v1/events/" + ids[3], "",
                                 {{"Authorization", std::string("Bearer ") + kAdminToken}});
  json::value v = json::parse(reply.body);
  CHECK(v.at("deliveries").at("f").at("state").as_string() == "delivered");
  CHECK(v.at("deliveries").at("f").at("attempts").at(0).at("error").is_null());
}

TEST_CASE("file endpoint: rotation at max_bytes keeps `keep` files") {
  TempDir out;
  const fs::path file = out.path() / "events.ndjson";
  Daemon hookd(
      with_endpoint("name=f,url=file://" + file.string() + ",batch=2,max_bytes=4096,keep=2"));
  std::vector<std::string> ids;
  for (int n = 0; n < 60; n += 10) {
    auto more = post(hookd.port(), n, n + 10, "session.open", 300);
    ids.insert(ids.end(), more.begin(), more.end());
  }
  REQUIRE(hookd::test::wait_until([&] {
    auto now = ids_in(file);
    return !now.empty() && now.back() == ids.back();
  }));
  const fs::path one = file.string() + ".1", two = file.string() + ".2",
                 three = file.string() + ".3";
  REQUIRE(fs::exists(one));
  REQUIRE(fs::exists(two));
  CHECK_FALSE(fs::exists(three));
  for (const auto& p : {file, one, two}) {
    INFO(p);
    CHECK(fs::file_size(p) <= 4096);
  }
  // Oldest to newest, the kept files hold a gapless tail of the events.
  std::vector<std::string> kept;
  for (const auto& p : {two, one, file}) {
    auto part = ids_in(p);
    kept.insert(kept.end(), part.begin(), part.end());
  }
  REQUIRE(kept.size() <= ids.size());
  CHECK(std::vector<std::string>(ids.end() - static_cast<long>(kept.size()), ids.end()) == kept);
}

TEST_CASE("file endpoint: SIGHUP reopens the file after logrotate renamed it") {
  TempDir out;
  const fs::path file = out.path() / "events.ndjson";
  const fs::path rotated = out.path() / "events.ndjson-20261124";
  Daemon hookd(with_endpoint("name=f,url=file://" + file.string()));
  auto first = post(hookd.port(), 0, 5);
  REQUIRE(hookd::test::wait_until([&] { return holds_all(file, first); }));
  fs::rename(file, rotated);
  REQUIRE(::kill(hookd.pid(), SIGHUP) == 0);
  // Reopened at once: the new file is there before any new event.
  REQUIRE(hookd::test::wait_until([&] { return fs::exists(file); }));
  auto second = post(hookd.port(), 5, 10);
  REQUIRE(hookd::test::wait_until([&] { return holds_all(file, second); }));
  CHECK(ids_in(rotated) == first);
  CHECK(ids_in(file) == second);
  CHECK(hookd.running());  // SIGHUP no longer ends the process
}

TEST_CASE("file endpoint: a restart and a kill -9 resume without loss") {
  TempDir out;
  const fs::path file = out.path() / "events.ndjson";
  Daemon hookd(with_endpoint("name=f,url=file://" + file.string() + ",batch=3"));
  auto ids = post(hookd.port(), 0, 20);
  REQUIRE(hookd::test::wait_until([&] { return holds_all(file, ids); }));
  REQUIRE(hookd.terminate() == 0);
  hookd.restart();
  auto more = post(hookd.port(), 20, 40);
  ids.insert(ids.end(), more.begin(), more.end());
  auto burst = post(hookd.port(), 40, 100);
  ids.insert(ids.end(), burst.begin(), burst.end());
  hookd.kill9();  // likely mid-batch
  hookd.restart();
  REQUIRE(hookd::test::wait_until([&] { return holds_all(file, ids); }));
  std::map<std::string, int> counts;
  for (const auto& id : ids_in(file))
    ++counts[id];
  int duplicates = 0;
  for (const auto& id : ids) {
    INFO(id);
    CHECK(counts[id] >= 1);
    duplicates += counts[id] - 1;
  }
  // The orderly restart repeats nothing; a kill -9 may repeat the batches
  // written after the last cursor commit (at least once).
  WARN("file endpoint after kill -9: " << duplicates << " duplicate lines");
  for (int n = 0; n < 20; ++n)
    CHECK(counts["evt_file_" + std::to_string(1000 + n)] == 1);
}

TEST_CASE("SIGHUP re-reads --endpoints-file: endpoints added, removed and changed") {
  TempDir out;
  const fs::path list = out.path() / "endpoints";
  const fs::path a = out.path() / "a.ndjson", b = out.path() / "b.ndjson";
  hookd::test::write_file(list, "# the first list\nname=a,url=file://" + a.string() + "\n");
  DaemonOptions options;
  options.args = {"--admin-token", kAdminToken, "--endpoints-file", list.string()};
  Daemon hookd(options);
  CHECK(endpoint_names(hookd) == std::set<std::string>{"a"});
  auto first = post(hookd.port(), 0, 3);
  REQUIRE(hookd::test::wait_until([&] { return holds_all(a, first); }));

  // a goes, b comes.
  hookd::test::write_file(list, "name=b,url=file://" + b.string() + "\n");
  REQUIRE(::kill(hookd.pid(), SIGHUP) == 0);
  REQUIRE(
      hookd::test::wait_until([&] { return endpoint_names(hookd) == std::set<std::string>{"b"}; }));
  auto second = post(hookd.port(), 3, 6);
  REQUIRE(hookd::test::wait_until([&] { return holds_all(b, second); }));
  CHECK(ids_in(a) == first);
  // A new endpoint starts at the newest event: b never saw the first three.
  CHECK(ids_in(b) == second);
  // a's cursor is gone from the journal: no lag series keeps it.
  auto metrics = hookd::test::http(hookd.port(), "GET", "/metrics");
  CHECK(metrics.body.find("consumer=\"endpoint:a\"") == std::string::npos);
  CHECK(metrics.body.find("consumer=\"endpoint:b\"") != std::string::npos);

  // b changes (only session.close now) and keeps its cursor.
  hookd::test::write_file(list, "name=b,url=file://" + b.string() + ",events=session.close\n");
  REQUIRE(::kill(hookd.pid(), SIGHUP) == 0);
  REQUIRE(hookd::test::wait_until([&] {
    for (const auto& e : endpoints(hookd)) {
      if (e.at("name").as_string() == "b" && e.at("events").as_array().size() == 1 &&
          e.at("events").at(0).as_string() == "session.close") {
        return true;
      }
    }
    return false;
  }));
  auto opens = post(hookd.port(), 6, 8, "session.open");
  auto closes = post(hookd.port(), 8, 10, "session.close");
  REQUIRE(hookd::test::wait_until([&] { return holds_all(b, closes); }));
  std::vector<std::string> expected = second;
  expected.insert(expected.end(), closes.begin(), closes.end());
  CHECK(ids_in(b) == expected);

  // A list that does not parse changes nothing.
  hookd::test::write_file(list, "name=b,url=ftp://nowhere\n");
  REQUIRE(::kill(hookd.pid(), SIGHUP) == 0);
  REQUIRE(hookd::test::wait_until(
      [&] { return hookd.log().find("reload refused") != std::string::npos; }));
  CHECK(endpoint_names(hookd) == std::set<std::string>{"b"});
}
