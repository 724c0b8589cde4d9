// --queue rediss://: a real redis-server that speaks TLS only (--port 0,
// --tls-port) with certificates the test makes. Nodes connect through their
// TLS bridge: ingest, hooks, delivery and the API objects work, a Redis
// restart is lived through as over plain TCP, and a server certificate from
// another CA, or for another name, is refused with the reason in the log and
// on /readyz (503), the node still running.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "support/certificates.h"
#include "support/redis_cluster.h"
#include "support/redis_server.h"
#include "support/skip.h"
#include "support/support.h"

using namespace hookd::test;
namespace fs = std::filesystem;

namespace {

const std::string kToken = "hookd-test-api-token";

// A CA that signs the server's certificate (for 127.0.0.1 only) and one that
// does not.
struct RedisCertificates {
  TestCertificates certs;
  RedisCertificates() {
    certs.make_ca("redis-ca");
    certs.make_ca("other-ca");
    certs.make_leaf("redis", "redis-ca",
                    "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  }
  RedisTlsFiles server() const {
    return {certs.pem("redis"), certs.key("redis"), certs.pem("redis-ca")};
  }
  std::string ca() const { return certs.pem("redis-ca").string(); }
  std::string other_ca() const { return certs.pem("other-ca").string(); }
};

const std::vector<std::pair<std::string, std::string>> kApiHeaders{
    {"Authorization", "Bearer " + kToken}, {"Content-Type", "application/json"}};

}  // namespace

TEST_CASE("over rediss:// two nodes hook and deliver every event and share the api objects") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  RedisCertificates certs;
  Cluster cluster(2, "10s", {}, certs.server(), {"--queue-ca", certs.ca(), "--api-token", kToken});
  cluster.wait_ready();
  INFO(cluster.logs());
  auto ids = make_ids("tls-", 200);
  auto statuses = post_all(ids, [&](std::size_t i) { return cluster.nodes[i % 2]->port(); });
  auto ok = accepted(statuses);
  REQUIRE(ok.size() == ids.size());
  REQUIRE(wait_until([&] { return cluster.all_done(ok); }, std::chrono::seconds(120)));
  CHECK(cluster.redis.cli("XLEN hookd:events") != "0");
  for (const char* group : {"hooks", "endpoint:a", "endpoint:b"}) {
    INFO(group);
    CHECK(wait_until([&] {
      return cluster.redis.cli(std::string("XPENDING hookd:events ") + group + " - + 1").empty();
    }));
  }
  // The API objects' blocking connection goes through the bridge too: an
  // application made through node 1 is served by node 2.
  Reply app = http(cluster.nodes[0]->port(), "POST", "/api/v1/app/",
                   R"({"name":"Shop","uid":"shop"})", kApiHeaders);
  REQUIRE(app.status == 201);
  CHECK(wait_until([&] {
    return http(cluster.nodes[1]->port(), "GET", "/api/v1/app/shop/", "", kApiHeaders).status ==
           200;
  }));
  CHECK(cluster.redis.cli("HLEN hookd:api") == "1");
  CHECK(cluster.nodes[0]->log().find("redis TLS connected") != std::string::npos);
  // The plaintext side is hookd's user's alone.
  struct stat dir {};
  REQUIRE(::stat((cluster.nodes[0]->data_dir() / "queue-tls").c_str(), &dir) == 0);
  CHECK((dir.st_mode & 0777) == 0700);
  CHECK(fs::is_socket(cluster.nodes[0]->data_dir() / "queue-tls" / "redis.sock"));
}

TEST_CASE("a rediss:// server certificate from another ca or for another name is refused") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  RedisCertificates certs;
  RedisServer redis(certs.server());

  DaemonOptions wrong_ca;
  wrong_ca.args = {"--queue", redis.url(), "--queue-ca", certs.other_ca()};
  Daemon refused(wrong_ca);
  INFO(refused.log());
  REQUIRE(wait_until(
      [&] { return refused.log().find("redis TLS connection failed") != std::string::npos; }));
  CHECK(refused.log().find("certificate verify failed") != std::string::npos);
  Reply ready = http(refused.port(), "GET", "/readyz");
  CHECK(ready.status == 503);
  CHECK(ready.body.find("certificate verify failed") != std::string::npos);
  CHECK(ready.body.find(certs.other_ca()) != std::string::npos);
  Reply post = post_json(refused.port(), "/v1/events", queue_event_body("not-over-tls"));
  CHECK(post.status == 503);
  CHECK(post.headers.count("retry-after") == 1);

  // The right CA, but the URL names a host the certificate does not.
  DaemonOptions wrong_name;
  wrong_name.args = {"--queue", "rediss://localhost:" + std::to_string(redis.port()), "--queue-ca",
                     certs.ca()};
  Daemon mismatched(wrong_name);
  INFO(mismatched.log());
  REQUIRE(wait_until([&] {
    return http(mismatched.port(), "GET", "/readyz").body.find("mismatch") != std::string::npos;
  }));
  CHECK(http(mismatched.port(), "GET", "/readyz").status == 503);

  CHECK(refused.running());
  CHECK(mismatched.running());
  CHECK(redis.cli("XLEN hookd:events") == "0");
}

TEST_CASE("a redis restart over rediss:// loses nothing acknowledged and ingest answers 503") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  RedisCertificates certs;
  Cluster cluster(2, "10s", {}, certs.server(), {"--queue-ca", certs.ca()});
  check_redis_restart_mid_load(cluster);
}
