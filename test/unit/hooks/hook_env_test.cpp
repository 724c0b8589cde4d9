// The whole environment of a hook's child, from --hook-env: exactly the
// payload, PATH, HOME, LANG and the --hook-env entries; bad entries refused.
#include "hookd/hooks/hook_env.h"

#include <stdlib.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "hookd/hooks/process.h"

using hookd::HookEnvironment;
using Env = std::vector<std::string>;

namespace {

const std::string kPath = "PATH=/usr/local/bin:/usr/bin:/bin";
const std::string kLang = "LANG=C.UTF-8";
const std::string kRunDir = "/data/hook-runs/run-AbC123";

std::string joined(const Env& env) {
  std::string out;
  for (const auto& e : env)
    out += (out.empty() ? "" : " ") + e;
  return out;
}

}  // namespace

TEST_CASE("a hook's environment is the payload, PATH, LANG, HOME and --hook-env", "[hook_env]") {
  const std::string payload = R"(HOOP_RUNBOOK_HOOK_PAYLOAD={"n":1})";
  const std::string home = "HOME=" + kRunDir;
  // clang-format off
  const std::vector<std::pair<Env, Env>> cases = {
    {{},                    {payload, kPath, kLang, home}},
    {{"A=1"},               {payload, kPath, kLang, "A=1", home}},
    {{"EMPTY="},            {payload, kPath, kLang, "EMPTY=", home}},
    {{"X=a=b"},             {payload, kPath, kLang, "X=a=b", home}},  // '=' in a value
    {{"_x9=1"},             {payload, kPath, kLang, "_x9=1", home}},
    {{"A=1", "B=2", "A=3"}, {payload, kPath, kLang, "B=2", "A=3", home}},  // the later wins
    {{"PATH=/opt/bin"},     {payload, kLang, "PATH=/opt/bin", home}},
    {{"LANG=de_DE.UTF-8"},  {payload, kPath, "LANG=de_DE.UTF-8", home}},
    {{"HOME=/srv/hooks"},   {payload, kPath, kLang, "HOME=/srv/hooks"}},  // no run-dir HOME
  };
  // clang-format on
  for (const auto& [hook_env, expected] : cases) {
    INFO("--hook-env " << joined(hook_env));
    auto environment = HookEnvironment::parse(hook_env);
    REQUIRE(environment.ok());
    CHECK(environment->for_run(R"({"n":1})", kRunDir) == expected);
  }
}

TEST_CASE("the default environment is the one without --hook-env", "[hook_env]") {
  auto parsed = HookEnvironment::parse({});
  REQUIRE(parsed.ok());
  CHECK(HookEnvironment().for_run("{}", kRunDir) == parsed->for_run("{}", kRunDir));
}

TEST_CASE("the payload is passed as given, bytes and all", "[hook_env]") {
  const std::string payload = "{\"text\":\"h\xC3\xA9 \\\"q\\\" a=b\\n\"}";
  auto env = HookEnvironment().for_run(payload, kRunDir);
  REQUIRE_FALSE(env.empty());
  CHECK(env.front() == "HOOP_RUNBOOK_HOOK_PAYLOAD=" + payload);
}

TEST_CASE("malformed --hook-env entries are refused, naming the entry", "[hook_env]") {
  // clang-format off
  const std::vector<std::pair<std::string, std::string>> cases = {
    {"NOVALUE",                      "\"NOVALUE\""},
    {"",                             "\"\""},
    {"=x",                           "\"=x\""},
    {"1BAD=x",                       "\"1BAD=x\""},
    {"A-B=1",                        "\"A-B=1\""},
    {"A B=1",                        "\"A B=1\""},
    {"\xC3\xA9=1",                   "\"\xC3\xA9=1\""},
    {"HOOP_RUNBOOK_HOOK_PAYLOAD={}", "HOOP_RUNBOOK_HOOK_PAYLOAD is set by hookd"},
  };
  // clang-format on
  for (const auto& [entry, message] : cases) {
    INFO("--hook-env " << entry);
    auto environment = HookEnvironment::parse({"GOOD=1", entry});
    REQUIRE_FALSE(environment.ok());
    CHECK_THAT(environment.error().message, Catch::Contains("--hook-env: "));
    CHECK_THAT(environment.error().message, Catch::Contains(message));
  }
}

TEST_CASE("a child started with the environment sees exactly it", "[hook_env]") {
  ::setenv("HOOKD_CANARY", "must-not-leak", 1);
  auto environment = HookEnvironment::parse({"EXTRA=1", "PATH=/usr/bin:/bin"});
  REQUIRE(environment.ok());
  hookd::ProcessOptions options;
  options.argv = {"/usr/bin/env"};
  options.env = environment->for_run(R"({"id":"e1"})", "/tmp");
  boost::asio::io_context io;
  std::optional<hookd::ProcessResult> result;
  hookd::run_process(io, options, [&](hookd::ProcessResult r) { result = std::move(r); });
  io.run();
  ::unsetenv("HOOKD_CANARY");
  REQUIRE(result.has_value());
  REQUIRE(result->exit_code == 0);
  std::set<std::string> seen;
  std::istringstream lines(result->output);
  for (std::string line; std::getline(lines, line);)
    seen.insert(line);
  CHECK(seen == std::set<std::string>(options.env.begin(), options.env.end()));
}
