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
#include "hookd/core/units.h"  // parse_duration, parse_size: the flag value units

namespace hookd {

// Grouped as --help shows the flags (see config_flags.cpp).
struct Config {
  // Server
  std::string listen = "127.0.0.1:8080";
  std::string admin_listen;  // empty: --listen serves every route
  std::size_t threads = 0;   // 0: one per core
  std::filesystem::path data_dir = "./hookd-data";
  std::string port_file;  // written with the bound port once listening
  std::size_t max_connections = 10000;
  std::uint64_t max_header_bytes = 16 << 10;
  std::uint64_t max_body_bytes = 1 << 20;
  Milliseconds read_timeout{10000};
  Milliseconds idle_timeout{60000};
  Milliseconds drain_timeout{30000};
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;  // set: the main listener requires client certificates

  // Ingest
  std::size_t max_events_per_request = 10000;
  // whsec_... each; a signature by any one is accepted (rotation); none:
  // signatures not required.
  std::vector<std::string> inbound_secrets;
  Milliseconds signature_tolerance{300000};
  Milliseconds retry_after{1000};

  // Journal
  std::uint64_t journal_max_bytes = 1ull << 30;
  std::uint64_t journal_segment_bytes = 64ull << 20;
  std::uint64_t journal_max_pending_bytes = 64ull << 20;
  std::string fsync = "batch";  // batch | always | off
  Milliseconds fsync_batch_window{2};
  Milliseconds dedupe_window{24 * 3600 * 1000};  // 0: every retained id

  // Queue (Redis Streams instead of the local journal when `queue` is set)
  std::string queue;           // redis://[user:password@]host:port[/db]
  std::string queue_password;  // overrides the URL's
  std::string queue_ca;        // rediss://: PEM CA bundle; empty: the system CAs
  std::string node_id;         // empty: host name + pid
  Milliseconds claim_idle{30000};
  std::uint64_t max_deliveries = 10;
  std::uint64_t queue_max_len = 1000000;
  std::string queue_require_aof = "off";  // off | everysec | always

  // Runbooks (Hoop's names)
  std::string git_url;
  std::string git_branch;
  std::optional<std::chrono::seconds> git_hook_config_ttl;  // unset: hooks off
  Milliseconds git_fetch_timeout{60000};
  std::string git_user;
  std::string git_password;
  std::string git_ca;
  std::string git_ssh_key;
  std::string git_ssh_user = "git";
  std::string git_ssh_keypass;
  std::string git_ssh_known_hosts;

  // Hooks
  std::string hook_interpreter = "/usr/bin/python3";
  std::vector<std::string> hook_env;  // NAME=VALUE
  std::string hook_payload = "hoop";  // hoop | raw
  std::size_t hook_concurrency = 0;   // 0: 2 x cores
  std::size_t hook_max_waiting = 10000;
  Milliseconds hook_timeout{30000};
  Milliseconds hook_kill_grace{5000};
  std::uint64_t hook_output_max_bytes = 4096;
  std::string hook_executor;  // prewarm | spawn; empty: prewarm for a CPython interpreter
  std::optional<std::vector<std::string>> hook_preload;  // unset: the hook runner's default set
  Milliseconds hook_result_retention{30LL * 24 * 3600 * 1000};
  std::uint64_t hook_result_max_bytes = 64ull << 20;
  Milliseconds hook_result_commit_window{2};  // group commit: results gather this long
  std::size_t hook_result_commit_max = 64;    // or until this many
  // Hook containment and limits (0: unlimited)
  std::string hook_containment = "auto";  // auto | cgroup-v2 | cgroup-v1 | subreaper | none
  std::uint64_t hook_memory_max = 256ull << 20;
  std::uint64_t hook_pids_max = 64;
  double hook_cpu_max = 1.0;  // cores
  std::uint64_t hook_open_files = 256;
  std::string hook_user;   // empty: hookd's own
  std::string hook_group;  // empty: the hook user's

  // Delivery
  std::vector<std::string> endpoints;  // raw specs, parsed by delivery
  std::string endpoints_file;          // more specs, one per line; read again on SIGHUP
  std::string retry_schedule;          // empty: the default schedule
  double retry_jitter = 0.2;
  Milliseconds min_backoff{60000};
  std::size_t delivery_window = 1000;
  std::string admin_token;

  // Logging
  std::string log_level = "info";
  std::string log_format = "json";

  // Svix API (/api/v1)
  std::vector<std::string> api_tokens;  // static bearer tokens
  std::string api_jwt_secret;           // verifies svix-server's HS256 JWTs
  std::size_t api_max_applications = 10000;
  std::size_t api_max_endpoints_per_app = 50;
  std::size_t api_max_event_types = 1000;
  std::size_t api_max_filter_types = 100;
  std::size_t api_max_endpoint_headers = 20;
  std::size_t api_max_indexed_messages = 200000;
  std::size_t api_idempotency_keys = 10000;
  std::string api_endpoint_ca;  // trust store (PEM) for API endpoints; empty: system CAs
  Milliseconds attempt_retention{30LL * 24 * 3600 * 1000};
  std::uint64_t attempt_max_bytes = 256ull << 20;
  Milliseconds endpoint_disable_after{5LL * 24 * 3600 * 1000};

  bool hooks_enabled() const { return !git_url.empty() && git_hook_config_ttl.has_value(); }
};

struct CommandLine {
  enum class Action { run, help, version };
  Action action = Action::run;
  Config config;
  std::string text;  // help or version text to print
};

using GetEnv = std::function<const char*(const char* name)>;

// Parses argv and the environment and checks each value's syntax. The error
// is one line naming the flag and what is wrong with its value (the daemon
// prints it and exits 2). What only a module can judge (an endpoint spec,
// the listen address, TLS files) is checked by module_options() in
// hookd/daemon/module_options.h, also before the data directory is touched.
Result<CommandLine> parse_command_line(int argc, const char* const argv[],
                                       const GetEnv& getenv = nullptr);

}  // namespace hookd
