// Micro-benchmarks of the ingest hot path: event parsing, serialisation, and
// Standard Webhooks signing and verifying.
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <benchmark/benchmark.h>

#include "hookd/core/event.h"
#include "hookd/core/signature.h"

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(HOOKD_FIXTURES_DIR) + "/" + name, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + name);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

hookd::WebhookSecret bench_secret() {
  auto secret = hookd::WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  if (!secret.ok()) throw std::runtime_error(secret.error().message);
  return *secret;
}

void BM_ParseSessionOpen(benchmark::State& state) {
  const std::string body = fixture("session-open.event.json");
  hookd::ParseOptions options;
  options.now_unix_ms = 1795515302123;
  for (auto _ : state) {
    auto events = hookd::parse_events(body, options);
    if (!events.ok()) state.SkipWithError(events.error().message.c_str());
    benchmark::DoNotOptimize(events);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_ParseSessionOpen);

// Events without ids: includes generating a ULID for each.
void BM_ParseBatch(benchmark::State& state) {
  const std::string body = fixture("events-batch.json");
  hookd::ParseOptions options;
  options.now_unix_ms = 1795515302123;
  std::size_t per_body = 0;
  for (auto _ : state) {
    auto events = hookd::parse_events(body, options);
    if (!events.ok()) {
      state.SkipWithError(events.error().message.c_str());
      break;
    }
    per_body = events->size();
    benchmark::DoNotOptimize(events);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(per_body));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_ParseBatch);

void BM_ToJson(benchmark::State& state) {
  auto events = hookd::parse_events(fixture("session-open.event.json"));
  if (!events.ok()) throw std::runtime_error(events.error().message);
  const hookd::Event& event = events->front();
  for (auto _ : state) {
    std::string json = hookd::to_json(event);
    benchmark::DoNotOptimize(json);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ToJson);

void BM_FromJson(benchmark::State& state) {
  auto events = hookd::parse_events(fixture("session-open.event.json"));
  if (!events.ok()) throw std::runtime_error(events.error().message);
  const std::string stored = hookd::to_json(events->front());
  for (auto _ : state) {
    auto event = hookd::from_json(stored);
    benchmark::DoNotOptimize(event);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FromJson);

void BM_NewEventId(benchmark::State& state) {
  for (auto _ : state) {
    std::string id = hookd::new_event_id();
    benchmark::DoNotOptimize(id);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NewEventId);

void BM_Sign(benchmark::State& state) {
  const hookd::WebhookSecret secret = bench_secret();
  auto events = hookd::parse_events(fixture("session-open.event.json"));
  if (!events.ok()) throw std::runtime_error(events.error().message);
  const std::string body = hookd::to_json(events->front());
  for (auto _ : state) {
    std::string signature = secret.sign(events->front().id, 1795515302, body);
    benchmark::DoNotOptimize(signature);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_Sign);

void BM_Verify(benchmark::State& state) {
  const hookd::WebhookSecret secret = bench_secret();
  auto events = hookd::parse_events(fixture("session-open.event.json"));
  if (!events.ok()) throw std::runtime_error(events.error().message);
  const std::string body = hookd::to_json(events->front());
  const std::string& id = events->front().id;
  const std::string header = secret.sign(id, 1795515302, body);
  for (auto _ : state) {
    auto status = secret.verify(id, "1795515302", header, body, 1795515302);
    if (!status.ok()) state.SkipWithError(status.error().message.c_str());
    benchmark::DoNotOptimize(status);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_Verify);

}  // namespace

BENCHMARK_MAIN();
