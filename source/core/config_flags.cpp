#include "config_flags.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>
#include <string_view>

namespace hookd {

namespace {

auto text_flag(std::string Config::*member) {
  return [member](Config& c, const std::string& v) -> std::optional<std::string> {
    c.*member = v;
    return std::nullopt;
  };
}

auto duration_flag(Milliseconds Config::*member, bool allow_zero = false) {
  return [member, allow_zero](Config& c, const std::string& v) -> std::optional<std::string> {
    auto d = parse_duration(v);
    if (!d || (!allow_zero && d->count() == 0)) {
      return "expected a duration such as 30s, 500ms, 5m, 2d" +
             std::string(allow_zero ? "" : " (greater than zero)");
    }
    c.*member = *d;
    return std::nullopt;
  };
}

template <typename T>
auto size_flag(T Config::*member, std::uint64_t min_value = 1,
               std::uint64_t max_value = UINT64_MAX >> 1) {
  return [member, min_value, max_value](Config& c,
                                        const std::string& v) -> std::optional<std::string> {
    auto n = parse_size(v);
    if (!n || *n < min_value || *n > max_value) {
      return "expected a size such as 4096, 64KiB, 1MiB (from " + std::to_string(min_value) +
             " to " + std::to_string(max_value) + ")";
    }
    c.*member = static_cast<T>(*n);
    return std::nullopt;
  };
}

template <typename T>
auto count_flag(T Config::*member, std::uint64_t min_value) {
  return [member, min_value](Config& c, const std::string& v) -> std::optional<std::string> {
    auto n = parse_whole_number(v);
    if (!n || *n < min_value) return "expected a whole number >= " + std::to_string(min_value);
    c.*member = static_cast<T>(*n);
    return std::nullopt;
  };
}

auto one_of(std::string Config::*member, std::vector<std::string> allowed) {
  return [member, allowed](Config& c, const std::string& v) -> std::optional<std::string> {
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed)
        list += (list.empty() ? "" : ", ") + a;
      return "expected one of " + list;
    }
    c.*member = v;
    return std::nullopt;
  };
}

// Repeatable flags; from the environment, entries are separated by newlines.
auto list_flag(std::vector<std::string> Config::*member) {
  return [member](Config& c, const std::string& v) -> std::optional<std::string> {
    std::istringstream in(v);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) (c.*member).push_back(line);
    }
    return std::nullopt;
  };
}

// A --hook-env entry is NAME=VALUE with NAME as a shell takes it; the hook
// runner sets HOOP_RUNBOOK_HOOK_PAYLOAD itself.
std::optional<std::string> hook_env_problem(std::string_view entry) {
  auto eq = entry.find('=');
  std::string_view name = entry.substr(0, eq);
  auto name_char = [](char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
  };
  if (eq == std::string_view::npos || name.empty() || (name[0] >= '0' && name[0] <= '9') ||
      !std::all_of(name.begin(), name.end(), name_char)) {
    return "expected NAME=VALUE, NAME of letters, digits and _, not starting with a digit";
  }
  if (name == "HOOP_RUNBOOK_HOOK_PAYLOAD") return "HOOP_RUNBOOK_HOOK_PAYLOAD is set by hookd";
  return std::nullopt;
}

// --hook-preload: dotted Python module names separated by commas; empty for none.
std::optional<std::string> parse_preload(Config& c, const std::string& v) {
  std::vector<std::string> modules;
  std::istringstream in(v);
  for (std::string name; std::getline(in, name, ',');) {
    bool valid = !name.empty() && name.front() != '.' && name.back() != '.' &&
                 name.find("..") == std::string::npos &&
                 !std::isdigit(static_cast<unsigned char>(name.front()));
    for (char ch : name) {
      valid = valid && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.');
    }
    if (!valid) return "expected module names separated by commas, got \"" + name + "\"";
    modules.push_back(name);
  }
  c.hook_preload = std::move(modules);
  return std::nullopt;
}

// add(name, env, help, apply[, multi]) appends a row to `group`.
auto adder(FlagGroup& group) {
  return [&group](const char* name, const char* env, const char* help, auto apply,
                  bool multi = false) {
    group.flags.push_back(Flag{name, env, help, apply, multi});
  };
}

FlagGroup server_flags() {
  FlagGroup g{"Server", {}};
  auto add = adder(g);
  add("listen", nullptr,
      "address to serve on, host:port or [v6]:port; port 0 picks one (default 127.0.0.1:8080)",
      text_flag(&Config::listen));
  add("admin-listen", nullptr,
      "serve /healthz, /readyz, /metrics and the token routes (reads, admin) here instead, "
      "host:port; --listen then serves only POST /v1/events and the Svix API",
      text_flag(&Config::admin_listen));
  add("data-dir", nullptr,
      "directory for the journal, runbooks and delivery state (default ./hookd-data)",
      [](Config& c, const std::string& v) -> std::optional<std::string> {
        if (v.empty()) return "must not be empty";
        c.data_dir = v;
        return std::nullopt;
      });
  add("threads", nullptr, "reactor threads, one io_context each (default: number of cores)",
      count_flag(&Config::threads, 1));
  add("port-file", nullptr, "write the bound port to this file once listening",
      text_flag(&Config::port_file));
  add("tls-cert", nullptr, "PEM certificate chain: serve HTTPS (with --tls-key)",
      text_flag(&Config::tls_cert));
  add("tls-key", nullptr, "PEM private key for --tls-cert", text_flag(&Config::tls_key));
  add("tls-client-ca", nullptr,
      "PEM CA certificates: --listen requires a client certificate one of them signed (mTLS); "
      "SIGHUP reads it, --tls-cert and --tls-key again",
      text_flag(&Config::tls_client_ca));
  add("max-connections", nullptr,
      "open client connections; beyond them new ones are refused (default 10000)",
      count_flag(&Config::max_connections, 1));
  add("max-header-bytes", nullptr, "largest request header block; beyond it 431 (default 16KiB)",
      // Beast stores a header field in at most 64 KiB: more is refused here
      // rather than failing inside the parser.
      size_flag(&Config::max_header_bytes, 1024, 65535));
  add("max-body-bytes", nullptr, "largest request body; beyond it 413 (default 1MiB)",
      size_flag(&Config::max_body_bytes));
  add("read-timeout", nullptr, "time to receive a whole request (default 10s)",
      duration_flag(&Config::read_timeout));
  add("idle-timeout", nullptr, "keep-alive connection idle time (default 60s)",
      duration_flag(&Config::idle_timeout));
  add("drain-timeout", nullptr, "on SIGTERM, longest wait for in-flight work (default 30s)",
      duration_flag(&Config::drain_timeout));
  return g;
}

FlagGroup ingest_flags() {
  FlagGroup g{"Ingest", {}};
  auto add = adder(g);
  add("inbound-secret", nullptr,
      "whsec_... secret: require Standard Webhooks signatures on POST /v1/events; repeat it "
      "(newline-separated in the environment) to accept old and new during a rotation "
      "(prefer the environment variable HOOKD_INBOUND_SECRET: flags show in ps)",
      list_flag(&Config::inbound_secrets), true);
  add("signature-tolerance", nullptr, "accepted webhook-timestamp skew (default 5m)",
      duration_flag(&Config::signature_tolerance));
  add("max-events-per-request", nullptr, "events in one array body (default 10000)",
      count_flag(&Config::max_events_per_request, 1));
  add("retry-after", nullptr, "Retry-After sent with 429/503 (default 1s)",
      duration_flag(&Config::retry_after));
  return g;
}

FlagGroup journal_flags() {
  FlagGroup g{"Journal", {}};
  auto add = adder(g);
  add("fsync", nullptr,
      "durability before 202: batch (group commit), always (fsync per request), off",
      one_of(&Config::fsync, {"batch", "always", "off"}));
  add("fsync-batch-window", nullptr, "group commit window for --fsync batch (default 2ms)",
      duration_flag(&Config::fsync_batch_window, true));
  add("dedupe-window", nullptr,
      "ids are deduplicated (and found by GET /v1/events/{id}) this long after arrival; "
      "0: as long as the journal keeps them (not with --queue: Redis keeps them this long) "
      "(default 24h)",
      duration_flag(&Config::dedupe_window, true));
  add("journal-max-bytes", nullptr, "journal size on disk; beyond it 503 (default 1GiB)",
      size_flag(&Config::journal_max_bytes, 1 << 16));
  add("journal-segment-bytes", nullptr, "journal segment file size (default 64MiB)",
      size_flag(&Config::journal_segment_bytes, 1 << 12));
  add("journal-max-pending-bytes", nullptr,
      "bytes accepted but not yet on disk; beyond them 429 (default 64MiB)",
      size_flag(&Config::journal_max_pending_bytes, 1 << 12));
  return g;
}

FlagGroup queue_flags() {
  FlagGroup g{"Queue", {}};
  auto add = adder(g);
  add("queue", nullptr,
      "redis://[user:password@]host:port[/db] (rediss:// for TLS): share events with other "
      "nodes through Redis Streams instead of the local journal (prefer HOOKD_QUEUE_PASSWORD "
      "for the password)",
      text_flag(&Config::queue));
  add("queue-password", nullptr, "Redis password, instead of the one in --queue",
      text_flag(&Config::queue_password));
  add("queue-ca", nullptr,
      "PEM CA bundle that a rediss:// server's certificate is verified against instead of the "
      "system CAs",
      text_flag(&Config::queue_ca));
  add("node-id", nullptr, "this node's consumer name in Redis (default host name + pid)",
      text_flag(&Config::node_id));
  add("claim-idle", nullptr,
      "take over entries another node left unfinished this long (default 30s)",
      duration_flag(&Config::claim_idle));
  add("max-deliveries", nullptr,
      "times an entry is handed out before it goes to the dead-letter stream (default 10)",
      count_flag(&Config::max_deliveries, 1));
  add("queue-max-len", nullptr, "entries the stream keeps at most (default 1000000)",
      count_flag(&Config::queue_max_len, 1000));
  add("queue-require-aof", nullptr,
      "refuse events unless Redis persists them: off, everysec (appendonly yes, appendfsync "
      "everysec or always), always (appendfsync always) (default off)",
      one_of(&Config::queue_require_aof, {"off", "everysec", "always"}));
  return g;
}

FlagGroup runbooks_flags() {
  FlagGroup g{"Runbooks", {}};
  auto add = adder(g);
  add("git-url", "GIT_URL", "runbooks repository: path, file://, git://, https://, ssh://",
      text_flag(&Config::git_url));
  add("git-branch", "GIT_BRANCH", "branch (default: the remote's default branch)",
      text_flag(&Config::git_branch));
  add("git-hook-config-ttl", "GIT_HOOK_CONFIG_TTL",
      "seconds before the hook configuration is fetched again; unset: hooks off",
      [](Config& c, const std::string& v) -> std::optional<std::string> {
        auto n = parse_whole_number(v);
        if (!n || *n == 0) return "expected whole seconds > 0";
        c.git_hook_config_ttl = std::chrono::seconds(*n);
        return std::nullopt;
      });
  add("git-fetch-timeout", nullptr, "a fetch running longer is cancelled (default 60s)",
      duration_flag(&Config::git_fetch_timeout));
  add("git-user", "GIT_USER", "HTTPS user", text_flag(&Config::git_user));
  add("git-password", "GIT_PASSWORD", "HTTPS password or token (prefer the environment)",
      text_flag(&Config::git_password));
  add("git-ca", nullptr,
      "PEM CA bundle that https:// remotes are verified against instead of the system CAs",
      text_flag(&Config::git_ca));
  add("git-ssh-key", "GIT_SSH_KEY", "SSH private key: a file path or the PEM itself",
      text_flag(&Config::git_ssh_key));
  add("git-ssh-user", "GIT_SSH_USER", "SSH user (default git)", text_flag(&Config::git_ssh_user));
  add("git-ssh-keypass", "GIT_SSH_KEYPASS", "SSH key passphrase (prefer the environment)",
      text_flag(&Config::git_ssh_keypass));
  add("git-ssh-known-hosts", "GIT_SSH_KNOWN_HOSTS",
      "known_hosts file; SSH host keys are verified against it",
      text_flag(&Config::git_ssh_known_hosts));
  return g;
}

FlagGroup hooks_flags() {
  FlagGroup g{"Hooks", {}};
  auto add = adder(g);
  add("hook-interpreter", nullptr, "runs each hook script (default /usr/bin/python3)",
      text_flag(&Config::hook_interpreter));
  add("hook-payload", nullptr,
      "HOOP_RUNBOOK_HOOK_PAYLOAD: hoop (Hoop session.open/close webhook payloads mapped to "
      "Hoop's runbook hook shape, others as sent) or raw (always as sent) (default hoop)",
      one_of(&Config::hook_payload, {"hoop", "raw"}));
  add(
      "hook-env", nullptr, "NAME=VALUE added to every hook's environment (repeatable)",
      [](Config& c, const std::string& v) -> std::optional<std::string> {
        auto before = c.hook_env.size();
        list_flag (&Config::hook_env)(c, v);
        for (auto i = before; i < c.hook_env.size(); ++i) {
          if (auto problem = hook_env_problem(c.hook_env[i])) return problem;
        }
        return std::nullopt;
      },
      true);
  add("hook-concurrency", nullptr, "hooks running at once (default 2 x cores)",
      count_flag(&Config::hook_concurrency, 1));
  add("hook-max-waiting", nullptr, "hook runs queued ahead of the running ones (default 10000)",
      count_flag(&Config::hook_max_waiting, 1));
  add("hook-timeout", nullptr,
      "a hook running longer gets SIGTERM to its process group (default 30s)",
      duration_flag(&Config::hook_timeout));
  add("hook-kill-grace", nullptr, "SIGKILL this long after SIGTERM (default 5s)",
      duration_flag(&Config::hook_kill_grace, true));
  add("hook-output-max-bytes", nullptr,
      "captured output per run; the rest is dropped (default 4096)",
      size_flag(&Config::hook_output_max_bytes, 0));
  add("hook-containment", nullptr,
      "what keeps a run's processes together and ends them: auto (cgroup v2 with delegated "
      "controllers, else cgroup v1, else subreaper), cgroup-v2, cgroup-v1, subreaper, none",
      one_of(&Config::hook_containment, {"auto", "cgroup-v2", "cgroup-v1", "subreaper", "none"}));
  add("hook-memory-max", nullptr,
      "memory per run; a run over it is killed, outcome oom (default 256MiB, 0: unlimited)",
      size_flag(&Config::hook_memory_max, 0));
  add("hook-pids-max", nullptr, "processes per run (default 64, 0: unlimited)",
      count_flag(&Config::hook_pids_max, 0));
  add("hook-cpu-max", nullptr, "CPU per run in cores, 0.5 = half of one (default 1, 0: unlimited)",
      [](Config& c, const std::string& v) -> std::optional<std::string> {
        char* end = nullptr;
        double d = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !(d == 0 || (d >= 0.01 && d <= 1024))) {
          return "expected cores from 0.01 to 1024, or 0";
        }
        c.hook_cpu_max = d;
        return std::nullopt;
      });
  add("hook-open-files", nullptr, "open files per hook process (default 256, 0: hookd's limit)",
      count_flag(&Config::hook_open_files, 0));
  add("hook-user", nullptr, "run hooks as this user, with no_new_privs (default: hookd's own)",
      text_flag(&Config::hook_user));
  add("hook-group", nullptr, "run hooks with this group (default: the hook user's)",
      text_flag(&Config::hook_group));
  add("hook-executor", nullptr,
      "how hook runs start: prewarm (forked from a warm interpreter per runbooks commit) or "
      "spawn (a new interpreter each run); default prewarm when the interpreter is CPython",
      one_of(&Config::hook_executor, {"prewarm", "spawn"}));
  add("hook-preload", nullptr,
      "comma-separated modules the prewarm interpreter imports once, empty for none (default "
      "json,os,sys,base64,hashlib,hmac,datetime,socket; a run imports others itself)",
      parse_preload);
  add("hook-result-retention", nullptr,
      "how long finished hook runs are kept for GET /v1/events/{id} (default 30d)",
      duration_flag(&Config::hook_result_retention));
  add("hook-result-max-bytes", nullptr,
      "disk (and memory) the kept hook results may use (default 64MiB)",
      size_flag(&Config::hook_result_max_bytes, 1 << 16));
  add("hook-result-commit-window", nullptr,
      "how long finished hook runs gather before one fdatasync writes them all; 0: a sync per "
      "batch the writer finds (default 2ms)",
      duration_flag(&Config::hook_result_commit_window, true));
  add("hook-result-commit-max", nullptr,
      "finished hook runs that end a commit window early (default 64)",
      count_flag(&Config::hook_result_commit_max, 1));
  return g;
}

FlagGroup delivery_flags() {
  FlagGroup g{"Delivery", {}};
  auto add = adder(g);
  add("endpoint", nullptr,
      "SIEM endpoint "
      "'name=NAME,url=URL[,events=a.b|c.d][,format=webhook|splunk-hec|ndjson|file|syslog]"
      "[,secret=whsec_..][,token=..][,header=Name: value][,ca=FILE][,cert=FILE,key=FILE]"
      "[,timeout=15s][,connections=4][,batch=100][,gzip=on|off]'; file: url=file:///path"
      "[,max_bytes=..,keep=5]; syslog: url=syslog+tcp://h:514 or syslog+tls://h:6514"
      "[,syslog_format=json|cef][,facility=local0][,app_name=hookd] (repeatable)",
      list_flag(&Config::endpoints), true);
  add("endpoints-file", nullptr,
      "more endpoint specs, one per line ('#' comments); SIGHUP reads it again, starting, "
      "stopping and restarting endpoints to match",
      text_flag(&Config::endpoints_file));
  add("retry-schedule", nullptr,
      "delays between delivery attempts (default 5s,5m,30m,2h,5h,10h,10h)",
      text_flag(&Config::retry_schedule));
  add("retry-jitter", nullptr, "random +/- fraction of each retry delay (default 0.2)",
      [](Config& c, const std::string& v) -> std::optional<std::string> {
        char* end = nullptr;
        double d = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !(d >= 0 && d < 1)) return "expected a fraction in [0, 1)";
        c.retry_jitter = d;
        return std::nullopt;
      });
  add("min-backoff", nullptr, "least wait after 429, 502, 504 or a timeout (default 60s)",
      duration_flag(&Config::min_backoff, true));
  add("delivery-window", nullptr, "events per endpoint in flight or awaiting retry (default 1000)",
      count_flag(&Config::delivery_window, 1));
  add("admin-token", nullptr,
      "bearer token for the admin routes (/v1/endpoints replay, enable) and every read "
      "(GET /v1/events/{id}, /v1/endpoints); without it or --api-token reads answer 403 "
      "(prefer HOOKD_ADMIN_TOKEN)",
      text_flag(&Config::admin_token));
  return g;
}

FlagGroup api_flags() {
  FlagGroup g{"Svix API (/api/v1)", {}};
  auto add = adder(g);
  add("api-token", nullptr,
      "bearer token for the Svix API /api/v1, also good for reads (GET /v1/events/{id}, "
      "/v1/endpoints) (repeatable; HOOKD_API_TOKEN: one per line). Without a token or "
      "--api-jwt-secret the API answers 403",
      list_flag(&Config::api_tokens), true);
  add("api-jwt-secret", nullptr,
      "svix-server's jwt_secret: accept the HS256 tokens it issued (prefer HOOKD_API_JWT_SECRET)",
      text_flag(&Config::api_jwt_secret));
  add("api-max-applications", nullptr, "applications the API keeps (default 10000)",
      count_flag(&Config::api_max_applications, 1));
  add("api-max-endpoints-per-app", nullptr, "endpoints per application (default 50)",
      count_flag(&Config::api_max_endpoints_per_app, 1));
  add("api-max-event-types", nullptr, "event types (default 1000)",
      count_flag(&Config::api_max_event_types, 1));
  add("api-max-filter-types", nullptr, "filterTypes entries per endpoint (default 100)",
      count_flag(&Config::api_max_filter_types, 1));
  add("api-max-endpoint-headers", nullptr, "custom headers per endpoint (default 20)",
      count_flag(&Config::api_max_endpoint_headers, 1));
  add("api-max-indexed-messages", nullptr,
      "messages listed by the API, newest kept (default 200000)",
      count_flag(&Config::api_max_indexed_messages, 1));
  add("api-idempotency-keys", nullptr, "idempotency-key answers kept for 24h (default 10000)",
      count_flag(&Config::api_idempotency_keys, 1));
  add("api-endpoint-ca", nullptr,
      "CA bundle (PEM) that API endpoints' certificates must chain to (default: system CAs)",
      text_flag(&Config::api_endpoint_ca));
  add("attempt-retention", nullptr, "how long delivery attempts are kept (default 30d)",
      duration_flag(&Config::attempt_retention));
  add("attempt-max-bytes", nullptr, "disk the kept attempts may use (default 256MiB)",
      size_flag(&Config::attempt_max_bytes, 1 << 16));
  add("endpoint-disable-after", nullptr,
      "disable an API endpoint failing without a success this long (default 5d)",
      duration_flag(&Config::endpoint_disable_after));
  return g;
}

FlagGroup logging_flags() {
  FlagGroup g{"Logging", {}};
  auto add = adder(g);
  add("log-level", nullptr, "debug, info, warn, error (default info)",
      one_of(&Config::log_level, {"debug", "info", "warn", "error"}));
  add("log-format", nullptr, "json or text (default json)",
      one_of(&Config::log_format, {"json", "text"}));
  return g;
}

}  // namespace

std::vector<FlagGroup> flag_groups() {
  return {server_flags(), ingest_flags(),   journal_flags(), queue_flags(),  runbooks_flags(),
          hooks_flags(),  delivery_flags(), api_flags(),     logging_flags()};
}

}  // namespace hookd
