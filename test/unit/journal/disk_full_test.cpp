// The file journal on a real full filesystem (a small tmpfs, mounted when the
// test runs as root): a full disk refuses appends with no_space, nothing of
// the failed batch is ever readable, and appends resume by themselves once
// space returns, freed by the operator or by retention.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "hookd/core/metrics.h"
#include "hookd/journal/journal.h"
#include "support/journal_appends.h"
#include "support/skip.h"
#include "support/support.h"
#include "support/tmpfs_mount.h"

namespace {

namespace fs = std::filesystem;
using hookd::AppendResult;
using hookd::Event;
using hookd::Journal;
using hookd::JournalOptions;
using hookd::test::append_and_wait;
using hookd::test::open_journal_or_throw;
using hookd::test::sized_event;
using hookd::test::TempDir;
using hookd::test::TmpfsMount;

constexpr std::uint64_t kDiskBytes = 2 << 20;
constexpr std::uint64_t kSegmentBytes = 128 << 10;

JournalOptions on_disk(const fs::path& dir) {
  JournalOptions o;
  o.dir = dir / "journal";
  o.segment_bytes = kSegmentBytes;
  o.max_bytes = 1ull << 30;  // far beyond the disk: the disk is the limit
  o.preallocate = true;
  return o;
}

struct Filled {
  std::vector<std::string> acked;
  std::vector<std::string> refused;  // the batch that met the full disk
  AppendResult refusal;
};

// Appends batches of 8 events of ~1 KiB until one is refused.
Filled fill(Journal& journal, const std::string& prefix) {
  Filled out;
  for (int batch = 0; batch < 10'000; ++batch) {
    std::vector<Event> events;
    std::vector<std::string> ids;
    for (int i = 0; i < 8; ++i) {
      ids.push_back(prefix + std::to_string(batch * 8 + i));
      events.push_back(sized_event(ids.back(), 1000));
    }
    AppendResult r = append_and_wait(journal, std::move(events));
    if (r.code != AppendResult::Code::ok) {
      out.refused = ids;
      out.refusal = std::move(r);
      return out;
    }
    out.acked.insert(out.acked.end(), ids.begin(), ids.end());
  }
  return out;
}

std::vector<std::string> ids_in(Journal& journal) {
  std::vector<std::string> ids;
  auto all = journal.read(0, 1'000'000);
  REQUIRE(all.ok());
  for (const auto& stored : *all)
    ids.push_back(stored.event.id);
  return ids;
}

double write_errors(const std::string& errno_name) {
  // Sums hookd_journal_write_errors_total{...errno="<name>"...} lines.
  const std::string text = hookd::metrics().render();
  double sum = 0;
  std::size_t at = 0;
  while ((at = text.find("hookd_journal_write_errors_total{", at)) != std::string::npos) {
    const std::size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end - at);
    if (line.find("errno=\"" + errno_name + "\"") != std::string::npos) {
      sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
    at = end;
  }
  return sum;
}

}  // namespace

TEST_CASE("a full disk refuses appends with no_space until space returns", "[journal][disk]") {
  TempDir tmp;
  TmpfsMount disk(tmp.path() / "disk", kDiskBytes);
  if (!disk.mounted()) HOOKD_SKIP("a full filesystem is a tmpfs: " + disk.error());
  REQUIRE(hookd::test::write_filler(disk.path() / "filler", 512 << 10));

  const auto options = on_disk(disk.path());
  const double errors_before = write_errors("ENOSPC");
  std::vector<std::string> acked;
  {
    auto j = open_journal_or_throw(options);
    j->register_consumer("siem");  // holds every segment: nothing retires
    Filled filled = fill(*j, "f");
    acked = filled.acked;
    REQUIRE(acked.size() > 100);
    REQUIRE(filled.refusal.code == AppendResult::Code::no_space);
    CHECK(filled.refusal.message.find("No space left on device") != std::string::npos);
    CHECK(filled.refusal.retry_after > std::chrono::milliseconds(0));
    CHECK(filled.refusal.retry_after <= std::chrono::milliseconds(5000));
    CHECK(write_errors("ENOSPC") > errors_before);

    // Refused at once from now on, with the reason.
    const auto stats = j->stats();
    CHECK_FALSE(stats.writable);
    CHECK(stats.unwritable_reason.find("No space left on device") != std::string::npos);
    CHECK(append_and_wait(*j, {sized_event("meanwhile")}).code == AppendResult::Code::no_space);

    // Nothing of the refused batch is readable; everything acked is.
    CHECK(ids_in(*j) == acked);
    for (const auto& id : filled.refused)
      CHECK_FALSE(j->lookup(id));
    CHECK(j->stats().last_seq == acked.size());

    // The operator frees space: the journal probes and takes appends again.
    fs::remove(disk.path() / "filler");
    REQUIRE(hookd::test::wait_until([&] { return j->stats().writable; }));
    auto after = append_and_wait(*j, {sized_event("after")});
    REQUIRE(after.code == AppendResult::Code::ok);
    acked.push_back("after");
    CHECK(j->lookup("after")->seq == acked.size());  // seqs stay dense
  }
  // Reopened: exactly what was acked, in order.
  auto j = open_journal_or_throw(options);
  CHECK(ids_in(*j) == acked);
  CHECK(fs::exists(options.dir / "space-probe.tmp") == false);
}

TEST_CASE("with no consumer holding history a full disk makes room from the oldest segments",
          "[journal][disk]") {
  TempDir tmp;
  TmpfsMount disk(tmp.path() / "disk", kDiskBytes);
  if (!disk.mounted()) HOOKD_SKIP("a full filesystem is a tmpfs: " + disk.error());

  const auto options = on_disk(disk.path());
  auto j = open_journal_or_throw(options);
  Filled filled = fill(*j, "h");
  REQUIRE(filled.refusal.code == AppendResult::Code::no_space);
  const auto first_before = j->stats().first_seq;

  // Nobody needs the oldest segments: retention lets them go and the probe
  // then finds room.
  REQUIRE(hookd::test::wait_until([&] { return j->stats().writable; }));
  CHECK(j->stats().first_seq > first_before);
  REQUIRE(append_and_wait(*j, {sized_event("room")}).code == AppendResult::Code::ok);
  CHECK(j->lookup("room")->seq == filled.acked.size() + 1);
  // What is left is the newest of what was acked, then the new one.
  const auto left = ids_in(*j);
  REQUIRE(left.size() >= 2);
  CHECK(left.back() == "room");
  CHECK(left[left.size() - 2] == filled.acked.back());
}
