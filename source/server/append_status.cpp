#include "hookd/server/append_status.h"

#include <chrono>

namespace hookd {

std::optional<AppendRefusal> append_refusal(const AppendResult& result) {
  const int probe_seconds =
      static_cast<int>(std::chrono::ceil<std::chrono::seconds>(result.retry_after).count());
  switch (result.code) {
    case AppendResult::Code::ok:
      return std::nullopt;
    case AppendResult::Code::full:
      return AppendRefusal{503, "journal full: " + result.message, true};
    case AppendResult::Code::busy:
      return AppendRefusal{429, "journal busy: " + result.message, true};
    case AppendResult::Code::no_space:
      return AppendRefusal{507, "journal: no space on the disk", true, probe_seconds};
    case AppendResult::Code::failed:
      // After an I/O error the journal (which logged it) probes the disk
      // again by itself: worth a retry then. Closed, it is not.
      if (result.retry_after.count() > 0) {
        return AppendRefusal{503, "journal append failed", true, probe_seconds};
      }
      return AppendRefusal{500, "journal append failed", false};
  }
  return AppendRefusal{500, "journal append: unknown result", false};
}

}  // namespace hookd
