// hookd: wires configuration, the journal, the HTTP server, runbooks, hooks
// and delivery together, then runs the per-core reactors until SIGTERM.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <thread>

#include "hookd/api/service.h"
#include "hookd/core/config.h"
#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "hookd/core/private_dir.h"
#include "hookd/core/service_credentials.h"
#include "hookd/core/service_notify.h"
#include "hookd/daemon/module_options.h"
#include "hookd/daemon/svix_wiring.h"
#include "hookd/delivery/api_delivery.h"
#include "hookd/delivery/delivery.h"
#include "hookd/hooks/containment.h"
#include "hookd/hooks/hook_result_store.h"
#include "hookd/hooks/hook_runner.h"
#include "hookd/hooks/orphan_reaper.h"
#include "hookd/journal/journal.h"
#include "hookd/queue/redis_queue.h"
#include "hookd/runbooks/runbooks.h"
#include "hookd/server/http_server.h"
#include "hookd/server/ingest.h"
#include "hookd/server/reactor.h"
#include "hookd/server/route_access.h"

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

// Keep-alives for a service manager that set WatchdogSec: sent from reactor
// 0, so a reactor that stops turning stops them too.
void arm_watchdog(boost::asio::steady_timer& timer, const ServiceNotifier& notifier,
                  std::chrono::microseconds interval) {
  timer.expires_after(interval);
  timer.async_wait([&timer, &notifier, interval](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto sent = notifier.watchdog(); !sent) {
      log::warn("watchdog notify failed", {{"error", sent.error().message}});
    }
    arm_watchdog(timer, notifier, interval);
  });
}

// SIGHUP: delivery reopens its files and reads --endpoints-file again; the
// listeners read their TLS files again (new connections get them).
void wait_for_sighup(boost::asio::signal_set& signals, Delivery& delivery,
                     std::vector<HttpServer*> servers) {
  signals.async_wait([&signals, &delivery, servers](const boost::system::error_code& ec, int) {
    if (ec) return;
    log::info("SIGHUP: reloading endpoints, reopening files, reloading TLS certificates");
    delivery.reload();
    for (HttpServer* server : servers) {
      if (!server) continue;
      if (auto reloaded = server->reload_tls(); !reloaded) {
        log::error("TLS reload failed, the old certificate stays",
                   {{"port", server->port()}, {"error", reloaded.error().message}});
      }
    }
    wait_for_sighup(signals, delivery, servers);
  });
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything is created: every file and directory hookd (and libgit2,
  // which follows the umask) makes is its user's alone, whatever the umask
  // it was started with. Hooks inherit it too.
  ::umask(077);
  // systemd's LoadCredential= files stand in for unset flags and variables.
  const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
  auto parsed =
      parse_command_line(argc, argv, environment_with_credentials(credentials ? credentials : ""));
  if (!parsed) return fail_config(parsed.error().message);
  if (parsed->action != CommandLine::Action::run) {
    std::cout << parsed->text;
    return 0;
  }
  const Config& config = parsed->config;
  // Every flag is checked before anything touches the data directory.
  auto checked = module_options(config);
  if (!checked) return fail_config(checked.error().message);
  ModuleOptions& options = checked.value();
  const std::filesystem::path& data_dir = options.data_dir;

  log::Level level = log::Level::info;
  log::parse_level(config.log_level, level);
  log::configure(level, config.log_format == "text" ? log::Format::text : log::Format::json);

  // Before any thread starts: the reaper's SIGCHLD mask must be every
  // thread's, and orphans of hooks must come back to hookd.
  if (options.hooks) {
    if (auto reaping = OrphanReaper::enable(); !reaping) {
      log::warn("hook orphans go to init", {{"error", reaping.error().message}});
    }
  }

  auto private_dir = make_private_dir(data_dir);
  if (!private_dir) return fail_config(private_dir.error().message);
  if (private_dir->was) {
    // Fixed rather than refused: older hookd versions created it 0755 themselves.
    log::warn(
        "data dir was accessible to other users: group and other permissions removed "
        "from it and everything in it",
        {{"data_dir", data_dir.string()},
         {"mode_was", octal_mode(*private_dir->was)},
         {"entries_fixed", private_dir->entries_tightened}});
  }

  // Two daemons on one data dir would interleave journal writes: the lock
  // is held for the life of the process and released by the kernel on exit.
  int lock_fd = ::open((data_dir / "LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return fail_start("data-dir", data_dir.string() + " is in use by another hookd");
  }

  register_process_metrics();

  // The journal is local, or with --queue the Redis Streams every node shares.
  std::unique_ptr<Journal> journal;
  RedisQueue* queue = nullptr;
  if (auto connections = open_queue_connections(options); !connections) {
    return fail_start("queue", connections.error().message);
  }
  if (options.queue) {
    auto opened = RedisQueue::open(*options.queue);
    if (!opened) return fail_start("queue", opened.error().message);
    queue = opened->get();
    journal = std::move(opened).value();
  } else {
    auto journal_result = open_file_journal(options.journal);
    if (!journal_result) return fail_start("journal", journal_result.error().message);
    journal = std::move(journal_result).value();
  }

  Reactor reactor(config.threads);

  // Runbooks and hooks only when both a URL and a TTL are given, as in Hoop.
  std::unique_ptr<RunbooksSource> runbooks;
  std::shared_ptr<Containment> containment;
  std::unique_ptr<HookRunner> hooks;
  if (options.hooks) {
    auto opened = Containment::open(std::move(*options.containment));
    if (!opened) return fail_config(opened.error().message);
    containment = std::move(*opened);
    options.hooks->containment = containment;
    // Finished runs from before a restart, for GET /v1/events/{id} and so
    // that a recorded arrival is not run again.
    auto hook_results = HookResultStore::open(*options.hook_results);
    if (!hook_results) return fail_start("hook-results", hook_results.error().message);
    options.hooks->result_store = std::move(hook_results).value();
    try {
      runbooks = std::make_unique<RunbooksSource>(*options.runbooks);
    } catch (const std::exception& e) {
      return fail_config(std::string("runbooks: ") + e.what());
    }

    RunbooksSource* source = runbooks.get();
    try {
      hooks = std::make_unique<HookRunner>(
          reactor.context(0), *journal, [source] { return source->snapshot(); }, *options.hooks);
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
  if (queue) {
    options.delivery.shared_tally = queue->shared_tally();
    options.delivery.shared_dead_letters = queue->shared_dead_letters();
    options.api_delivery.shared_dead_letters = queue->shared_dead_letters();
  }
  Delivery delivery(reactor.context(reactor.size() - 1), *journal, options.delivery);
  // The Svix API's endpoints share delivery's reactor; their attempts go to
  // the API (opened below, before any worker runs).
  api::ApiService* api_service = nullptr;
  options.api_delivery.on_attempt = [&api_service](AttemptReport report) {
    api_service->record_attempt(attempt_of(report));
  };
  if (queue) {
    // Every node's attempts come back through the feed into the store.
    options.api_delivery.shared_attempts = [&api_service](const std::string& msg_id,
                                                          const std::string& endpoint_id,
                                                          std::size_t limit) {
      std::vector<SharedAttempt> out;
      if (api_service == nullptr) return out;
      for (const api::Attempt& attempt : api_service->attempts_of(msg_id, endpoint_id, limit))
        out.push_back(shared_attempt_of(attempt));
      return out;
    };
  }
  ApiDelivery api_delivery(reactor.context(reactor.size() - 1), *journal,
                           std::move(options.api_delivery));

  Router router;
  std::vector<std::pair<std::string, EventStatusView>> views;
  std::vector<ReadinessCheck> checks;
  if (hooks) {
    HookRunner* runner = hooks.get();
    views.emplace_back("hook", [runner](const StoredEvent& stored) {
      return runner->status_json(stored.event.id);
    });
    RunbooksSource* source = runbooks.get();
    checks.push_back(ReadinessCheck{"runbooks", [source](std::string& detail) {
                                      detail = source->status_json();
                                      return source->snapshot() != nullptr;
                                    }});
    checks.push_back(ReadinessCheck{"hooks", [runner](std::string& detail) {
                                      detail = runner->stats_json();
                                      return true;
                                    }});
    Containment* cage = containment.get();
    checks.push_back(ReadinessCheck{"hook_containment", [cage](std::string& detail) {
                                      detail = cage->describe_json();
                                      return true;
                                    }});
  } else {
    checks.push_back(ReadinessCheck{"runbooks", [](std::string& detail) {
                                      detail = R"({"enabled":false})";
                                      return true;
                                    }});
  }
  if (queue) {
    checks.push_back(ReadinessCheck{"queue", [queue](std::string& detail) {
                                      detail = queue->status_json();
                                      return true;  // writability is the journal's own check
                                    }});
  }
  views.emplace_back("deliveries", [&delivery](const StoredEvent& stored) {
    return delivery.status_json(stored);
  });
  views.emplace_back("api_deliveries", [&api_delivery](const StoredEvent& stored) {
    return api_delivery.status_json(stored);
  });
  add_event_routes(router, *journal, options.ingest, views);
  add_ops_routes(router, *journal, checks);
  delivery.add_routes(router);

  // The Svix API's routes come after ingest's: the router tries routes in
  // order, and POST /v1/events stays the first it looks at.
  auto svix_api = api::ApiService::open(options.api, *journal);
  if (!svix_api) return fail_start("api", svix_api.error().message);
  api_service = svix_api->get();
  api_service->set_redelivery(
      api::Redelivery{[&api_delivery](const std::string& endpoint, const std::string& msg) {
                        api_delivery.resend(endpoint, msg);
                      },
                      [&api_delivery](const std::string& endpoint, std::int64_t since,
                                      std::optional<std::int64_t> until) {
                        api_delivery.recover(endpoint, since, until);
                      }});
  api_service->add_routes(router);
  // Every route that shows stored data needs a bearer token (route_access.h).
  router.set_gate(make_access_gate(options.access));

  // Consumers register their journal cursors before the first request can
  // be accepted: a new consumer starts at the newest event.
  if (auto started = delivery.start(); !started) {
    return fail_start("delivery", started.error().message);
  }
  if (auto started = api_delivery.start(svix_endpoints(*api_service->store().endpoints()));
      !started) {
    return fail_start("api delivery", started.error().message);
  }
  // Runs on the API store's writer thread once a change is durable, before
  // the API answers: new endpoints' cursors are set by then.
  api_service->store().on_endpoints_changed(
      [&api_delivery](std::shared_ptr<const api::EndpointSet> set) {
        api_delivery.update(svix_endpoints(*set));
      });
  if (runbooks) runbooks->start();
  if (hooks) hooks->start();

  // With --admin-listen, what senders need stays on --listen and the rest
  // moves to the admin socket.
  std::unique_ptr<HttpServer> admin_server;
  if (options.admin_server) {
    admin_server =
        std::make_unique<HttpServer>(reactor, *options.admin_server, operator_routes(router));
    router = sender_routes(router);
  }
  HttpServer server(reactor, options.server, std::move(router));
  if (auto started = server.start(); !started) {
    return fail_start("listen", started.error().message);
  }
  if (admin_server) {
    if (auto started = admin_server->start(); !started) {
      return fail_start("admin-listen", started.error().message);
    }
  }

  if (!config.port_file.empty() && !write_port_file(config.port_file, server.port())) {
    return fail_start("port-file", "cannot write " + config.port_file);
  }
  log::info("hookd listening", {{"version", HOOKD_VERSION},
                                {"listen", config.listen},
                                {"port", server.port()},
                                {"admin_port", admin_server ? admin_server->port() : 0},
                                {"threads", reactor.size()},
                                {"tls", !config.tls_cert.empty()},
                                {"fsync", config.fsync},
                                {"data_dir", data_dir.string()},
                                {"signatures_required", !options.ingest.inbound_secrets.empty()},
                                {"inbound_secrets", options.ingest.inbound_secrets.size()},
                                {"hooks", config.hooks_enabled()}});

  // The service manager (systemd Type=notify) learns that hookd serves now,
  // and SIGHUP reloads delivery instead of ending the process.
  auto& io = reactor.context(0);
  const ServiceNotifier notifier = ServiceNotifier::from_environment();
  if (auto sent = notifier.ready("listening on port " + std::to_string(server.port())); !sent) {
    log::warn("service notify failed", {{"error", sent.error().message}});
  }
  boost::asio::steady_timer watchdog(io);
  if (auto interval = notifier.watchdog_interval()) arm_watchdog(watchdog, notifier, *interval);
  boost::asio::signal_set hangup(io, SIGHUP);
  wait_for_sighup(hangup, delivery, {&server, admin_server.get()});

  // Drain order: stop taking requests, let in-flight ones finish, then the
  // consumers, then the journal (on a plain thread: close() fsyncs).
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
    if (auto sent = notifier.stopping(); !sent) {
      log::warn("service notify failed", {{"error", sent.error().message}});
    }
    hangup.cancel();
    drain_deadline.expires_after(config.drain_timeout);
    drain_deadline.async_wait([&](const boost::system::error_code& e) {
      if (e) return;
      log::warn("drain timed out, stopping", {{"timeout_ms", config.drain_timeout.count()}});
      finish();
    });
    // Both listeners drain at once; each reports back on this reactor.
    auto drain_servers = [&](std::function<void()> done) {
      if (!admin_server) return server.drain(std::move(done));
      auto left = std::make_shared<int>(2);
      auto one_done = [left, done = std::move(done)] {
        if (--*left == 0) done();
      };
      admin_server->drain(one_done);
      server.drain(one_done);
    };
    // Hooks and delivery stop on their own reactors; each reports back here.
    drain_servers([&] {
      boost::asio::post(io, [&] {
        auto after_hooks = [&] {
          delivery.stop([&] { api_delivery.stop([&] { boost::asio::post(io, finish); }); });
        };
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
  // Whatever a run left (a drain that gave up waiting) is killed now.
  hooks.reset();
  containment.reset();
  OrphanReaper::stop();
  log::info("hookd stopped");
  return 0;
}
