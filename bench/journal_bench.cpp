// Journal append throughput per fsync mode, with the ~700-byte session-open
// fixture as the event, and parse + append as the ingest path does it.
//
// The journal lives in a fresh directory next to this binary (a real disk,
// not tmpfs), removed after each run.
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "hookd/core/event.h"
#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "hookd/journal/journal.h"

namespace {

namespace fs = std::filesystem;
using hookd::AppendResult;
using hookd::Event;
using hookd::FsyncMode;

std::string read_fixture(const std::string& name) {
  std::ifstream in(fs::path(HOOKD_FIXTURES_DIR) / name, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The session-open fixture as an Event, without going through event.cpp.
Event fixture_event() {
  const auto value = boost::json::parse(read_fixture("session-open.event.json"));
  const auto& obj = value.as_object();
  Event e;
  e.id = obj.at("id").as_string().c_str();
  e.type = obj.at("type").as_string().c_str();
  e.timestamp = obj.at("timestamp").as_string().c_str();
  e.payload_json = boost::json::serialize(obj.at("payload"));
  e.arrival_unix_ms = 1764000000000;
  return e;
}

class BenchDir {
 public:
  BenchDir() {
    std::error_code ec;
    fs::path base = fs::read_symlink("/proc/self/exe", ec).parent_path();
    if (ec || base.empty()) base = fs::temp_directory_path();
    std::string pattern = (base / "journal-bench-XXXXXX").string();
    if (!mkdtemp(pattern.data())) pattern = (fs::temp_directory_path() / "journal-bench").string();
    path_ = pattern;
  }
  ~BenchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::unique_ptr<hookd::Journal> open_bench_journal(const fs::path& dir, FsyncMode mode,
                                                   std::chrono::microseconds window,
                                                   bool preallocate = true) {
  hookd::JournalOptions options;
  options.dir = dir / "journal";
  options.fsync = mode;
  options.batch_window = window;
  options.max_bytes = 8ull << 30;
  options.preallocate = preallocate;  // as the daemon runs
  auto j = hookd::open_file_journal(options);
  if (!j) throw std::runtime_error(j.error().message);
  return std::move(j).value();
}

const char* mode_name(FsyncMode m) {
  return m == FsyncMode::batch ? "batch" : m == FsyncMode::always ? "always" : "off";
}

// The journal's own fsync histogram, so each result says what the disk did:
// fsync latency on a shared machine varies by 10x from minute to minute.
class FsyncProbe {
 public:
  FsyncProbe() : start_count_(histogram().count()), start_sum_(histogram().sum()) {}
  void report(benchmark::State& state, std::uint64_t events) const {
    const auto count = histogram().count() - start_count_;
    const double sum = histogram().sum() - start_sum_;
    state.counters["fsync_ms"] = count ? 1000 * sum / static_cast<double>(count) : 0;
    state.counters["ev_per_fsync"] =
        count ? static_cast<double>(events) / static_cast<double>(count) : 0;
  }

 private:
  static hookd::Histogram& histogram() {
    return hookd::metrics().histogram("hookd_journal_fsync_seconds", "",
                                      hookd::latency_buckets_seconds());
  }
  std::uint64_t start_count_;
  double start_sum_;
};

// Keeps at most `limit` appends outstanding, like that many HTTP clients
// each waiting for its 202 before sending the next request.
class InFlight {
 public:
  explicit InFlight(std::size_t limit) : limit_(limit) {}
  void acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return count_ < limit_; });
    ++count_;
  }
  void release(bool ok) {
    std::lock_guard lock(mu_);
    --count_;
    if (!ok) ++failures_;
    cv_.notify_all();
  }
  void drain() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return count_ == 0; });
  }
  std::size_t failures() const { return failures_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t limit_, count_ = 0, failures_ = 0;
};

// `batch` events per append, at most `in_flight` appends outstanding.
void run_appends(benchmark::State& state, FsyncMode mode, std::size_t batch, std::size_t in_flight,
                 std::chrono::microseconds window, bool preallocate) {
  hookd::log::configure(hookd::log::Level::warn, hookd::log::Format::text);
  BenchDir dir;
  auto journal = open_bench_journal(dir.path(), mode, window, preallocate);
  const Event proto = fixture_event();
  InFlight flight(in_flight);
  FsyncProbe probe;
  std::uint64_t n = 0;
  for (auto _ : state) {
    std::vector<Event> events(batch, proto);
    for (auto& e : events)
      e.id = "evt_bench_" + std::to_string(++n);
    flight.acquire();
    journal->append(std::move(events),
                    [&](AppendResult r) { flight.release(r.code == AppendResult::Code::ok); });
  }
  flight.drain();
  if (flight.failures() > 0) state.SkipWithError("append failed");
  const auto stats = journal->stats();
  if (stats.last_seq != n) state.SkipWithError("events were not all written");
  journal->close();
  probe.report(state, n);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
  state.SetBytesProcessed(static_cast<std::int64_t>(stats.bytes));
  state.SetLabel(mode_name(mode));
}

// Args: fsync mode, events per append, appends in flight, batch window (us).
void BM_JournalAppend(benchmark::State& state) {
  run_appends(state, static_cast<FsyncMode>(state.range(0)),
              static_cast<std::size_t>(state.range(1)), static_cast<std::size_t>(state.range(2)),
              std::chrono::microseconds(state.range(3)), true);
}

// Args: fsync mode, appends in flight (one event each), preallocation 0/1.
// What preallocating segments buys: without it every append grows the file,
// and each group commit's fdatasync also commits the new size.
void BM_Preallocation(benchmark::State& state) {
  run_appends(state, static_cast<FsyncMode>(state.range(0)), 1,
              static_cast<std::size_t>(state.range(1)), std::chrono::microseconds(2000),
              state.range(2) != 0);
}

// Parse one request body (the fixture with a fresh id) and append it.
void BM_ParseAndAppend(benchmark::State& state) {
  const auto mode = static_cast<FsyncMode>(state.range(0));
  const auto in_flight = static_cast<std::size_t>(state.range(1));
  hookd::log::configure(hookd::log::Level::warn, hookd::log::Format::text);
  BenchDir dir;
  auto journal = open_bench_journal(dir.path(), mode, std::chrono::microseconds(2000));
  std::string body = read_fixture("session-open.event.json");
  const std::string fixture_id = "evt_01JD8Z6T9V7Q2M4K8R3N5P1X0A";
  const auto id_at = body.find(fixture_id);
  if (id_at == std::string::npos) {
    state.SkipWithError("fixture id not found");
    return;
  }
  InFlight flight(in_flight);
  FsyncProbe probe;
  std::uint64_t n = 0;
  for (auto _ : state) {
    // Same length as the fixture's id, so the body stays a valid event; a
    // fixed-width suffix, so no two ids coincide.
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%012llu", static_cast<unsigned long long>(++n));
    body.replace(id_at + fixture_id.size() - 12, 12, suffix);
    auto parsed = hookd::parse_events(body);
    if (!parsed) {
      state.SkipWithError(parsed.error().message.c_str());
      break;
    }
    flight.acquire();
    journal->append(std::move(parsed).value(),
                    [&](AppendResult r) { flight.release(r.code == AppendResult::Code::ok); });
  }
  flight.drain();
  if (flight.failures() > 0) state.SkipWithError("append failed");
  if (journal->stats().last_seq != n) state.SkipWithError("events were not all written");
  journal->close();
  probe.report(state, n);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetLabel(mode_name(mode));
}

// Open (recovery scan: CRCs, id index, offsets) of a journal holding
// state.range(0) fixture events, i.e. what a restart costs.
void BM_Recover(benchmark::State& state) {
  const auto count = static_cast<std::uint64_t>(state.range(0));
  hookd::log::configure(hookd::log::Level::warn, hookd::log::Format::text);
  BenchDir dir;
  {
    auto journal = open_bench_journal(dir.path(), FsyncMode::off, std::chrono::microseconds(0));
    const Event proto = fixture_event();
    InFlight flight(8);
    for (std::uint64_t i = 0; i < count; i += 256) {
      std::vector<Event> events(std::min<std::uint64_t>(256, count - i), proto);
      for (std::size_t k = 0; k < events.size(); ++k) {
        events[k].id = "evt_recover_" + std::to_string(i + k);
      }
      flight.acquire();
      journal->append(std::move(events),
                      [&](AppendResult r) { flight.release(r.code == AppendResult::Code::ok); });
    }
    flight.drain();
    journal->close();
  }
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    auto journal = open_bench_journal(dir.path(), FsyncMode::batch, std::chrono::microseconds(0));
    if (journal->stats().last_seq != count) state.SkipWithError("records missing after reopen");
    bytes = journal->stats().bytes;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * count));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

constexpr int kBatch = static_cast<int>(FsyncMode::batch);
constexpr int kAlways = static_cast<int>(FsyncMode::always);
constexpr int kOff = static_cast<int>(FsyncMode::off);

}  // namespace

// One synchronous client (each append waits for the previous one), batches
// of 1 and 64 events, in every mode.
BENCHMARK(BM_JournalAppend)
    ->ArgNames({"mode", "batch", "inflight", "window_us"})
    ->Args({kBatch, 1, 1, 2000})
    ->Args({kBatch, 64, 1, 2000})
    ->Args({kAlways, 1, 1, 2000})
    ->Args({kAlways, 64, 1, 2000})
    ->Args({kOff, 1, 1, 2000})
    ->Args({kOff, 64, 1, 2000})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// 64 concurrent single-event appends (64 clients): what group commit is for;
// window 0 vs 2000 compares plain group commit with the herd linger.
BENCHMARK(BM_JournalAppend)
    ->ArgNames({"mode", "batch", "inflight", "window_us"})
    ->Args({kBatch, 1, 64, 0})
    ->Args({kBatch, 1, 64, 2000})
    ->Args({kAlways, 1, 64, 2000})
    ->Args({kOff, 1, 64, 2000})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Off and on alternate, so that both see the same minute of a shared disk.
BENCHMARK(BM_Preallocation)
    ->ArgNames({"mode", "inflight", "prealloc"})
    ->Args({kBatch, 1, 0})
    ->Args({kBatch, 1, 1})
    ->Args({kBatch, 64, 0})
    ->Args({kBatch, 64, 1})
    ->Args({kAlways, 1, 0})
    ->Args({kAlways, 1, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_ParseAndAppend)
    ->ArgNames({"mode", "inflight"})
    ->Args({kBatch, 1})
    ->Args({kBatch, 64})
    ->Args({kOff, 64})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_Recover)->Arg(100000)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
