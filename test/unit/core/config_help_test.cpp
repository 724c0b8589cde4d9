// --help lists the flags in titled groups, each flag once, in its group.
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "hookd/core/config.h"
#include "support/command_line.h"

using namespace hookd;

namespace {

std::string help_text() {
  auto r = hookd::test::parse_args({"--help"});
  REQUIRE(r.ok());
  REQUIRE(r->action == CommandLine::Action::help);
  return r->text;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("help shows the group titles in order") {
  std::string text = help_text();
  std::size_t previous = 0;
  for (const char* title : {"Server:", "Ingest:", "Journal:", "Queue:", "Runbooks:", "Hooks:",
                            "Delivery:", "Logging:"}) {
    INFO(title);
    auto at = text.find(std::string("\n") + title + "\n");
    REQUIRE(at != std::string::npos);
    CHECK(at > previous);
    previous = at;
  }
}

TEST_CASE("help puts each flag under its group, once") {
  std::string text = help_text();
  std::vector<std::pair<std::string, std::vector<std::string>>> groups = {
      {"Server:",
       {"--listen", "--admin-listen", "--data-dir", "--threads", "--port-file", "--tls-cert",
        "--tls-key", "--tls-client-ca", "--max-connections", "--max-header-bytes",
        "--max-body-bytes", "--read-timeout", "--idle-timeout", "--drain-timeout"}},
      {"Ingest:",
       {"--inbound-secret", "--signature-tolerance", "--max-events-per-request", "--retry-after"}},
      {"Journal:",
       {"--fsync", "--fsync-batch-window", "--dedupe-window", "--journal-max-bytes",
        "--journal-segment-bytes", "--journal-max-pending-bytes"}},
      {"Queue:",
       {"--queue", "--queue-password", "--queue-ca", "--node-id", "--claim-idle",
        "--max-deliveries", "--queue-max-len", "--queue-require-aof"}},
      {"Runbooks:",
       {"--git-url", "--git-branch", "--git-hook-config-ttl", "--git-fetch-timeout", "--git-user",
        "--git-password", "--git-ca", "--git-ssh-key", "--git-ssh-user", "--git-ssh-keypass",
        "--git-ssh-known-hosts"}},
      {"Hooks:",
       {"--hook-interpreter",
        "--hook-payload",
        "--hook-env",
        "--hook-concurrency",
        "--hook-max-waiting",
        "--hook-timeout",
        "--hook-kill-grace",
        "--hook-output-max-bytes",
        "--hook-containment",
        "--hook-memory-max",
        "--hook-pids-max",
        "--hook-cpu-max",
        "--hook-open-files",
        "--hook-user",
        "--hook-group",
        "--hook-executor",
        "--hook-preload",
        "--hook-result-retention",
        "--hook-result-max-bytes",
        "--hook-result-commit-window",
        "--hook-result-commit-max"}},
      {"Delivery:",
       {"--endpoint", "--endpoints-file", "--retry-schedule", "--retry-jitter", "--min-backoff",
        "--delivery-window", "--admin-token"}},
      {"Svix API (/api/v1):",
       {"--api-token", "--api-jwt-secret", "--api-max-applications", "--api-max-endpoints-per-app",
        "--api-max-event-types", "--api-max-filter-types", "--api-max-endpoint-headers",
        "--api-max-indexed-messages", "--api-idempotency-keys", "--api-endpoint-ca",
        "--attempt-retention", "--attempt-max-bytes", "--endpoint-disable-after"}},
      {"Logging:", {"--log-level", "--log-format"}},
  };
  std::size_t flags = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    auto start = text.find("\n" + groups[g].first + "\n");
    REQUIRE(start != std::string::npos);
    auto end = g + 1 < groups.size() ? text.find("\n" + groups[g + 1].first + "\n") : text.size();
    std::string block = text.substr(start, end - start);
    std::size_t previous = 0;
    for (const auto& flag : groups[g].second) {
      INFO(groups[g].first << " " << flag);
      auto at = block.find("  " + flag + " arg");
      REQUIRE(at != std::string::npos);
      CHECK(at > previous);  // in the listed order
      previous = at;
      CHECK(count(text, "  " + flag + " arg") == 1);
      ++flags;
    }
  }
  // Nothing outside the groups but --help and --version.
  CHECK(count(text, " arg ") + count(text, " arg\n") == flags);
}
