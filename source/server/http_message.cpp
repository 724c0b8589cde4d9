#include "hookd/server/http_message.h"

#include <boost/json.hpp>
#include <cstddef>

#include "hookd/core/ascii.h"
#include "hookd/core/utf8.h"

namespace hookd {

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    // The size first, inline: most names differ in it.
    if (key.size() == name.size() && ascii_iequals(key, name)) return value;
  }
  return {};
}

HttpResponse HttpResponse::json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

HttpResponse HttpResponse::error(int status, std::string_view message) {
  boost::json::object object;
  // Messages often echo request bytes (a percent-decoded path); Boost.JSON
  // writes strings as given, so invalid UTF-8 would make the body invalid JSON.
  object["error"] = valid_utf8(message);
  return json(status, boost::json::serialize(object));
}

}  // namespace hookd
