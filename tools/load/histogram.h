// LatencyHistogram: hookd-load's record of request latencies in microseconds,
// log-bucketed like HdrHistogram so a run of millions of requests costs a few
// kilobytes and every percentile is within 1/128 (< 0.8 %) of the true value.
// Header-only so the tool's test can check the summary math directly.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace hookd::load {

class LatencyHistogram {
 public:
  // Values outside [kMinMicros, kMaxMicros] are clamped into the end buckets
  // (min and max still report what was really seen).
  static constexpr std::uint64_t kMinMicros = 1;
  static constexpr std::uint64_t kMaxMicros = 60'000'000;

  LatencyHistogram() : counts_(bucket_index(kMaxMicros) + 1, 0) {}

  void record(std::uint64_t micros) {
    const std::uint64_t clamped = std::clamp(micros, kMinMicros, kMaxMicros);
    ++counts_[bucket_index(clamped)];
    ++count_;
    sum_ += static_cast<double>(micros);
    if (count_ == 1 || micros < min_) min_ = micros;
    if (micros > max_) max_ = micros;
  }

  void add(const LatencyHistogram& other) {
    for (std::size_t i = 0; i < counts_.size(); ++i)
      counts_[i] += other.counts_[i];
    if (other.count_ > 0) {
      min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
      max_ = std::max(max_, other.max_);
    }
    count_ += other.count_;
    sum_ += other.sum_;
  }

  void reset() { *this = LatencyHistogram(); }

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_); }

  // The smallest recorded value v such that at least `percentile` % of the
  // values are <= v, reported as the highest value of v's bucket (capped at
  // max()), as HdrHistogram does: it never under-reports a tail.
  std::uint64_t percentile(double percentile) const {
    if (count_ == 0) return 0;
    const double p = std::clamp(percentile, 0.0, 100.0);
    // The epsilon keeps 99.9 % of 10000 at rank 9990 despite binary rounding.
    auto rank =
        static_cast<std::uint64_t>(std::ceil(p * static_cast<double>(count_) / 100.0 - 1e-9));
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    if (rank == count_) return max_;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::clamp(bucket_highest(i), min(), max_);
    }
    return max_;
  }

  // Bucket layout: values below 2 * kSubBuckets are exact; above, each power
  // of two is split into kSubBuckets equal buckets, so a bucket's width is at
  // most 1/kSubBuckets of the values in it.
  static constexpr std::uint64_t kSubBuckets = 128;
  static constexpr int kSubBucketBits = 7;

  static std::size_t bucket_index(std::uint64_t value) {
    if (value < 2 * kSubBuckets) return static_cast<std::size_t>(value);
    const int shift = std::bit_width(value) - (kSubBucketBits + 1);
    return static_cast<std::size_t>(2 * kSubBuckets + (shift - 1) * kSubBuckets +
                                    ((value >> shift) - kSubBuckets));
  }

  static std::uint64_t bucket_lowest(std::size_t index) {
    if (index < 2 * kSubBuckets) return index;
    const std::uint64_t above = index - 2 * kSubBuckets;
    const int shift = static_cast<int>(above / kSubBuckets) + 1;
    return (kSubBuckets + above % kSubBuckets) << shift;
  }

  static std::uint64_t bucket_highest(std::size_t index) {
    if (index < 2 * kSubBuckets) return index;
    const int shift = static_cast<int>((index - 2 * kSubBuckets) / kSubBuckets) + 1;
    return bucket_lowest(index) + (std::uint64_t{1} << shift) - 1;
  }

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t min_ = 0;
  std::uint64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace hookd::load
