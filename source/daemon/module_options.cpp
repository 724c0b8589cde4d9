#include "hookd/daemon/module_options.h"

#include "hookd/daemon/redis_attempt_feed.h"
#include "hookd/daemon/redis_object_backing.h"

#include "hookd/delivery/endpoint_list.h"

#include <unistd.h>

#include <algorithm>
#include <string>
#include <system_error>

#include "hookd/core/signature.h"
#include "hookd/queue/redis_url.h"
#include "hookd/server/listen_address.h"
#include "hookd/server/tls_context.h"

namespace hookd {

namespace fs = std::filesystem;

namespace {

Result<HttpServerOptions> server_options(const Config& config) {
  if (auto address = parse_listen_address(config.listen); !address) {
    return make_error("--listen: " + address.error().message);
  }
  if (!config.tls_client_ca.empty() && config.tls_cert.empty() && config.tls_key.empty()) {
    return make_error(
        "--tls-client-ca: needs --tls-cert and --tls-key (client certificates are "
        "a TLS feature)");
  }
  if (!config.tls_cert.empty() || !config.tls_key.empty()) {
    // Loaded here only to be checked; the server loads them again at start.
    auto tls = make_tls_server_context(config.tls_cert, config.tls_key, config.tls_client_ca);
    if (!tls) {
      // The message starts with the file at fault (see tls_context.h).
      const std::string& message = tls.error().message;
      const char* flag = message.rfind("key", 0) == 0         ? "--tls-key: "
                         : message.rfind("client CA", 0) == 0 ? "--tls-client-ca: "
                                                              : "--tls-cert: ";
      return make_error(flag + message);
    }
  }
  HttpServerOptions options;
  options.listen = config.listen;
  options.max_body_bytes = config.max_body_bytes;
  options.max_header_bytes = config.max_header_bytes;
  options.read_timeout = config.read_timeout;
  options.idle_timeout = config.idle_timeout;
  options.max_connections = config.max_connections;
  options.tls_cert_file = config.tls_cert;
  options.tls_key_file = config.tls_key;
  options.tls_client_ca_file = config.tls_client_ca;
  return options;
}

// The admin listener shares the main one's limits and certificate.
Result<std::optional<HttpServerOptions>> admin_server_options(const Config& config,
                                                              const HttpServerOptions& main) {
  if (config.admin_listen.empty()) return std::optional<HttpServerOptions>();
  auto address = parse_listen_address(config.admin_listen);
  if (!address) return make_error("--admin-listen: " + address.error().message);
  // With SO_REUSEPORT a second bind to the same port succeeds and the kernel
  // would spread connections over both listeners.
  auto listen = parse_listen_address(config.listen);
  if (address->port != 0 && listen && listen->port == address->port) {
    return make_error("--admin-listen: port " + std::to_string(address->port) +
                      " is --listen's; give it a port of its own");
  }
  HttpServerOptions options = main;
  options.listen = config.admin_listen;
  // Client certificates are for senders; operators bring a bearer token.
  options.tls_client_ca_file.clear();
  return std::optional<HttpServerOptions>(std::move(options));
}

Result<IngestOptions> ingest_options(const Config& config) {
  IngestOptions ingest;
  for (std::size_t i = 0; i < config.inbound_secrets.size(); ++i) {
    auto secret = WebhookSecret::parse(config.inbound_secrets[i]);
    if (!secret) {
      // Which one, by position: the message never shows a secret.
      std::string which = config.inbound_secrets.size() > 1
                              ? " (number " + std::to_string(i + 1) + " of " +
                                    std::to_string(config.inbound_secrets.size()) + ")"
                              : "";
      return make_error("--inbound-secret" + which + ": " + secret.error().message);
    }
    ingest.inbound_secrets.push_back(std::move(secret).value());
  }
  ingest.signature_tolerance_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(config.signature_tolerance).count();
  ingest.max_events_per_request = config.max_events_per_request;
  // Retry-After is whole seconds: round up, at least 1.
  ingest.retry_after_seconds = static_cast<int>(std::max<std::int64_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(config.retry_after +
                                                          std::chrono::milliseconds(999))
             .count()));
  return ingest;
}

JournalOptions journal_options(const Config& config, const fs::path& data_dir) {
  JournalOptions options;
  options.dir = data_dir / "journal";
  options.max_bytes = config.journal_max_bytes;
  options.segment_bytes = config.journal_segment_bytes;
  options.max_pending_bytes = config.journal_max_pending_bytes;
  options.fsync = config.fsync == "always" ? FsyncMode::always
                  : config.fsync == "off"  ? FsyncMode::off
                                           : FsyncMode::batch;
  options.batch_window =
      std::chrono::duration_cast<std::chrono::microseconds>(config.fsync_batch_window);
  options.dedupe_window = config.dedupe_window;
  options.preallocate = true;
  return options;
}

Result<DeliveryOptions> delivery_options(const Config& config, const fs::path& data_dir) {
  DeliveryOptions options;
  auto endpoints = load_endpoint_list(config.endpoints, config.endpoints_file);
  if (!endpoints) return endpoints.error();
  options.endpoints = std::move(endpoints).value();
  options.endpoint_flags = config.endpoints;
  options.endpoints_file = config.endpoints_file;
  if (!config.retry_schedule.empty()) {
    auto schedule = parse_retry_schedule(config.retry_schedule);
    if (!schedule) return make_error("--retry-schedule: " + schedule.error().message);
    options.retry_schedule = std::move(schedule).value();
  }
  options.jitter = config.retry_jitter;
  options.min_backoff_throttled = config.min_backoff;
  options.dir = data_dir / "delivery";
  options.window = config.delivery_window;
  options.admin_token = config.admin_token;
  return options;
}

RunbooksOptions runbooks_options(const Config& config, const fs::path& data_dir) {
  RunbooksOptions options;
  options.url = config.git_url;
  options.branch = config.git_branch;
  options.ttl = config.git_hook_config_ttl.value_or(std::chrono::seconds(0));
  options.user = config.git_user;
  options.password = config.git_password;
  options.ca_file = config.git_ca;
  options.ssh_key = config.git_ssh_key;
  options.ssh_user = config.git_ssh_user;
  options.ssh_keypass = config.git_ssh_keypass;
  options.ssh_known_hosts = config.git_ssh_known_hosts;
  options.fetch_timeout =
      std::max(std::chrono::seconds(1),
               std::chrono::duration_cast<std::chrono::seconds>(config.git_fetch_timeout));
  options.dir = data_dir / "runbooks";
  return options;
}

Result<HookRunnerOptions> hook_runner_options(const Config& config, const fs::path& data_dir) {
  // Every hook run would fail to start: a configuration error, not a hook's.
  if (::access(config.hook_interpreter.c_str(), X_OK) != 0 ||
      fs::is_directory(config.hook_interpreter)) {
    return make_error("--hook-interpreter '" + config.hook_interpreter +
                      "': not an executable file");
  }
  HookRunnerOptions options;
  options.interpreter = config.hook_interpreter;
  options.concurrency = config.hook_concurrency;
  options.timeout = config.hook_timeout;
  options.kill_grace = config.hook_kill_grace;
  options.output_max_bytes = config.hook_output_max_bytes;
  options.extra_env = config.hook_env;
  options.payload = config.hook_payload == "raw" ? HookPayloadMode::raw : HookPayloadMode::hoop;
  options.work_dir = data_dir / "hook-runs";
  options.max_waiting = config.hook_max_waiting;
  options.executor = config.hook_executor;
  if (config.hook_preload) options.preload = *config.hook_preload;
  // Running hooks must be killed and reaped before main's own drain
  // deadline closes the journal under them.
  options.drain_timeout = std::max<Milliseconds>(
      Milliseconds(1000), config.drain_timeout - config.hook_kill_grace - Milliseconds(1000));
  return options;
}

api::ApiOptions api_options(const Config& config, const fs::path& data_dir,
                            int retry_after_seconds) {
  api::ApiOptions options;
  options.dir = data_dir / "api";
  options.tokens = config.api_tokens;
  options.jwt_secret = config.api_jwt_secret;
  options.limits.max_applications = config.api_max_applications;
  options.limits.max_endpoints_per_app = config.api_max_endpoints_per_app;
  options.limits.max_event_types = config.api_max_event_types;
  options.limits.max_filter_types = config.api_max_filter_types;
  options.limits.max_headers = config.api_max_endpoint_headers;
  options.max_indexed_messages = config.api_max_indexed_messages;
  options.idempotency_keys = config.api_idempotency_keys;
  options.retry_after_seconds = retry_after_seconds;
  options.attempt_retention_ms = config.attempt_retention.count();
  options.attempt_max_bytes = config.attempt_max_bytes;
  options.endpoint_disable_after_ms = config.endpoint_disable_after.count();
  return options;
}

// API endpoints are delivered with the --endpoint endpoints' retry settings.
Result<ApiDeliveryOptions> api_delivery_options(const Config& config, const fs::path& data_dir,
                                                const DeliveryOptions& delivery) {
  if (!config.api_endpoint_ca.empty() &&
      !std::filesystem::is_regular_file(config.api_endpoint_ca)) {
    return make_error("--api-endpoint-ca: " + config.api_endpoint_ca + ": no such file");
  }
  ApiDeliveryOptions options;
  options.dir = data_dir / "delivery" / "api";
  options.ca_file = config.api_endpoint_ca;
  options.retry_schedule = delivery.retry_schedule;
  options.jitter = delivery.jitter;
  options.min_backoff_throttled = delivery.min_backoff_throttled;
  options.window = delivery.window;
  return options;
}

Result<ContainmentOptions> containment_options(const Config& config, const fs::path& data_dir) {
  ContainmentOptions options;
  if (!parse_mode(config.hook_containment, options.mode)) {
    return make_error("--hook-containment: " + config.hook_containment);
  }
  options.limits.memory_max = config.hook_memory_max;
  options.limits.pids_max = config.hook_pids_max;
  options.limits.cpu_max = config.hook_cpu_max;
  options.limits.open_files = config.hook_open_files;
  options.concurrency = config.hook_concurrency;
  auto identity = resolve_hook_identity(config.hook_user, config.hook_group);
  if (!identity) return identity.error();
  options.identity = std::move(*identity);
  if (options.identity && ::geteuid() != 0 &&
      options.identity->uid.value_or(::geteuid()) != ::geteuid()) {
    return make_error("--hook-user: switching users needs hookd to run as root");
  }
  options.reachable_dirs = {data_dir, data_dir / "hook-runs", data_dir / "runbooks",
                            data_dir / "runbooks" / "scripts"};
  return options;
}

// The port file is written once the server listens, long after start-up
// began; a directory that is not there would only show then. One inside
// the data dir is created with it.
Status check_port_file(const Config& config, const fs::path& data_dir) {
  if (config.port_file.empty()) return Ok{};
  fs::path dir = fs::absolute(config.port_file).lexically_normal().parent_path();
  auto [inside, rest] = std::mismatch(data_dir.begin(), data_dir.end(), dir.begin(), dir.end());
  if (inside == data_dir.end()) return Ok{};
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return make_error("--port-file '" + config.port_file + "': no directory " + dir.string());
  }
  return Ok{};
}

}  // namespace

static Result<std::optional<RedisQueueOptions>> queue_options(const Config& config) {
  if (config.queue.empty()) {
    if (!config.queue_ca.empty()) return make_error("--queue-ca: only with --queue rediss://");
    return std::optional<RedisQueueOptions>();
  }
  auto url = parse_redis_url(config.queue);
  if (!url) return make_error("--queue: " + url.error().message);
  if (!url->tls && !config.queue_ca.empty()) {
    return make_error("--queue-ca: the --queue URL is redis:// (no TLS); use rediss://");
  }
  RedisQueueOptions options;
  options.url = std::move(url).value();
  if (!config.queue_password.empty()) options.url.password = config.queue_password;
  options.node_id = config.node_id.empty() ? default_node_id() : config.node_id;
  options.claim_idle = config.claim_idle;
  options.max_deliveries = config.max_deliveries;
  options.max_len = config.queue_max_len;
  // Redis forgets a key at its expiry: "as long as the journal keeps them"
  // has no meaning there.
  if (config.dedupe_window.count() == 0) {
    return make_error(
        "--dedupe-window: 0 (every retained id) needs the local journal; "
        "with --queue give a duration such as 24h");
  }
  options.dedupe_window = std::max<std::chrono::seconds>(
      std::chrono::seconds(1), std::chrono::ceil<std::chrono::seconds>(config.dedupe_window));
  options.require_aof = config.queue_require_aof;
  return std::optional<RedisQueueOptions>(std::move(options));
}

Status open_queue_connections(ModuleOptions& options) {
  if (!options.queue) return Ok{};
  if (options.queue_tls) {
    auto bridge = RedisTlsBridge::open(options.queue->url, *options.queue_tls);
    if (!bridge) return bridge.error();
    options.queue->tls_bridge = std::move(bridge).value();
  }
  // Every node serves the same applications and endpoints (and delivers
  // to all of them): they are kept in Redis beside the queue.
  options.api.backing = std::make_shared<RedisObjectBacking>(
      options.queue->url, options.queue->tls_bridge, options.queue->key_prefix, kApiConsumerPrefix,
      options.queue->answer_timeout);
  // Every node lists every node's attempts.
  RedisAttemptFeedOptions feed;
  feed.url = options.queue->url;
  feed.tls_bridge = options.queue->tls_bridge;
  feed.key = options.queue->key_prefix + "attempts";
  feed.retention_ms = options.api.attempt_retention_ms;
  feed.max_bytes = options.api.attempt_max_bytes;
  feed.timeout = options.queue->answer_timeout;
  options.api.attempt_feed = std::make_shared<RedisAttemptFeed>(std::move(feed));
  return Ok{};
}

Result<ModuleOptions> module_options(const Config& config) {
  ModuleOptions options;
  options.data_dir = fs::absolute(config.data_dir).lexically_normal();
  // "dir/" normalises to "dir/": the same directory, named without the slash.
  if (options.data_dir.filename().empty()) options.data_dir = options.data_dir.parent_path();

  auto server = server_options(config);
  if (!server) return server.error();
  options.server = std::move(server).value();
  auto admin_server = admin_server_options(config, options.server);
  if (!admin_server) return admin_server.error();
  options.admin_server = std::move(admin_server).value();
  if (auto port_file = check_port_file(config, options.data_dir); !port_file) {
    return port_file.error();
  }

  auto ingest = ingest_options(config);
  if (!ingest) return ingest.error();
  options.ingest = std::move(ingest).value();

  options.access.admin_token = config.admin_token;
  options.access.api_tokens = config.api_tokens;
  options.journal = journal_options(config, options.data_dir);
  auto queue = queue_options(config);
  if (!queue) return queue.error();
  options.queue = std::move(queue).value();
  options.api = api_options(config, options.data_dir, options.ingest.retry_after_seconds);
  if (options.queue && options.queue->url.tls) {
    RedisTlsOptions tls;
    tls.ca_file = config.queue_ca;
    tls.socket_dir = options.data_dir / "queue-tls";
    if (auto usable = check_redis_tls_options(tls); !usable) return usable.error();
    options.queue_tls = std::move(tls);
  }

  auto delivery = delivery_options(config, options.data_dir);
  if (!delivery) return delivery.error();
  options.delivery = std::move(delivery).value();
  auto api_delivery = api_delivery_options(config, options.data_dir, options.delivery);
  if (!api_delivery) return api_delivery.error();
  options.api_delivery = std::move(api_delivery).value();

  if (config.hooks_enabled()) {
    options.runbooks = runbooks_options(config, options.data_dir);
    auto hooks = hook_runner_options(config, options.data_dir);
    if (!hooks) return hooks.error();
    options.hooks = std::move(hooks).value();
    options.ingest.tracked_consumers.push_back(HookRunner::kJournalConsumer);
    auto contained = containment_options(config, options.data_dir);
    if (!contained) return contained.error();
    options.containment = std::move(contained).value();
    options.hook_results =
        HookResultStoreOptions{options.data_dir / "hooks" / "results", config.hook_result_retention,
                               config.hook_result_max_bytes, config.hook_result_commit_window,
                               config.hook_result_commit_max};
  }
  return options;
}

}  // namespace hookd
