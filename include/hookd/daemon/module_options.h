// ModuleOptions: every module's options, made from one Config. Each flag
// value that only its module can judge is checked here (the listen address,
// the TLS certificate and key, endpoint specs, the API endpoints' CA file, the retry schedule, the
// inbound secret, the hook interpreter, the port file's directory), so that
// the daemon refuses a bad value with exit code 2 before anything touches
// the data directory. Reads the files the flags name; writes nothing.
#pragma once

#include <filesystem>
#include <optional>

#include "hookd/api/service.h"
#include "hookd/core/config.h"
#include "hookd/core/result.h"
#include "hookd/delivery/api_delivery.h"
#include "hookd/delivery/delivery.h"
#include "hookd/hooks/containment.h"
#include "hookd/hooks/hook_result_store.h"
#include "hookd/hooks/hook_runner.h"
#include "hookd/journal/journal.h"
#include "hookd/queue/redis_queue.h"
#include "hookd/queue/redis_tls_bridge.h"
#include "hookd/runbooks/runbooks.h"
#include "hookd/server/http_server.h"
#include "hookd/server/ingest.h"
#include "hookd/server/route_access.h"

namespace hookd {

struct ModuleOptions {
  // Absolute: hooks run in their own working directories, so no path handed
  // to them (scripts under the data dir) may depend on the daemon's.
  std::filesystem::path data_dir;
  HttpServerOptions server;
  // --admin-listen: probes, metrics and the token routes on their own socket.
  std::optional<HttpServerOptions> admin_server;
  IngestOptions ingest;
  AccessTokens access;  // what the read and admin routes accept
  JournalOptions journal;
  // Set with --queue: Redis Streams instead of the local journal.
  std::optional<RedisQueueOptions> queue;
  // Set with rediss://: the TLS bridge that open_queue_connections starts.
  std::optional<RedisTlsOptions> queue_tls;
  DeliveryOptions delivery;
  api::ApiOptions api;
  ApiDeliveryOptions api_delivery;  // on_attempt is set by main
  // Set exactly when config.hooks_enabled().
  std::optional<RunbooksOptions> runbooks;
  std::optional<HookRunnerOptions> hooks;
  std::optional<ContainmentOptions> containment;
  std::optional<HookResultStoreOptions> hook_results;  // with hooks
};

// The error is one line naming the flag, like parse_command_line()'s.
Result<ModuleOptions> module_options(const Config& config);

// With --queue, once the data dir exists: starts the TLS bridge (rediss://,
// its socket under the data dir) and sets what connects to Redis through it
// (the queue's options, the API objects' backing).
Status open_queue_connections(ModuleOptions& options);

}  // namespace hookd
