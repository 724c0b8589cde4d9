#include "hookd/core/metrics.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>

namespace hookd {
namespace {

enum class Type { counter, gauge, histogram };

const char* type_name(Type t) {
  switch (t) {
    case Type::counter:
      return "counter";
    case Type::gauge:
      return "gauge";
    case Type::histogram:
      return "histogram";
  }
  return "untyped";
}

// Shortest text that parses back to the same double, as Prometheus clients
// print sample values and "le" bounds.
std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  // Whole numbers (counts, bytes) print as integers, as other clients do,
  // rather than in %g's exponent form ("1e+01").
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

void escape_into(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out.push_back(c);
    }
  }
}

// Label pairs rendered without braces: a="x",b="y". Also the series key.
std::string render_labels(const Labels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out.push_back(',');
    out += k;
    out += "=\"";
    escape_into(out, v, true);
    out.push_back('"');
  }
  return out;
}

std::string with_braces(const std::string& inner) {
  return inner.empty() ? "" : "{" + inner + "}";
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i)
    buckets_[i].store(0);
}

void Histogram::observe(double v) {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i])
    ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

std::vector<double> latency_buckets_seconds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
}

std::vector<double> duration_buckets_seconds() {
  return {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
}

struct MetricsRegistry::Impl {
  struct Series {
    std::string labels;  // rendered, without braces
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> callback;
  };
  struct Family {
    Type type;
    std::string help;
    std::map<std::string, Series> series;
  };

  mutable std::mutex mutex;
  std::map<std::string, Family, std::less<>> families;

  Series& series(std::string_view name, std::string_view help, Type type, const Labels& labels) {
    auto it = families.find(name);
    if (it == families.end()) {
      it = families.emplace(std::string(name), Family{type, std::string(help), {}}).first;
    }
    std::string key = render_labels(labels);
    auto& family = it->second;
    auto [sit, inserted] = family.series.try_emplace(key);
    if (inserted) sit->second.labels = key;
    return sit->second;
  }
};

MetricsRegistry::MetricsRegistry() : impl_(std::make_unique<Impl>()) {}
MetricsRegistry::~MetricsRegistry() = default;

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help,
                                  const Labels& labels) {
  std::lock_guard lock(impl_->mutex);
  auto& s = impl_->series(name, help, Type::counter, labels);
  if (!s.counter) s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(impl_->mutex);
  auto& s = impl_->series(name, help, Type::gauge, labels);
  if (!s.gauge) s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                      const std::vector<double>& upper_bounds,
                                      const Labels& labels) {
  std::lock_guard lock(impl_->mutex);
  auto& s = impl_->series(name, help, Type::histogram, labels);
  if (!s.histogram) s.histogram = std::make_unique<Histogram>(upper_bounds);
  return *s.histogram;
}

void MetricsRegistry::gauge_callback(std::string_view name, std::string_view help,
                                     const Labels& labels, std::function<double()> read) {
  std::lock_guard lock(impl_->mutex);
  auto& s = impl_->series(name, help, Type::gauge, labels);
  s.callback = std::move(read);
}

void MetricsRegistry::remove_gauge_callback(std::string_view name, const Labels& labels) {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->families.find(name);
  if (it == impl_->families.end()) return;
  auto sit = it->second.series.find(render_labels(labels));
  if (sit != it->second.series.end() && sit->second.callback) it->second.series.erase(sit);
}

std::string MetricsRegistry::render() const {
  std::string out;
  out.reserve(16384);
  std::lock_guard lock(impl_->mutex);
  for (const auto& [name, family] : impl_->families) {
    out += "# HELP ";
    out += name;
    out.push_back(' ');
    escape_into(out, family.help, false);
    out += "\n# TYPE ";
    out += name;
    out.push_back(' ');
    out += type_name(family.type);
    out.push_back('\n');
    for (const auto& [key, s] : family.series) {
      if (s.histogram) {
        const auto& bounds = s.histogram->upper_bounds();
        auto counts = s.histogram->cumulative_counts();
        std::string prefix = key.empty() ? "" : key + ",";
        for (std::size_t i = 0; i <= bounds.size(); ++i) {
          std::string le = i < bounds.size() ? format_value(bounds[i]) : "+Inf";
          out += name;
          out += "_bucket{" + prefix + "le=\"" + le + "\"} ";
          out += std::to_string(counts[i]);
          out.push_back('\n');
        }
        out += name + "_sum" + with_braces(key) + " " + format_value(s.histogram->sum()) + "\n";
        // The count must equal the +Inf bucket, which is read above.
        out += name + "_count" + with_braces(key) + " " + std::to_string(counts.back()) + "\n";
        continue;
      }
      double v = 0;
      if (s.counter) {
        v = s.counter->value();
      } else if (s.gauge) {
        v = s.gauge->value();
      } else if (s.callback) {
        v = s.callback();
      } else {
        continue;
      }
      out += name;
      out += with_braces(key);
      out.push_back(' ');
      out += format_value(v);
      out.push_back('\n');
    }
  }
  return out;
}

MetricsRegistry& metrics() {
  static MetricsRegistry registry;
  return registry;
}

}  // namespace hookd
