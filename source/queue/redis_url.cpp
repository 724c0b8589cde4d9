#include "hookd/queue/redis_url.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <charconv>
#include <optional>

namespace hookd {

namespace {

std::optional<int> whole_number(std::string_view text, int max) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0 || value > max) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::string RedisUrl::describe() const {
  std::string text = tls ? "rediss://" : "redis://";
  if (!user.empty()) text += user + "@";
  bool v6 = host.find(':') != std::string::npos;
  text += v6 ? "[" + host + "]" : host;
  text += ":" + std::to_string(port) + "/" + std::to_string(db);
  return text;
}

Result<RedisUrl> parse_redis_url(std::string_view text) {
  auto parsed = boost::urls::parse_uri(text);
  // Boost.URL's message could quote the text, password included: say it plainly.
  if (!parsed) return make_error("expected redis://[user:password@]host:port[/db]");
  const boost::urls::url_view& url = *parsed;
  RedisUrl out;
  std::string scheme(url.scheme());
  if (scheme == "rediss") {
    out.tls = true;
  } else if (scheme != "redis") {
    return make_error("expected the scheme redis:// or rediss://");
  }
  if (!url.has_authority() || url.host().empty()) return make_error("no host");
  out.host = url.host_address();
  if (url.has_port()) {
    auto port = whole_number(url.port(), 65535);
    if (!port || *port == 0) return make_error("the port must be 1 to 65535");
    out.port = *port;
  }
  if (url.has_userinfo()) {
    out.user = url.user();
    out.password = url.password();
  }
  std::string path = url.path();
  if (!path.empty() && path != "/") {
    auto db = whole_number(std::string_view(path).substr(1), 1 << 20);
    if (path[0] != '/' || !db) return make_error("the path must be a database number, /0");
    out.db = *db;
  }
  if (url.has_query() || url.has_fragment()) return make_error("no query or fragment allowed");
  return out;
}

}  // namespace hookd
