#include "hookd/server/append_status.h"

namespace hookd {

std::optional<AppendRefusal> append_refusal(const AppendResult& result) {
  switch (result.code) {
    case AppendResult::Code::ok:
      return std::nullopt;
    case AppendResult::Code::full:
      return AppendRefusal{503, "journal full: " + result.message, true};
    case AppendResult::Code::busy:
      return AppendRefusal{429, "journal busy: " + result.message, true};
    case AppendResult::Code::failed:
      return AppendRefusal{500, "journal append failed", false};
  }
  return AppendRefusal{500, "journal append: unknown result", false};
}

}  // namespace hookd
