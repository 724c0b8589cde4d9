// The file journal's recovery over arbitrary bytes as its only segment file:
// scan_segment and open_file_journal keep exactly the valid prefix of
// frames, as an independent decoder here reads it (frame layout of
// journal/frame.h, its own CRC32C); what is cut is copied aside when data
// follows the damage (zeros at its end dropped); the file is cut to the prefix; the journal then
// takes appends, reads them back, and finds everything again after a reopen.
#include <unistd.h>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "hookd/core/event.h"
#include "hookd/core/log.h"
#include "hookd/journal/journal.h"
#include "hookd/journal/recovery_scan.h"
#include "hookd/journal/segment.h"

namespace {

namespace fs = std::filesystem;

// CRC32C (Castagnoli, reflected 0x82F63B78), bit by bit: slow and obviously
// right, unlike the journal's table or hardware version.
std::uint32_t slow_crc32c(std::string_view bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : bytes) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return crc ^ 0xFFFFFFFFu;
}

std::uint64_t little_endian(std::string_view bytes, std::size_t at, int width) {
  std::uint64_t v = 0;
  for (int i = width - 1; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
  return v;
}

struct Frame {
  std::size_t offset = 0;
  std::uint64_t seq = 0;
  std::string id, type, timestamp, message, payload;
  std::int64_t arrival_ms = 0;
};

// [u32 length][u32 crc][u64 seq][u8 format][u32 n][id][u32 n][type]
// [u32 n][timestamp][i64 arrival]([u32 n][message] in format 2)[payload]
std::optional<Frame> read_frame(std::string_view bytes, std::size_t offset, std::uint64_t seq) {
  std::string_view rest = bytes.substr(offset);
  if (rest.size() < 16) return std::nullopt;
  const std::uint64_t length = little_endian(rest, 0, 4);
  // seq + format + three lengths + arrival; at most 1 GiB.
  if (length < 8 + 1 + 12 + 8 || length > (1u << 30) || length > rest.size() - 8) {
    return std::nullopt;
  }
  std::string_view covered = rest.substr(8, length);
  if (slow_crc32c(covered) != little_endian(rest, 4, 4)) return std::nullopt;
  if (little_endian(covered, 0, 8) != seq) return std::nullopt;
  Frame frame;
  frame.offset = offset;
  frame.seq = seq;
  const unsigned format = static_cast<unsigned char>(covered[8]);
  if (format != 1 && format != 2) return std::nullopt;
  std::size_t at = 9;
  auto field = [&](std::string& out) {
    if (covered.size() - at < 4) return false;
    const std::uint64_t n = little_endian(covered, at, 4);
    at += 4;
    if (covered.size() - at < n) return false;
    out.assign(covered.substr(at, n));
    at += n;
    return true;
  };
  if (!field(frame.id) || !field(frame.type) || !field(frame.timestamp)) return std::nullopt;
  if (covered.size() - at < 8) return std::nullopt;
  frame.arrival_ms = static_cast<std::int64_t>(little_endian(covered, at, 8));
  at += 8;
  if (format == 2 && !field(frame.message)) return std::nullopt;
  frame.payload.assign(covered.substr(at));
  return frame;
}

std::vector<Frame> valid_prefix(std::string_view bytes, std::size_t& end) {
  std::vector<Frame> frames;
  end = 0;
  while (auto frame = read_frame(bytes, end, frames.size() + 1)) {
    end += 8 + little_endian(bytes, end, 4);
    frames.push_back(std::move(*frame));
  }
  return frames;
}

std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// What a .corrupt copy keeps: the cut bytes but never-written zeros at the end.
std::string_view without_zero_tail(std::string_view bytes) {
  while (!bytes.empty() && bytes.back() == '\0')
    bytes.remove_suffix(1);
  return bytes;
}

void check_same(const hookd::StoredEvent& stored, const Frame& frame) {
  FUZZ_CHECK(stored.seq == frame.seq);
  FUZZ_CHECK(stored.event.id == frame.id);
  FUZZ_CHECK(stored.event.type == frame.type);
  FUZZ_CHECK(stored.event.timestamp == frame.timestamp);
  FUZZ_CHECK(stored.event.payload_json == frame.payload);
  FUZZ_CHECK(stored.event.arrival_unix_ms == frame.arrival_ms);
  if (frame.message.empty()) {
    FUZZ_CHECK(!stored.event.message);
  } else {
    auto fields = hookd::decode_message_fields(frame.message);
    FUZZ_CHECK(stored.event.message.has_value() == fields.has_value());
    if (fields) {
      FUZZ_CHECK(stored.event.message->app_id == fields->app_id);
      FUZZ_CHECK(stored.event.message->event_id == fields->event_id);
      FUZZ_CHECK(stored.event.message->channels == fields->channels);
    }
  }
}

hookd::AppendResult append(hookd::Journal& journal, std::vector<hookd::Event> events) {
  std::promise<hookd::AppendResult> done;
  auto result = done.get_future();
  journal.append(std::move(events),
                 [&done](hookd::AppendResult r) { done.set_value(std::move(r)); });
  return result.get();
}

std::unique_ptr<hookd::Journal> open(const fs::path& dir) {
  hookd::JournalOptions options;
  options.dir = dir;
  options.fsync = hookd::FsyncMode::off;
  auto journal = hookd::open_file_journal(options);
  FUZZ_CHECK(journal.ok());
  return std::move(journal).value();
}

// Two new events, with ids no recovered record has.
std::vector<hookd::Event> new_events(const std::vector<Frame>& frames) {
  std::set<std::string> taken;
  for (const Frame& frame : frames)
    taken.insert(frame.id);
  std::vector<hookd::Event> events;
  for (int n = 0; events.size() < 2; ++n) {
    hookd::Event event;
    event.id = "evt_after_recovery_" + std::to_string(n);
    if (taken.count(event.id)) continue;
    event.type = "journal.recovered";
    event.timestamp = "2026-12-01T15:00:00Z";
    event.payload_json = R"({"n":)" + std::to_string(n) + "}";
    event.arrival_unix_ms = 1795000000000 + n;
    events.push_back(std::move(event));
  }
  return events;
}

void check_appended(const hookd::StoredEvent& stored, const hookd::Event& event,
                    std::uint64_t seq) {
  FUZZ_CHECK(stored.seq == seq);
  FUZZ_CHECK(stored.event.id == event.id && stored.event.type == event.type);
  FUZZ_CHECK(stored.event.payload_json == event.payload_json);
  FUZZ_CHECK(stored.event.arrival_unix_ms == event.arrival_unix_ms);
}

}  // namespace

// libFuzzer's own mutations almost never leave a frame with the right CRC32C,
// so without help the scan stops at the first mutated frame and recovery of
// deeper records (field lengths, message fields, seqs) is never reached. The
// mutator below mutates as usual, then in three of four cases walks the
// frames and makes each one whose length fits consistent again: its seq is
// the next one and its CRC covers what it holds. The fourth case keeps the
// raw mutation, so torn and corrupt frames are explored as before.
extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

namespace {

void put_little_endian(std::uint8_t* at, std::uint64_t v, int width) {
  for (int i = 0; i < width; ++i, v >>= 8)
    at[i] = static_cast<std::uint8_t>(v & 0xFF);
}

void repair_frames(std::uint8_t* data, std::size_t size, unsigned seed) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::size_t offset = 0;
  for (std::uint64_t seq = 1; size - offset >= 16; ++seq) {
    const std::uint64_t length = little_endian(bytes, offset, 4);
    if (length < 8 + 1 + 12 + 8 || length > size - offset - 8) return;
    // Now and then a frame is left as it is: damage in the middle of a file.
    if ((seed >> (seq % 16)) % 8 == 0) return;
    put_little_endian(data + offset + 8, seq, 8);
    put_little_endian(data + offset + 4, slow_crc32c(bytes.substr(offset + 8, length)), 4);
    offset += 8 + length;
  }
}

}  // namespace

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size,
                                               std::size_t max_size, unsigned int seed) {
  size = LLVMFuzzerMutate(data, size, max_size);
  if (seed % 4 != 0) repair_frames(data, size, seed);
  return size;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet =
      (hookd::log::configure(hookd::log::Level::error, hookd::log::Format::text), true);
  (void)quiet;
  const std::string_view bytes = hookd::fuzz::as_text(data, size);
  std::size_t end = 0;
  const std::vector<Frame> frames = valid_prefix(bytes, end);

  // The scan alone.
  const auto scan = hookd::journal_detail::scan_segment(bytes, 1);
  FUZZ_CHECK(scan.valid_bytes == end);
  FUZZ_CHECK(scan.offsets.size() == frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i)
    FUZZ_CHECK(scan.offsets[i] == frames[i].offset);
  FUZZ_CHECK(scan.clean() == (end == size));
  const std::string_view rest = bytes.substr(end);
  if (!scan.clean()) FUZZ_CHECK(scan.zero_tail == hookd::journal_detail::all_zero(rest));
  FUZZ_CHECK(!(scan.zero_tail && scan.data_follows));

  // The journal opened on it.
  // tmpfs when there is one: the journal fsyncs as it recovers and closes,
  // which on a disk costs more than the rest of a run.
  static const std::string scratch = fs::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  std::string dir_template = scratch + "/hookd-recovery-fuzz-XXXXXX";
  FUZZ_CHECK(::mkdtemp(dir_template.data()) != nullptr);
  const fs::path dir = dir_template;
  const fs::path segment = dir / hookd::journal_detail::segment_name(1);
  {
    std::ofstream out(segment, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    FUZZ_CHECK(out.good());
  }
  const std::uint64_t k = frames.size();
  std::vector<hookd::Event> added = new_events(frames);
  {
    auto journal = open(dir);
    // The damaged tail is cut; data behind the damage is copied aside first.
    FUZZ_CHECK(fs::file_size(segment) == end);
    const fs::path copy = segment.string() + "." + std::to_string(end) + ".corrupt";
    if (scan.data_follows) FUZZ_CHECK(file_text(copy) == without_zero_tail(rest));
    if (!scan.data_follows) FUZZ_CHECK(!fs::exists(copy));

    hookd::JournalStats stats = journal->stats();
    FUZZ_CHECK(stats.last_seq == k);
    FUZZ_CHECK(stats.writable);
    auto read = journal->read(0, k + 10);
    FUZZ_CHECK(read.ok() && read->size() == k);
    for (std::size_t i = 0; i < k; ++i)
      check_same((*read)[i], frames[i]);

    hookd::AppendResult appended = append(*journal, added);
    FUZZ_CHECK(appended.code == hookd::AppendResult::Code::ok);
    FUZZ_CHECK(appended.duplicate == std::vector<bool>(2, false));
    auto after = journal->read(k, 10);
    FUZZ_CHECK(after.ok() && after->size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
      check_appended((*after)[i], added[i], k + 1 + i);
      auto found = journal->lookup(added[i].id);
      FUZZ_CHECK(found && found->seq == k + 1 + i);
    }
    journal->close();
  }
  {
    // And all of it again after a restart.
    auto journal = open(dir);
    auto read = journal->read(0, k + 10);
    FUZZ_CHECK(read.ok() && read->size() == k + 2);
    for (std::size_t i = 0; i < k; ++i)
      check_same((*read)[i], frames[i]);
    for (std::size_t i = 0; i < 2; ++i)
      check_appended((*read)[k + i], added[i], k + 1 + i);
    journal->close();
  }
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return 0;
}
