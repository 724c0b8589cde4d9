// hookd: wires configuration, the journal, the HTTP server, runbooks, hooks
// and delivery together, then runs the per-core reactors until SIGTERM.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "hookd/core/config.h"
#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "hookd/core/signature.h"
#include "hookd/delivery/delivery.h"
#include "hookd/hooks/hook_runner.h"
#include "hookd/journal/journal.h"
#include "hookd/runbooks/runbooks.h"
#include "hookd/server/http_server.h"
#include "hookd/server/ingest.h"
#include "hookd/server/reactor.h"

namespace {

using namespace hookd;

int fail_config(const std::string& reason) {
  std::fprintf(stderr, "hookd: %s\n", reason.c_str());
  return 2;
}

int fail_start(const std::string& what, const std::string& reason) {
  log::error("start-up failed", {{"what", what}, {"error", reason}});
  return 1;
}

// Written atomically so a reader never sees a partial port number.
bool write_port_file(const std::string& path, unsigned short port) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

double read_rss_bytes() {
  std::ifstream in("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  in >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

double count_open_fds() {
  std::error_code ec;
  double n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

void register_process_metrics() {
  auto& m = metrics();
  m.gauge("hookd_build_info", "hookd version", {{"version", HOOKD_VERSION}}).set(1);
  m.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.")
      .set(static_cast<double>(now_unix_ms()) / 1000.0);
  m.gauge_callback("process_resident_memory_bytes", "Resident memory size in bytes.", {},
                   read_rss_bytes);
  m.gauge_callback("process_open_fds", "Number of open file descriptors.", {}, count_open_fds);
}

// Config -> each module's options. What can fail here is the configuration,
// so it ends start-up with exit code 2.

Result<IngestOptions> ingest_options(const Config& config) {
  IngestOptions ingest;
  if (!config.inbound_secret.empty()) {
    auto secret = WebhookSecret::parse(config.inbound_secret);
    if (!secret) return make_error("--inbound-secret: " + secret.error().message);
    ingest.inbound_secret = *secret;
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

Result<DeliveryOptions> delivery_options_from(const Config& config) {
  DeliveryOptions options;
  for (const auto& text : config.endpoints) {
    auto spec = parse_endpoint_spec(text);
    if (!spec) return make_error("--endpoint: " + spec.error().message);
    for (const auto& other : options.endpoints) {
      if (other.name == spec->name) {
        return make_error("--endpoint: endpoint \"" + spec->name + "\" given twice");
      }
    }
    options.endpoints.push_back(std::move(spec).value());
  }
  if (!config.retry_schedule.empty()) {
    auto schedule = parse_retry_schedule(config.retry_schedule);
    if (!schedule) return make_error("--retry-schedule: " + schedule.error().message);
    options.retry_schedule = std::move(schedule).value();
  }
  options.jitter = config.retry_jitter;
  options.min_backoff_throttled = config.min_backoff;
  options.dir = config.data_dir / "delivery";
  options.window = config.delivery_window;
  options.admin_token = config.admin_token;
  return options;
}

JournalOptions journal_options(const Config& config) {
  JournalOptions options;
  options.dir = config.data_dir / "journal";
  options.max_bytes = config.journal_max_bytes;
  options.segment_bytes = config.journal_segment_bytes;
  options.max_pending_bytes = config.journal_max_pending_bytes;
  options.fsync = config.fsync == "always" ? FsyncMode::always
                  : config.fsync == "off"  ? FsyncMode::off
                                           : FsyncMode::batch;
  options.batch_window =
      std::chrono::duration_cast<std::chrono::microseconds>(config.fsync_batch_window);
  return options;
}

RunbooksOptions runbooks_options(const Config& config) {
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
  options.dir = config.data_dir / "runbooks";
  return options;
}

HookRunnerOptions hook_runner_options(const Config& config) {
  HookRunnerOptions options;
  options.interpreter = config.hook_interpreter;
  options.concurrency = config.hook_concurrency;
  options.timeout = config.hook_timeout;
  options.kill_grace = config.hook_kill_grace;
  options.output_max_bytes = config.hook_output_max_bytes;
  options.extra_env = config.hook_env;
  options.work_dir = config.data_dir / "hook-runs";
  options.max_waiting = config.hook_max_waiting;
  options.executor = config.hook_executor;
  if (config.hook_preload) options.preload = *config.hook_preload;
  // Running hooks must be killed and reaped before main's own drain
  // deadline closes the journal under them.
  options.drain_timeout = std::max<Milliseconds>(
      Milliseconds(1000), config.drain_timeout - config.hook_kill_grace - Milliseconds(1000));
  return options;
}

HttpServerOptions server_options(const Config& config) {
  HttpServerOptions options;
  options.listen = config.listen;
  options.max_body_bytes = config.max_body_bytes;
  options.max_header_bytes = config.max_header_bytes;
  options.read_timeout = config.read_timeout;
  options.idle_timeout = config.idle_timeout;
  options.max_connections = config.max_connections;
  options.tls_cert_file = config.tls_cert;
  options.tls_key_file = config.tls_key;
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parse_command_line(argc, argv);
  if (!parsed) return fail_config(parsed.error().message);
  if (parsed->action != CommandLine::Action::run) {
    std::cout << parsed->text;
    return 0;
  }
  Config config = parsed->config;
  // Hooks run in their own working directories: every path handed to them
  // (scripts under the data dir) must not depend on ours.
  config.data_dir = std::filesystem::absolute(config.data_dir).lexically_normal();

  log::Level level = log::Level::info;
  log::parse_level(config.log_level, level);
  log::configure(level, config.log_format == "text" ? log::Format::text : log::Format::json);

  auto ingest = ingest_options(config);
  if (!ingest) return fail_config(ingest.error().message);

  auto delivery_options = delivery_options_from(config);
  if (!delivery_options) return fail_config(delivery_options.error().message);

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return fail_start("data-dir", config.data_dir.string() + ": " + ec.message());

  // Two daemons on one data dir would interleave journal writes: the lock
  // is held for the life of the process and released by the kernel on exit.
  int lock_fd = ::open((config.data_dir / "LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return fail_start("data-dir", config.data_dir.string() + " is in use by another hookd");
  }

  register_process_metrics();

  auto journal_result = open_file_journal(journal_options(config));
  if (!journal_result) return fail_start("journal", journal_result.error().message);
  std::unique_ptr<Journal> journal = std::move(journal_result).value();

  Reactor reactor(config.threads);

  // Runbooks and hooks only when both a URL and a TTL are given, as in Hoop.
  std::unique_ptr<RunbooksSource> runbooks;
  std::unique_ptr<HookRunner> hooks;
  if (config.hooks_enabled()) {
    try {
      runbooks = std::make_unique<RunbooksSource>(runbooks_options(config));
    } catch (const std::exception& e) {
      return fail_config(std::string("runbooks: ") + e.what());
    }

    RunbooksSource* source = runbooks.get();
    try {
      hooks = std::make_unique<HookRunner>(
          reactor.context(0), *journal, [source] { return source->snapshot(); },
          hook_runner_options(config));
    } catch (const std::exception& e) {
      return fail_config(std::string("hooks: ") + e.what());
    }
  } else if (!config.git_url.empty() || config.git_hook_config_ttl) {
    log::warn(
        "hooks are off: both --git-url (GIT_URL) and --git-hook-config-ttl "
        "(GIT_HOOK_CONFIG_TTL) are needed");
  }

  // Delivery gets the last reactor, so with two or more threads its TLS work
  // does not share a thread with the hook runner.
  Delivery delivery(reactor.context(reactor.size() - 1), *journal, *delivery_options);

  Router router;
  std::vector<std::pair<std::string, EventStatusView>> views;
  std::vector<ReadinessCheck> checks;
  if (hooks) {
    HookRunner* runner = hooks.get();
    views.emplace_back("hook", [runner](std::string_view id) { return runner->status_json(id); });
    RunbooksSource* source = runbooks.get();
    checks.push_back(ReadinessCheck{"runbooks", [source](std::string& detail) {
                                      detail = source->status_json();
                                      return source->snapshot() != nullptr;
                                    }});
    checks.push_back(ReadinessCheck{"hooks", [runner](std::string& detail) {
                                      detail = runner->stats_json();
                                      return true;
                                    }});
  } else {
    checks.push_back(ReadinessCheck{"runbooks", [](std::string& detail) {
                                      detail = R"({"enabled":false})";
                                      return true;
                                    }});
  }
  views.emplace_back("deliveries",
                     [&delivery](std::string_view id) { return delivery.status_json(id); });
  add_event_routes(router, *journal, *ingest, views);
  add_ops_routes(router, *journal, checks);
  delivery.add_routes(router);

  // Consumers register their journal cursors before the first request can
  // be accepted: a new consumer starts at the newest event.
  if (auto started = delivery.start(); !started) {
    return fail_start("delivery", started.error().message);
  }
  if (runbooks) runbooks->start();
  if (hooks) hooks->start();

  HttpServer server(reactor, server_options(config), std::move(router));
  if (auto started = server.start(); !started) {
    return fail_start("listen", started.error().message);
  }

  if (!config.port_file.empty() && !write_port_file(config.port_file, server.port())) {
    return fail_start("port-file", "cannot write " + config.port_file);
  }
  log::info("hookd listening", {{"version", HOOKD_VERSION},
                                {"listen", config.listen},
                                {"port", server.port()},
                                {"threads", reactor.size()},
                                {"tls", !config.tls_cert.empty()},
                                {"fsync", config.fsync},
                                {"data_dir", config.data_dir.string()},
                                {"signatures_required", ingest->inbound_secret.has_value()},
                                {"hooks", config.hooks_enabled()}});

  // Drain order: stop taking requests, let in-flight ones finish, then the
  // consumers, then the journal (on a plain thread: close() fsyncs).
  auto& io = reactor.context(0);
  boost::asio::steady_timer drain_deadline(io);
  std::thread closer;  // only touched on reactor 0, which is this thread
  auto finish = [&] {
    if (closer.joinable()) return;
    closer = std::thread([&] {
      journal->close();
      reactor.stop();
    });
  };
  reactor.run([&] {
    drain_deadline.expires_after(config.drain_timeout);
    drain_deadline.async_wait([&](const boost::system::error_code& e) {
      if (e) return;
      log::warn("drain timed out, stopping", {{"timeout_ms", config.drain_timeout.count()}});
      finish();
    });
    // Hooks and delivery stop on their own reactors; each reports back here.
    server.drain([&] {
      boost::asio::post(io, [&] {
        auto after_hooks = [&] { delivery.stop([&] { boost::asio::post(io, finish); }); };
        if (hooks) {
          hooks->stop([&, after_hooks] { boost::asio::post(io, after_hooks); });
        } else {
          after_hooks();
        }
      });
    });
  });
  if (closer.joinable()) closer.join();
  if (runbooks) runbooks->stop();
  journal->close();
  log::info("hookd stopped");
  return 0;
}
