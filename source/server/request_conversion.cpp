#include "request_conversion.h"

#include <boost/url/grammar/string_token.hpp>
#include <boost/url/parse.hpp>
#include <cstddef>

#include "hookd/core/ascii.h"

namespace hookd {

namespace http = boost::beast::http;

bool to_http_request(BeastRequest& message, HttpRequest& out) {
  auto method = message.method_string();
  out.method.assign(method.data(), method.size());
  auto target = message.target();
  out.target.assign(target.data(), target.size());
  auto url = boost::urls::parse_uri_reference(out.target);
  if (!url || out.target.empty()) return false;
  boost::urls::encoding_opts decode;
  decode.space_as_plus = false;
  url->encoded_path().decode(decode, boost::urls::string_token::assign_to(out.path));
  if (out.path.empty()) out.path = "/";
  auto query = url->encoded_query();
  out.query.assign(query.data(), query.size());
  std::size_t count = 0;
  for (const auto& field : message) {
    if (count == out.headers.size()) out.headers.emplace_back();
    auto& [name, value] = out.headers[count++];
    ascii_lower_assign(name, field.name_string());
    value.assign(field.value().data(), field.value().size());
  }
  out.headers.resize(count);
  out.body.swap(message.body());
  out.params.clear();
  return true;
}

std::string_view method_label(const http::request_header<>& header) {
  if (header.method() == http::verb::unknown) return "other";
  return http::to_string(header.method());
}

}  // namespace hookd
