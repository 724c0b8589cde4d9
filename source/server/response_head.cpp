#include "hookd/server/response_head.h"

#include <ostream>  // Beast's status.hpp uses it without including it

#include <boost/beast/http/status.hpp>
#include <string_view>

#include "hookd/core/ascii.h"

namespace hookd {

namespace {

void append_number(std::string& out, std::size_t n) {
  char digits[20];
  char* end = digits + sizeof digits;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  out.append(p, static_cast<std::size_t>(end - p));
}

bool has_line_break(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n') return true;
  }
  return false;
}

// A field a handler set that would split the response or contradict the
// framing the server writes itself.
bool unsafe_field(std::string_view name, std::string_view value) {
  if (name.empty() || has_line_break(name) || has_line_break(value)) return true;
  if (name.find(':') != std::string_view::npos) return true;
  return ascii_iequals(name, "content-length") || ascii_iequals(name, "transfer-encoding") ||
         ascii_iequals(name, "connection");
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name.data(), name.size());
  out += ": ";
  out.append(value.data(), value.size());
  out += "\r\n";
}

}  // namespace

// The fields come in the order Beast wrote them. No body after 1xx, 204 and
// 304: Beast threw on one there, and sent "Content-Length: 0" with a 204.
bool serialize_response_head(std::string& out, unsigned version, const HttpResponse& response,
                             std::size_t body_size, bool keep_alive) {
  out.clear();
  out += "HTTP/";
  out += static_cast<char>('0' + version / 10 % 10);
  out += '.';
  out += static_cast<char>('0' + version % 10);
  out += ' ';
  append_number(out, static_cast<std::size_t>(response.status));
  out += ' ';
  namespace http = boost::beast::http;
  auto reason = http::obsolete_reason(static_cast<http::status>(response.status));
  out.append(reason.data(), reason.size());
  out += "\r\nServer: hookd/" HOOKD_VERSION "\r\n";
  if (!response.content_type.empty() && !has_line_break(response.content_type)) {
    append_field(out, "Content-Type", response.content_type);
  }
  for (const auto& [name, value] : response.headers) {
    if (!unsafe_field(name, value)) append_field(out, name, value);
  }
  if (version >= 11) {
    if (!keep_alive) out += "Connection: close\r\n";
  } else if (keep_alive) {
    out += "Connection: keep-alive\r\n";
  }
  const bool has_body = response.status >= 200 && response.status != 204 && response.status != 304;
  if (has_body) {
    out += "Content-Length: ";
    append_number(out, body_size);
    out += "\r\n";
  }
  out += "\r\n";
  return has_body;
}

}  // namespace hookd
