#include "support/redis_cluster.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <thread>

#include "support/runbooks_repos.h"

namespace hookd::test {

namespace fs = std::filesystem;

namespace {

const char* kHookScript = R"(import json, os, uuid
p = json.loads(os.environ["HOOP_RUNBOOK_HOOK_PAYLOAD"])
open(os.path.join(os.environ["OUT_DIR"], p["n"] + "." + uuid.uuid4().hex), "w").write(str(os.getppid()))
)";

}  // namespace

std::string queue_event_body(const std::string& id) {
  return R"({"id":")" + id + R"(","type":"test.ping","payload":{"n":")" + id + R"("}})";
}

Cluster::Cluster(int count, std::string idle, std::vector<std::string> sink_flags,
                 std::optional<RedisTlsFiles> tls, std::vector<std::string> flags)
    : redis(std::move(tls)),
      sink_a(sink_flags),
      sink_b(sink_flags),
      claim_idle(std::move(idle)),
      node_flags(std::move(flags)) {
  fs::create_directories(repo / "hoop-hooks");
  fs::create_directories(hooks_out);
  write_file(repo / "hoop-hooks" / "test-ping.runbook.py", kHookScript);
  git(repo, "init -q -b main");
  git(repo, "add -A");
  git(repo, "commit -q -m hooks");
  for (int i = 0; i < count; ++i)
    add_node();
}

void Cluster::add_node() {
  DaemonOptions o;
  o.args = {"--queue",
            redis.url(),
            "--node-id",
            "node" + std::to_string(nodes.size() + 1),
            "--claim-idle",
            claim_idle,
            "--queue-require-aof",
            "always",
            "--endpoint",
            "name=a,url=http://127.0.0.1:" + std::to_string(sink_a.port()) + "/a",
            "--endpoint",
            "name=b,url=http://127.0.0.1:" + std::to_string(sink_b.port()) + "/b",
            "--git-url",
            repo.string(),
            "--git-hook-config-ttl",
            "600",
            "--hook-interpreter",
            "/usr/bin/python3",
            "--hook-containment",
            "none",
            "--hook-concurrency",
            "4",
            "--hook-env",
            "OUT_DIR=" + hooks_out.string()};
  o.args.insert(o.args.end(), node_flags.begin(), node_flags.end());
  nodes.push_back(std::make_unique<Daemon>(o));
}

bool Cluster::ready(std::size_t node) {
  return http(nodes[node]->port(), "GET", "/readyz").status == 200;
}

void Cluster::wait_ready() {
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    INFO("node " << n + 1 << " log:\n" << nodes[n]->log());
    REQUIRE(wait_until([&] { return ready(n); }, std::chrono::seconds(30)));
  }
}

std::string Cluster::duplicate_runs() const {
  std::map<std::string, std::string> runs;
  for (const auto& [id, n] : hook_counts()) {
    if (n < 2) continue;
    for (const auto& entry : fs::directory_iterator(hooks_out)) {
      std::string name = entry.path().filename().string();
      if (name.substr(0, name.find('.')) == id) runs[id] += " " + read_file(entry.path());
    }
  }
  std::string text;
  for (const auto& [id, pids] : runs)
    text += id + ":" + pids + "  ";
  for (std::size_t n = 0; n < nodes.size(); ++n)
    text += "node" + std::to_string(n + 1) + "=" + std::to_string(nodes[n]->pid()) + " ";
  return text;
}

std::map<std::string, int> Cluster::hook_counts() const {
  std::map<std::string, int> counts;
  for (const auto& entry : fs::directory_iterator(hooks_out)) {
    std::string name = entry.path().filename().string();
    ++counts[name.substr(0, name.find('.'))];
  }
  return counts;
}

bool Cluster::all_done(const std::set<std::string>& ids) const {
  auto hooked = hook_counts();
  auto a = sink_a.delivered();
  auto b = sink_b.delivered();
  for (const auto& id : ids) {
    if (hooked.count(id) == 0 || a.count(id) == 0 || b.count(id) == 0) return false;
  }
  return true;
}

std::string Cluster::missing(const std::set<std::string>& ids) const {
  auto hooked = hook_counts();
  auto a = sink_a.delivered();
  auto b = sink_b.delivered();
  std::size_t h = 0, da = 0, db = 0;
  for (const auto& id : ids) {
    h += hooked.count(id) == 0;
    da += a.count(id) == 0;
    db += b.count(id) == 0;
  }
  return "not hooked " + std::to_string(h) + ", not at a " + std::to_string(da) + ", not at b " +
         std::to_string(db) + " of " + std::to_string(ids.size());
}

std::string Cluster::logs() const {
  std::string all;
  for (std::size_t n = 0; n < nodes.size(); ++n)
    all += "--- node " + std::to_string(n + 1) + "\n" + nodes[n]->log();
  return all;
}

std::size_t duplicates(const std::map<std::string, int>& counts) {
  std::size_t extra = 0;
  for (const auto& [id, n] : counts)
    extra += n > 1 ? static_cast<std::size_t>(n - 1) : 0;
  return extra;
}

std::string duplicated_ids(const std::map<std::string, int>& counts) {
  std::string ids;
  for (const auto& [id, n] : counts)
    if (n > 1) ids += " " + id;
  return ids;
}

// Posts the ids from `threads` threads, each event to port_for(i); returns
// the status of each post.
std::map<std::string, int> post_all(const std::vector<std::string>& ids,
                                    const std::function<unsigned short(std::size_t)>& port_for,
                                    int threads) {
  std::map<std::string, int> statuses;
  std::mutex mutex;
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (std::size_t i = next++; i < ids.size(); i = next++) {
        Reply r = post_json(port_for(i), "/v1/events", queue_event_body(ids[i]));
        std::lock_guard lock(mutex);
        statuses[ids[i]] = r.status;
      }
    });
  }
  for (auto& w : workers)
    w.join();
  return statuses;
}

std::set<std::string> accepted(const std::map<std::string, int>& statuses) {
  std::set<std::string> ids;
  for (const auto& [id, status] : statuses)
    if (status == 202 || status == 200) ids.insert(id);
  return ids;
}

std::vector<std::string> make_ids(const std::string& prefix, int count) {
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i)
    ids.push_back(prefix + std::to_string(i));
  return ids;
}

void check_redis_restart_mid_load(Cluster& cluster) {
  cluster.wait_ready();
  std::map<std::string, int> statuses;
  std::vector<std::string> retry_after_missing;
  std::mutex mutex;
  std::atomic<bool> stop{false};
  std::atomic<int> posted{0};
  std::thread poster([&] {
    for (int i = 0; !stop; ++i) {
      std::string id = "r-" + std::to_string(i);
      Reply r = post_json(cluster.nodes[i % 2]->port(), "/v1/events", queue_event_body(id));
      std::lock_guard lock(mutex);
      statuses[id] = r.status;
      if (r.status == 503 && r.headers.count("retry-after") == 0) retry_after_missing.push_back(id);
      ++posted;
    }
  });
  auto after = [&](int more) {
    int target = posted + more;
    return wait_until([&] { return posted >= target; }, std::chrono::seconds(60));
  };
  CHECK(after(150));
  cluster.redis.kill9();
  CHECK(after(50));
  Reply ready = http(cluster.nodes[0]->port(), "GET", "/readyz");
  CHECK(ready.status == 503);
  CHECK(ready.body.find("\"problem\"") != std::string::npos);
  cluster.redis.start();
  CHECK(wait_until([&] { return cluster.ready(0) && cluster.ready(1); }, std::chrono::seconds(30)));
  CHECK(after(150));
  stop = true;
  poster.join();

  std::map<int, int> by_status;
  for (const auto& [id, status] : statuses)
    ++by_status[status];
  std::string summary;
  for (const auto& [status, n] : by_status)
    summary += std::to_string(status) + ": " + std::to_string(n) + "  ";
  INFO("answers " << summary);
  CHECK(by_status[503] > 0);
  CHECK(by_status[0] == 0);    // no hang, no dropped connection
  CHECK(by_status[500] == 0);  // an outage is not an error of the event
  CHECK(retry_after_missing.empty());
  auto ok = accepted(statuses);
  INFO(cluster.logs());
  REQUIRE(wait_until([&] { return cluster.all_done(ok); }, std::chrono::seconds(120)));
  WARN("after a redis restart: " << summary << "duplicates: hooks "
                                 << duplicates(cluster.hook_counts()) << ", endpoint a "
                                 << duplicates(cluster.sink_a.delivery_counts()) << ":"
                                 << duplicated_ids(cluster.sink_a.delivery_counts()) << " /"
                                 << duplicated_ids(cluster.hook_counts()) << "\n"
                                 << cluster.duplicate_runs());
}

}  // namespace hookd::test
