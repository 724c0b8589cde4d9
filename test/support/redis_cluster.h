// Several real hookd nodes on one real redis-server (--queue), for the queue
// tests: two sinks (endpoints a and b), a runbooks repo whose test.ping hook
// leaves one file per run, and what the tests ask of them (every id hooked
// and delivered, duplicates counted). With TLS files the server speaks only
// rediss:// and the nodes get `node_flags` (e.g. --queue-ca). Not
// thread-safe, except the const queries (files and sink records only).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "support/redis_server.h"
#include "support/sink_process.h"
#include "support/support.h"

namespace hookd::test {

std::string queue_event_body(const std::string& id);

struct Cluster {
  RedisServer redis;
  SinkProcess sink_a;
  SinkProcess sink_b;
  TempDir work;
  std::filesystem::path repo = work.path() / "runbooks";
  std::filesystem::path hooks_out = work.path() / "hook-runs";
  std::string claim_idle;
  std::vector<std::string> node_flags;
  std::vector<std::unique_ptr<Daemon>> nodes;

  Cluster(int count, std::string idle, std::vector<std::string> sink_flags = {},
          std::optional<RedisTlsFiles> tls = std::nullopt, std::vector<std::string> flags = {});

  void add_node();
  bool ready(std::size_t node);
  void wait_ready();
  // For each duplicated hook run, the parent pids of its runs.
  std::string duplicate_runs() const;
  std::map<std::string, int> hook_counts() const;
  // Every id hooked and delivered to both endpoints, at least once.
  bool all_done(const std::set<std::string>& ids) const;
  std::string missing(const std::set<std::string>& ids) const;
  std::string logs() const;
};

std::size_t duplicates(const std::map<std::string, int>& counts);
std::string duplicated_ids(const std::map<std::string, int>& counts);

// Posts the ids from `threads` threads, each event to port_for(i); returns
// the status of each post.
std::map<std::string, int> post_all(const std::vector<std::string>& ids,
                                    const std::function<unsigned short(std::size_t)>& port_for,
                                    int threads = 4);
std::set<std::string> accepted(const std::map<std::string, int>& statuses);
std::vector<std::string> make_ids(const std::string& prefix, int count);

// Posts to every node while Redis is killed (-9) and started again: checks
// (Catch2) that the nodes answered 202 or 503 with Retry-After meanwhile,
// /readyz said why, and every accepted event was hooked and delivered.
void check_redis_restart_mid_load(Cluster& cluster);

}  // namespace hookd::test
