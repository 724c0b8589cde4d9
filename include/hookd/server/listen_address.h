// ListenAddress: where the server listens, as --listen writes it. Parsing is
// a pure function (no name resolution), so the daemon can check the flag
// before start-up touches anything.
#pragma once

#include <string>
#include <string_view>

#include "hookd/core/result.h"

namespace hookd {

struct ListenAddress {
  std::string host;         // an IP literal or a host name, without [brackets]
  unsigned short port = 0;  // 0: the kernel picks one
};

// "host:port", "[v6-address]:port" or ":port" (all IPv4 interfaces). The
// error says what was expected and quotes the text.
Result<ListenAddress> parse_listen_address(std::string_view text);

}  // namespace hookd
