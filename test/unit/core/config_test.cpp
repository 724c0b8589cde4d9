#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "hookd/core/config.h"

using namespace hookd;

namespace {

Result<CommandLine> parse(std::vector<std::string> args,
                          std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), "hookd");
  std::vector<const char*> argv;
  for (auto& a : args)
    argv.push_back(a.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data(),
                            [env](const char* name) -> const char* {
                              auto it = env.find(name);
                              return it == env.end() ? nullptr : it->second.c_str();
                            });
}

}  // namespace

TEST_CASE("defaults match the documented ones") {
  auto r = parse({});
  REQUIRE(r.ok());
  const Config& c = r->config;
  CHECK(c.listen == "127.0.0.1:8080");
  CHECK(c.data_dir == "./hookd-data");
  CHECK(c.max_body_bytes == 1u << 20);
  CHECK(c.journal_max_bytes == 1ull << 30);
  CHECK(c.fsync == "batch");
  CHECK(c.log_format == "json");
  CHECK(c.threads >= 1);
  CHECK(c.hook_concurrency >= 2);
  CHECK(c.hook_timeout == std::chrono::seconds(30));
  CHECK(c.hook_output_max_bytes == 4096);
  CHECK_FALSE(c.hooks_enabled());
}

TEST_CASE("flags override the environment, which overrides defaults") {
  auto r = parse({"--listen", "0.0.0.0:9000"},
                 {{"HOOKD_LISTEN", "127.0.0.1:1"}, {"HOOKD_FSYNC", "always"}});
  REQUIRE(r.ok());
  CHECK(r->config.listen == "0.0.0.0:9000");
  CHECK(r->config.fsync == "always");
}

TEST_CASE("runbooks settings use Hoop's environment names") {
  auto r = parse({}, {{"GIT_URL", "file:///srv/runbooks"},
                      {"GIT_HOOK_CONFIG_TTL", "30"},
                      {"GIT_PASSWORD", "s3cret"},
                      {"GIT_BRANCH", "main"}});
  REQUIRE(r.ok());
  CHECK(r->config.git_url == "file:///srv/runbooks");
  REQUIRE(r->config.git_hook_config_ttl.has_value());
  CHECK(r->config.git_hook_config_ttl->count() == 30);
  CHECK(r->config.git_password == "s3cret");
  CHECK(r->config.hooks_enabled());
}

TEST_CASE("hooks stay off unless both a url and a ttl are given") {
  CHECK_FALSE(parse({"--git-url", "/tmp/x"})->config.hooks_enabled());
  CHECK_FALSE(parse({"--git-hook-config-ttl", "5"})->config.hooks_enabled());
}

TEST_CASE("repeatable flags collect every value, the environment splits on newlines") {
  auto r = parse({"--endpoint", "name=a,url=http://127.0.0.1:1/", "--endpoint",
                  "name=b,url=http://127.0.0.1:2/", "--hook-env", "A=1"});
  REQUIRE(r.ok());
  CHECK(r->config.endpoints.size() == 2);
  CHECK(r->config.hook_env == std::vector<std::string>{"A=1"});
  auto e = parse({}, {{"HOOKD_HOOK_ENV", "A=1\nB=2\n"}});
  REQUIRE(e.ok());
  CHECK(e->config.hook_env == std::vector<std::string>{"A=1", "B=2"});
}

TEST_CASE("bad values are one-line errors naming the flag") {
  struct Case {
    std::vector<std::string> args;
    std::string flag;
  };
  std::vector<Case> cases = {
      {{"--fsync", "sometimes"}, "--fsync"},
      {{"--max-body-bytes", "lots"}, "--max-body-bytes"},
      {{"--max-body-bytes", "0"}, "--max-body-bytes"},
      {{"--threads", "-1"}, "--threads"},
      {{"--hook-timeout", "10 parsecs"}, "--hook-timeout"},
      {{"--git-hook-config-ttl", "1.5"}, "--git-hook-config-ttl"},
      {{"--hook-env", "NOEQUALS"}, "--hook-env"},
      {{"--log-level", "loud"}, "--log-level"},
      {{"--retry-jitter", "2"}, "--retry-jitter"},
      {{"--no-such-flag"}, "no-such-flag"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.args);
    INFO(c.args[0]);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find(c.flag) != std::string::npos);
    CHECK(r.error().message.find('\n') == std::string::npos);
  }
  auto env = parse({}, {{"HOOKD_FSYNC", "never"}});
  REQUIRE_FALSE(env.ok());
  CHECK(env.error().message.find("--fsync") != std::string::npos);
}

TEST_CASE("tls cert and key go together") {
  CHECK_FALSE(parse({"--tls-cert", "a.pem"}).ok());
  CHECK(parse({"--tls-cert", "a.pem", "--tls-key", "k.pem"}).ok());
}

TEST_CASE("help and version") {
  auto h = parse({"--help"});
  REQUIRE(h.ok());
  CHECK(h->action == CommandLine::Action::help);
  CHECK(h->text.find("--git-hook-config-ttl") != std::string::npos);
  CHECK(h->text.find("GIT_HOOK_CONFIG_TTL") != std::string::npos);
  CHECK(h->text.find("HOOKD_LISTEN") != std::string::npos);
  auto v = parse({"--version"});
  REQUIRE(v.ok());
  CHECK(v->action == CommandLine::Action::version);
  CHECK(v->text.find(HOOKD_VERSION) != std::string::npos);
}

TEST_CASE("durations and sizes") {
  CHECK(parse_duration("30") == std::chrono::seconds(30));
  CHECK(parse_duration("30s") == std::chrono::seconds(30));
  CHECK(parse_duration("250ms") == std::chrono::milliseconds(250));
  CHECK(parse_duration("5m") == std::chrono::minutes(5));
  CHECK(parse_duration("2h") == std::chrono::hours(2));
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("s"));
  CHECK_FALSE(parse_duration("-1s"));
  CHECK(parse_duration("30d") == std::chrono::hours(30 * 24));  // --attempt-retention's unit
  CHECK_FALSE(parse_duration("1w"));
  CHECK(parse_size("4096") == 4096u);
  CHECK(parse_size("64KiB") == 65536u);
  CHECK(parse_size("1M") == 1u << 20);
  CHECK(parse_size("1gib") == 1ull << 30);
  CHECK_FALSE(parse_size("1.5M"));
  CHECK_FALSE(parse_size("17179869185G"));  // would wrap past 2^64 to 1 GiB
  CHECK_FALSE(parse_size("18446744073709551615K"));
  CHECK(parse_size("17179869183G") == 17179869183ull << 30);
  CHECK_FALSE(parse_size("M"));
}

// Found by fuzz/config_units: days times 86,400,000 ms wrapped past INT64_MAX.
TEST_CASE("durations that overflow are refused") {
  CHECK_FALSE(parse_duration("117179869184d"));
  CHECK_FALSE(parse_duration("999999999999d"));
  CHECK_FALSE(parse_duration("106751991168d"));
  CHECK(parse_duration("106751991167d") == std::chrono::hours(106751991167LL * 24));
  CHECK(parse_duration("999999999999h") == std::chrono::hours(999999999999LL));
}

TEST_CASE("the Svix delivery flags: attempts kept, disabling and the endpoints' trust store") {
  auto defaults = parse({});
  REQUIRE(defaults.ok());
  CHECK(defaults->config.attempt_retention == std::chrono::hours(30 * 24));
  CHECK(defaults->config.attempt_max_bytes == 256ull << 20);
  CHECK(defaults->config.endpoint_disable_after == std::chrono::hours(5 * 24));
  CHECK(defaults->config.api_endpoint_ca.empty());

  auto r = parse({"--attempt-retention", "7d", "--attempt-max-bytes", "1MiB",
                  "--endpoint-disable-after", "2h", "--api-endpoint-ca", "/etc/ca.pem"});
  REQUIRE(r.ok());
  CHECK(r->config.attempt_retention == std::chrono::hours(7 * 24));
  CHECK(r->config.attempt_max_bytes == 1u << 20);
  CHECK(r->config.endpoint_disable_after == std::chrono::hours(2));
  CHECK(r->config.api_endpoint_ca == "/etc/ca.pem");

  CHECK_FALSE(parse({"--attempt-retention", "0"}).ok());
  CHECK_FALSE(parse({"--attempt-max-bytes", "10"}).ok());
  CHECK_FALSE(parse({"--endpoint-disable-after", "soon"}).ok());
}
