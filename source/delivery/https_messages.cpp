#include "hookd/delivery/https_messages.h"

#include <boost/beast/core/string.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <charconv>

namespace hookd {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool is_field_value(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < ' ' && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string IncomingResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (beast::iequals(key, name)) return value;
  }
  return {};
}

Result<Origin> parse_origin(std::string_view text) {
  auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed) return Error{"url: cannot parse '" + std::string(text) + "'"};
  const boost::urls::url_view& url = *parsed;
  Origin origin;
  if (url.scheme_id() == boost::urls::scheme::https) {
    origin.tls = true;
  } else if (url.scheme_id() != boost::urls::scheme::http) {
    return Error{"url: scheme must be http or https"};
  }
  if (url.has_userinfo()) return Error{"url: user info is not supported"};
  switch (url.host_type()) {
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6:
      origin.host_is_ip = true;
      break;
    case boost::urls::host_type::name:
      break;
    default:
      return Error{"url: missing or unsupported host"};
  }
  origin.host = url.host_address();
  if (origin.host.empty()) return Error{"url: missing host"};
  for (char c : origin.host) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '\x7f') {
      return Error{"url: invalid host"};
    }
  }
  origin.port = origin.tls ? 443 : 80;
  if (url.has_port() && !url.port().empty()) {
    std::string port(url.port().data(), url.port().size());
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return Error{"url: invalid port '" + port + "'"};
    }
    origin.port = static_cast<std::uint16_t>(value);
  }
  std::string target(url.encoded_target().data(), url.encoded_target().size());
  if (target.empty() || target.front() != '/') target.insert(0, "/");
  origin.target = std::move(target);
  const bool ipv6 = url.host_type() == boost::urls::host_type::ipv6;
  const std::string bracketed = ipv6 ? "[" + origin.host + "]" : origin.host;
  const std::string port_text = std::to_string(origin.port);
  const bool default_port = origin.port == (origin.tls ? 443 : 80);
  origin.host_header = default_port ? bracketed : bracketed + ":" + port_text;
  origin.authority = bracketed + ":" + port_text;
  return origin;
}

Result<BeastRequest> encode_request(OutgoingRequest request, const Origin& origin,
                                    std::string_view user_agent) {
  BeastRequest message;
  const http::verb verb = http::string_to_verb(request.method);
  if (verb != http::verb::unknown) {
    message.method(verb);
  } else if (is_token(request.method)) {
    message.method_string(request.method);
  } else {
    return Error{"request: invalid method '" + request.method + "'"};
  }
  std::string target = request.target.empty() ? origin.target : request.target;
  if (target.front() != '/' || !is_field_value(target) || target.find(' ') != std::string::npos) {
    return Error{"request: invalid target '" + target + "'"};
  }
  message.target(target);
  message.version(11);
  message.set(http::field::host, origin.host_header);
  if (!user_agent.empty()) message.set(http::field::user_agent, user_agent);
  for (auto& [name, value] : request.headers) {
    if (!is_token(name) || !is_field_value(value)) {
      return Error{"request: invalid header '" + name + "'"};
    }
    // Framing belongs to the client.
    if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding")) {
      continue;
    }
    if (beast::iequals(name, "host") || beast::iequals(name, "user-agent")) {
      message.set(name, value);
    } else {
      message.insert(name, value);
    }
  }
  message.body() = std::move(request.body);
  message.prepare_payload();
  return message;
}

IncomingResponse decode_response(const http::response_header<>& header, std::string body) {
  IncomingResponse response;
  response.status = static_cast<int>(header.result_int());
  for (const auto& field : header) {
    response.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
  }
  response.body = std::move(body);
  return response;
}

}  // namespace hookd
