#include "request_conversion.h"

#include <boost/url/grammar/string_token.hpp>
#include <boost/url/parse.hpp>

namespace hookd {

namespace http = boost::beast::http;

namespace {

// RFC 3986 pchar without pct-encoded (unreserved, sub-delims, ':', '@'), and '/'.
bool plain_path_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  constexpr std::string_view kPunctuation = "-._~!$&'()*+,;=:@/";
  return kPunctuation.find(c) != std::string_view::npos;
}

// An absolute path of plain characters ("/v1/events"): a URI reference that
// is its own decoded path, with no query, so the URL parser can be skipped.
// "//x" would be an authority, "%" needs decoding, "?" starts a query.
bool plain_absolute_path(std::string_view target) {
  if (target.empty() || target[0] != '/' || (target.size() > 1 && target[1] == '/')) return false;
  for (char c : target) {
    if (!plain_path_char(c)) return false;
  }
  return true;
}

}  // namespace

bool to_http_request(ParsedRequest& message, HttpRequest& out) {
  out.method.assign(message.method_string);
  out.target.assign(message.target);
  if (plain_absolute_path(out.target)) {
    out.path = out.target;
    out.query.clear();
  } else {
    auto url = boost::urls::parse_uri_reference(out.target);
    if (!url || out.target.empty()) return false;
    boost::urls::encoding_opts decode;
    decode.space_as_plus = false;
    url->encoded_path().decode(decode, boost::urls::string_token::assign_to(out.path));
    if (out.path.empty()) out.path = "/";
    auto query = url->encoded_query();
    out.query.assign(query.data(), query.size());
  }
  out.headers.swap(message.headers);
  out.body.swap(message.body);
  // params: left for Router::dispatch, which reuses the last request's.
  return true;
}

std::string_view method_label(http::verb method) {
  if (method == http::verb::unknown) return "other";
  return http::to_string(method);
}

}  // namespace hookd
