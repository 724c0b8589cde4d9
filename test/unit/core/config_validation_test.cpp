// Every flag value is judged before start-up touches the data directory:
// parse_command_line() checks the syntax, module_options() what only a
// module can judge (listen address, TLS files, endpoint specs, ...). Each
// refusal is one line naming the flag; nothing is created on disk.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "hookd/core/config.h"
#include "hookd/daemon/module_options.h"
#include "support/certificates.h"
#include "support/command_line.h"
#include "support/support.h"

using namespace hookd;
using hookd::test::TempDir;

namespace {

// Both steps, as main() runs them; the first error.
Result<ModuleOptions> check(std::vector<std::string> args,
                            std::map<std::string, std::string> env = {}) {
  auto parsed = hookd::test::parse_args(std::move(args), env);
  if (!parsed) return parsed.error();
  return module_options(parsed->config);
}

struct Refusal {
  std::vector<std::string> args;
  std::string flag;
};

void check_refusals(const std::vector<Refusal>& cases) {
  for (const auto& c : cases) {
    std::string shown;
    for (const auto& a : c.args)
      shown += a + " ";
    INFO(shown);
    auto r = check(c.args);
    REQUIRE_FALSE(r.ok());
    INFO(r.error().message);
    CHECK(r.error().message.find(c.flag) != std::string::npos);
    CHECK(r.error().message.find('\n') == std::string::npos);
  }
}

}  // namespace

TEST_CASE("the defaults pass both checks") {
  auto r = check({});
  REQUIRE(r.ok());
  CHECK(r->data_dir.is_absolute());
  CHECK(r->server.listen == "127.0.0.1:8080");
  CHECK(r->journal.dir == r->data_dir / "journal");
  CHECK(r->delivery.dir == r->data_dir / "delivery");
  CHECK_FALSE(r->runbooks.has_value());
  CHECK_FALSE(r->hooks.has_value());
}

TEST_CASE("module options follow the flags") {
  TempDir dir;
  auto r = check({"--data-dir", (dir.path() / "data/").string(), "--fsync", "always",
                  "--retry-after", "1500ms", "--git-url", "/srv/runbooks", "--git-hook-config-ttl",
                  "30", "--hook-env", "A_1=x", "--retry-schedule", "1s,2s", "--endpoint",
                  "name=siem,url=http://127.0.0.1:1/"});
  REQUIRE(r.ok());
  CHECK(r->data_dir == dir.path() / "data");
  CHECK(r->journal.fsync == FsyncMode::always);
  CHECK(r->ingest.retry_after_seconds == 2);
  REQUIRE(r->runbooks.has_value());
  CHECK(r->runbooks->url == "/srv/runbooks");
  CHECK(r->runbooks->dir == dir.path() / "data" / "runbooks");
  REQUIRE(r->hooks.has_value());
  CHECK(r->hooks->extra_env == std::vector<std::string>{"A_1=x"});
  CHECK(r->hooks->work_dir == dir.path() / "data" / "hook-runs");
  CHECK(r->delivery.retry_schedule.size() == 2);
  REQUIRE(r->delivery.endpoints.size() == 1);
  CHECK(r->delivery.endpoints[0].name == "siem");
}

TEST_CASE("listen addresses are checked before start-up") {
  check_refusals({
      {{"--listen", "nonsense"}, "--listen"},
      {{"--listen", "127.0.0.1:99999"}, "--listen"},
      {{"--listen", "::1:80"}, "--listen"},
      {{"--listen", "[::1]80"}, "--listen"},
  });
  auto env = check({}, {{"HOOKD_LISTEN", "no-port"}});
  REQUIRE_FALSE(env.ok());
  CHECK(env.error().message.find("--listen") != std::string::npos);
  CHECK(check({"--listen", "[::1]:0"}).ok());
  CHECK(check({"--listen", ":8080"}).ok());
}

TEST_CASE("TLS files are loaded and matched before start-up") {
  TempDir dir;
  auto a = hookd::test::make_self_signed_certificate(dir.path(), "a");
  auto b = hookd::test::make_self_signed_certificate(dir.path(), "b");
  CHECK(check({"--tls-cert", a.cert, "--tls-key", a.key}).ok());
  check_refusals({
      {{"--tls-cert", (dir.path() / "missing.pem").string(), "--tls-key", a.key}, "--tls-cert"},
      {{"--tls-cert", a.cert, "--tls-key", (dir.path() / "missing.key").string()}, "--tls-key"},
      {{"--tls-cert", a.key, "--tls-key", a.key}, "--tls-cert"},
      {{"--tls-cert", a.cert, "--tls-key", b.key}, "--tls-key"},
      {{"--tls-cert", a.cert}, "--tls-key"},
  });
}

TEST_CASE("endpoint specs, the retry schedule and the inbound secret are checked") {
  check_refusals({
      {{"--endpoint", "name=siem"}, "--endpoint"},
      {{"--endpoint", "name=siem,url=http://127.0.0.1:1/,fromat=ndjson"}, "--endpoint"},
      {{"--endpoint", "name=a,url=http://127.0.0.1:1/", "--endpoint",
        "name=a,url=http://127.0.0.1:2/"},
       "--endpoint"},
      {{"--endpoint", "name=a,url=https://127.0.0.1:1/,ca=/nonexistent/ca.pem"}, "--endpoint"},
      {{"--retry-schedule", "soon"}, "--retry-schedule"},
      {{"--retry-schedule", "5s,,5m"}, "--retry-schedule"},
      {{"--inbound-secret", "not_base64!!"}, "--inbound-secret"},
  });
}

TEST_CASE("hook environment entries are NAME=VALUE with a shell name") {
  check_refusals({
      {{"--hook-env", "NOEQUALS"}, "--hook-env"},
      {{"--hook-env", "=x"}, "--hook-env"},
      {{"--hook-env", "1ABC=x"}, "--hook-env"},
      {{"--hook-env", "A-B=x"}, "--hook-env"},
      {{"--hook-env", "A B=x"}, "--hook-env"},
      {{"--hook-env", "HOOP_RUNBOOK_HOOK_PAYLOAD=x"}, "--hook-env"},
  });
  CHECK(check({"--hook-env", "_A1=a=b", "--hook-env", "EMPTY="}).ok());
  // From the environment, one entry per line; the error stays on one line.
  auto env = check({}, {{"HOOKD_HOOK_ENV", "GOOD=1\nBAD-NAME=2\n"}});
  REQUIRE_FALSE(env.ok());
  CHECK(env.error().message.find("--hook-env") != std::string::npos);
  CHECK(env.error().message.find('\n') == std::string::npos);
}

TEST_CASE("the hook interpreter must be executable when hooks are on") {
  TempDir dir;
  hookd::test::write_file(dir.path() / "not-executable", "#!/bin/sh\n");
  std::vector<std::string> hooks_on = {"--git-url", "/srv/runbooks", "--git-hook-config-ttl", "5"};
  auto with = [&](std::vector<std::string> extra) {
    auto args = hooks_on;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  check_refusals({
      {with({"--hook-interpreter", "/nonexistent/python3"}), "--hook-interpreter"},
      {with({"--hook-interpreter", (dir.path() / "not-executable").string()}),
       "--hook-interpreter"},
      {with({"--hook-interpreter", dir.path().string()}), "--hook-interpreter"},
  });
  CHECK(check(with({"--hook-interpreter", "/usr/bin/python3"})).ok());
  // Hooks off: the interpreter is never run.
  CHECK(check({"--hook-interpreter", "/nonexistent/python3"}).ok());
}

TEST_CASE("the port file's directory must exist, unless it is in the data dir") {
  TempDir dir;
  auto data = dir.path() / "data";
  check_refusals({
      {{"--data-dir", data.string(), "--port-file", (dir.path() / "no/such/port").string()},
       "--port-file"},
  });
  CHECK(check({"--data-dir", data.string(), "--port-file", (dir.path() / "port").string()}).ok());
  CHECK(check({"--data-dir", data.string(), "--port-file", (data / "run/port").string()}).ok());
}

TEST_CASE("checking creates nothing on disk") {
  TempDir dir;
  auto data = dir.path() / "data";
  auto ok = check({"--data-dir", data.string(), "--git-url", "/srv/runbooks",
                   "--git-hook-config-ttl", "5", "--port-file", (data / "port").string()});
  REQUIRE(ok.ok());
  CHECK_FALSE(check({"--data-dir", data.string(), "--listen", "nonsense"}).ok());
  CHECK_FALSE(std::filesystem::exists(data));
  CHECK(std::filesystem::is_empty(dir.path()));
}
