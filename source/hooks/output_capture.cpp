#include "hookd/hooks/output_capture.h"
#include "hookd/core/utf8.h"

#include <algorithm>
#include <utility>

namespace hookd {

void OutputCapture::append(std::string_view chunk) {
  std::size_t room = max_bytes_ - std::min(max_bytes_, kept_.size());
  std::size_t keep = std::min(room, chunk.size());
  kept_.append(chunk.substr(0, keep));
  dropped_bytes_ += chunk.size() - keep;
}

std::string OutputCapture::take() {
  return std::exchange(kept_, std::string());
}

}  // namespace hookd
