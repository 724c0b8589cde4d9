#include "hookd/server/listen_address.h"

#include <algorithm>

namespace hookd {

Result<ListenAddress> parse_listen_address(std::string_view text) {
  ListenAddress address;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return make_error("expected [v6-address]:port, got '" + std::string(text) + "'");
    }
    address.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return make_error("expected host:port, got '" + std::string(text) + "'");
    }
    address.host = std::string(text.substr(0, colon));
    if (address.host.find(':') != std::string::npos) {
      return make_error("write IPv6 addresses as [addr]:port, got '" + std::string(text) + "'");
    }
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoul(std::string(port)) > 65535) {
    return make_error("bad port in '" + std::string(text) + "'");
  }
  if (address.host.empty()) address.host = "0.0.0.0";
  address.port = static_cast<unsigned short>(std::stoul(std::string(port)));
  return address;
}

}  // namespace hookd
