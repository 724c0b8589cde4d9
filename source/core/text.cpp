#include "hookd/core/text.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <system_error>

namespace hookd {

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

std::string json_quote(std::string_view text) {
  return boost::json::serialize(boost::json::string(text));
}

}  // namespace hookd
