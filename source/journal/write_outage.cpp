#include "hookd/journal/write_outage.h"

#include <algorithm>
#include <cerrno>
#include <utility>

namespace hookd::journal_detail {

namespace {

constexpr std::chrono::milliseconds kFirstProbe{100};
constexpr std::chrono::milliseconds kMaxProbe{5000};

}  // namespace

AppendResult::Code outage_code(int error_number) {
  return error_number == ENOSPC || error_number == EDQUOT ? AppendResult::Code::no_space
                                                          : AppendResult::Code::failed;
}

const char* errno_label(int error_number) {
  switch (error_number) {
    case ENOSPC:
      return "ENOSPC";
    case EDQUOT:
      return "EDQUOT";
    case EIO:
      return "EIO";
    case EFBIG:
      return "EFBIG";
    case EROFS:
      return "EROFS";
    default:
      return "other";
  }
}

std::chrono::milliseconds probe_delay(unsigned failures) {
  std::chrono::milliseconds delay = kFirstProbe;
  for (unsigned i = 1; i < failures && delay < kMaxProbe; ++i)
    delay *= 2;
  return std::min(delay, kMaxProbe);
}

void WriteOutage::failed(int error_number, std::string reason, Clock::time_point now) {
  active_ = true;
  ++failures_;
  code_ = outage_code(error_number);
  reason_ = std::move(reason);
  next_probe_ = now + probe_delay(failures_);
}

std::chrono::milliseconds WriteOutage::until_probe(Clock::time_point now) const {
  return std::max(std::chrono::milliseconds(1),
                  std::chrono::ceil<std::chrono::milliseconds>(next_probe_ - now));
}

void WriteOutage::probe_succeeded() {
  active_ = false;
}

}  // namespace hookd::journal_detail
