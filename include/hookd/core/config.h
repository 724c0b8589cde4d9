// Config: every daemon setting, from flags with environment fallbacks
// (HOOKD_<FLAG>, and Hoop's GIT_* names for the runbooks settings).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hookd/core/result.h"

namespace hookd {

using Milliseconds = std::chrono::milliseconds;

struct Config {
  // Server
  std::string listen = "127.0.0.1:8080";
  std::size_t threads = 0;  // 0: one per core
  std::filesystem::path data_dir = "./hookd-data";
  std::uint64_t max_body_bytes = 1 << 20;
  std::uint64_t max_header_bytes = 16 << 10;
  std::size_t max_events_per_request = 10000;
  std::size_t max_connections = 10000;
  Milliseconds read_timeout{10000};
  Milliseconds idle_timeout{60000};
  Milliseconds drain_timeout{30000};
  Milliseconds retry_after{1000};
  std::string tls_cert;
  std::string tls_key;
  std::string inbound_secret;  // whsec_...; empty: signatures not required
  Milliseconds signature_tolerance{300000};
  std::string admin_token;
  std::string port_file;  // written with the bound port once listening

  // Journal
  std::uint64_t journal_max_bytes = 1ull << 30;
  std::uint64_t journal_segment_bytes = 64ull << 20;
  std::uint64_t journal_max_pending_bytes = 64ull << 20;
  std::string fsync = "batch";  // batch | always | off
  Milliseconds fsync_batch_window{2};

  // Logs
  std::string log_level = "info";
  std::string log_format = "json";

  // Runbooks (Hoop's names)
  std::string git_url;
  std::string git_branch;
  std::optional<std::chrono::seconds> git_hook_config_ttl;  // unset: hooks off
  std::string git_user;
  std::string git_password;
  std::string git_ca;
  std::string git_ssh_key;
  std::string git_ssh_user = "git";
  std::string git_ssh_keypass;
  std::string git_ssh_known_hosts;
  Milliseconds git_fetch_timeout{60000};

  // Hooks
  std::string hook_interpreter = "/usr/bin/python3";
  std::size_t hook_concurrency = 0;  // 0: 2 x cores
  Milliseconds hook_timeout{30000};
  Milliseconds hook_kill_grace{5000};
  std::uint64_t hook_output_max_bytes = 4096;
  std::size_t hook_max_waiting = 10000;
  std::vector<std::string> hook_env;  // NAME=VALUE
  std::string hook_executor;          // prewarm | spawn; empty: prewarm for a CPython interpreter
  std::optional<std::vector<std::string>> hook_preload;  // unset: the hook runner's default set

  // Delivery
  std::vector<std::string> endpoints;  // raw specs, parsed by delivery
  std::string retry_schedule;          // empty: the default schedule
  double retry_jitter = 0.2;
  Milliseconds min_backoff{60000};
  std::size_t delivery_window = 1000;

  bool hooks_enabled() const { return !git_url.empty() && git_hook_config_ttl.has_value(); }
};

struct CommandLine {
  enum class Action { run, help, version };
  Action action = Action::run;
  Config config;
  std::string text;  // help or version text to print
};

using GetEnv = std::function<const char*(const char* name)>;

// Parses argv and the environment. The error is one line naming the flag and
// what is wrong with its value (the daemon prints it and exits 2).
Result<CommandLine> parse_command_line(int argc, const char* const argv[],
                                       const GetEnv& getenv = nullptr);

// "30", "30s", "500ms", "5m", "2h" (a bare number is seconds).
std::optional<Milliseconds> parse_duration(std::string_view text);
// "4096", "64KiB", "1MiB", "1GiB" (K/M/G are binary multiples too).
std::optional<std::uint64_t> parse_size(std::string_view text);

}  // namespace hookd
