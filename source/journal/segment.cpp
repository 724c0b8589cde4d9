#include "hookd/journal/segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "hookd/core/durable_file.h"
#include "hookd/core/log.h"
#include "hookd/journal/recovery_scan.h"

namespace hookd::journal_detail {

namespace {

std::string errno_text() {
  return std::strerror(errno);
}

// "<what>: <strerror>", with errno left as it was for the caller.
Error failed_with_errno(const std::string& what) {
  const int error_number = errno;
  Error error = make_error(what + ": " + std::strerror(error_number));
  errno = error_number;
  return error;
}

// The whole file, mapped read-only, for the recovery scan.
class MappedFile {
 public:
  MappedFile(int fd, std::size_t size) : size_(size) {
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map != MAP_FAILED) data_ = static_cast<const char*>(map);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
  }
  bool ok() const { return data_ != nullptr; }
  std::string_view bytes() const { return {data_, size_}; }

 private:
  const char* data_ = nullptr;
  std::size_t size_;
};

// What recovery does with the damaged rest of the last segment.
// Without the zeros after the last byte that is not zero: what preallocation
// left unwritten holds nothing worth keeping.
std::string_view without_zero_tail(std::string_view bytes) {
  std::size_t end = bytes.size();
  while (end > 0 && bytes[end - 1] == '\0')
    --end;
  return bytes.substr(0, end);
}

Status cut_damaged_tail(Segment& segment, std::string_view bytes, const SegmentScan& scan) {
  const std::uint64_t offset = scan.valid_bytes;
  const std::uint64_t dropped = bytes.size() - offset;
  std::string saved;
  if (scan.data_follows) {
    auto copy = segment.path;
    copy += "." + std::to_string(offset) + ".corrupt";
    if (auto st = write_atomic(copy, without_zero_tail(bytes.substr(offset))); !st) {
      return make_error("journal: cannot save corrupt tail of " + segment.path.string() + ": " +
                        st.error().message);
    }
    saved = copy.string();
  }
  if (scan.zero_tail) {
    log::debug("journal: cutting the zero tail of the last segment",
               {{"segment", segment.path.string()}, {"offset", offset}, {"zero_bytes", dropped}});
  } else {
    (scan.data_follows ? log::error : log::warn)(
        "journal: truncating corrupt tail of the last segment", {{"segment", segment.path.string()},
                                                                 {"offset", offset},
                                                                 {"reason", describe(scan.stop)},
                                                                 {"dropped_bytes", dropped},
                                                                 {"saved_to", saved}});
  }
  if (::ftruncate(segment.fd, static_cast<off_t>(offset)) != 0 || ::fsync(segment.fd) != 0) {
    return make_error("journal: cannot truncate " + segment.path.string() + ": " + errno_text());
  }
  segment.size = offset;
  segment.written = offset;
  return Ok{};
}

// A segment with no records yet, named for `first_seq` in `dir`, no file.
SegmentPtr empty_segment(const std::filesystem::path& dir, std::uint64_t first_seq) {
  auto segment = std::make_shared<Segment>();
  segment->first_seq = first_seq;
  segment->path = dir / segment_name(first_seq);
  return segment;
}

// The last step of creating or adopting a segment: its name made durable
// (with `sync_dir`) before any record in it can be acknowledged. A file
// whose name is not durable must not turn up after a crash either, so on
// failure it is unlinked (the Segment closes its descriptor).
Result<SegmentPtr> named_durably(SegmentPtr segment, const std::filesystem::path& dir,
                                 bool sync_dir) {
  if (sync_dir && !fsync_dir(dir)) {
    const int error_number = errno;
    ::unlink(segment->path.c_str());
    errno = error_number;
    return failed_with_errno("fsync " + dir.string());
  }
  return segment;
}

}  // namespace

Segment::~Segment() {
  if (fd >= 0) ::close(fd);
}

std::string segment_name(std::uint64_t first_seq) {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu.seg", static_cast<unsigned long long>(first_seq));
  return name;
}

std::optional<std::uint64_t> parse_segment_name(const std::string& name) {
  if (name.size() != 24 || name.compare(20, 4, ".seg") != 0) return std::nullopt;
  std::uint64_t v = 0;
  for (int i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(name[i] - '0');
  }
  return v;
}

bool pread_all(int fd, char* buf, std::size_t n, std::uint64_t offset) {
  while (n > 0) {
    ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0) errno = EIO;  // short file: the record we indexed is gone
      return false;
    }
    buf += r;
    n -= static_cast<std::size_t>(r);
    offset += static_cast<std::uint64_t>(r);
  }
  return true;
}

bool pwrite_all(int fd, const char* buf, std::size_t n, std::uint64_t offset) {
  while (n > 0) {
    ssize_t r = ::pwrite(fd, buf, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0) errno = EIO;
      return false;
    }
    buf += r;
    n -= static_cast<std::size_t>(r);
    offset += static_cast<std::uint64_t>(r);
  }
  return true;
}

Result<SegmentPtr> create_segment(const std::filesystem::path& dir, std::uint64_t first_seq,
                                  bool sync_dir) {
  SegmentPtr segment = empty_segment(dir, first_seq);
  segment->fd = ::open(segment->path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (segment->fd < 0) return failed_with_errno("create " + segment->path.string());
  return named_durably(std::move(segment), dir, sync_dir);
}

Result<SegmentPtr> adopt_segment(const std::filesystem::path& dir, std::uint64_t first_seq, int fd,
                                 const std::filesystem::path& from, bool sync_dir) {
  SegmentPtr segment = empty_segment(dir, first_seq);
  segment->fd = fd;
  if (::rename(from.c_str(), segment->path.c_str()) != 0) {
    const int error_number = errno;
    ::unlink(from.c_str());
    errno = error_number;
    return failed_with_errno("rename " + from.string() + " to " + segment->path.string());
  }
  return named_durably(std::move(segment), dir, sync_dir);
}

int preallocate_file(int fd, std::uint64_t bytes) {
  // Not FALLOC_FL_KEEP_SIZE: the size then still grows with every append,
  // and each fdatasync would commit that change too.
  while (::fallocate(fd, 0, 0, static_cast<off_t>(bytes)) != 0) {
    if (errno != EINTR) return errno == ENOSYS ? EOPNOTSUPP : errno;
  }
  return 0;
}

Result<SegmentPtr> open_segment(const std::filesystem::path& path, std::uint64_t first_seq,
                                bool is_last) {
  auto segment = std::make_shared<Segment>();
  segment->first_seq = first_seq;
  segment->path = path;
  segment->fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (segment->fd < 0)
    return make_error("journal: cannot open " + path.string() + ": " + errno_text());
  struct stat st {};
  if (::fstat(segment->fd, &st) != 0) {
    return make_error("journal: cannot stat " + path.string() + ": " + errno_text());
  }
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  segment->size = file_size;
  segment->written = file_size;
  if (file_size == 0) return segment;

  MappedFile map(segment->fd, file_size);
  if (!map.ok()) return make_error("journal: cannot map " + path.string() + ": " + errno_text());
  SegmentScan scan = scan_segment(map.bytes(), first_seq);
  segment->offsets = std::move(scan.offsets);
  segment->hashes = std::move(scan.id_hashes);
  segment->arrivals_ms = std::move(scan.arrivals_ms);
  if (scan.clean()) return segment;
  if (is_last) {
    // A torn write can only be the tail. Zeros there are preallocated space
    // (reserved again when appends resume) or a tail a crash zero-filled.
    if (auto cut = cut_damaged_tail(*segment, map.bytes(), scan); !cut) return cut.error();
  } else if (scan.zero_tail) {
    // The unused preallocated end of a segment sealed by a roll.
    segment->size = scan.valid_bytes;
    segment->written = scan.valid_bytes;
  } else {
    // Later segments are intact; the records after this point are lost.
    log::error("journal: corrupt record in a sealed segment, skipping the rest of it",
               {{"segment", path.string()},
                {"offset", scan.valid_bytes},
                {"reason", describe(scan.stop)},
                {"skipped_bytes", file_size - scan.valid_bytes}});
  }
  return segment;
}

void delete_segment_file(const Segment& segment) {
  std::error_code ec;
  std::filesystem::remove(segment.path, ec);
  if (ec) {
    log::error("journal: cannot delete segment",
               {{"segment", segment.path.string()}, {"error", ec.message()}});
  } else {
    log::debug("journal: deleted segment",
               {{"segment", segment.path.string()}, {"last_seq", segment.end_seq() - 1}});
  }
}

}  // namespace hookd::journal_detail
