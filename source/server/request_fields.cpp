#include "request_fields.h"

#include <algorithm>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include "hookd/core/ascii.h"

namespace hookd {

namespace http = boost::beast::http;

bool ParsedRequest::keep_alive() const {
  if (connection == kNone) return version >= 11;
  http::token_list tokens{headers[connection].second};
  return version < 11 ? tokens.exists("keep-alive") : !tokens.exists("close");
}

bool ParsedRequest::expects_continue() const {
  return expect != kNone && ascii_iequals(headers[expect].second, "100-continue");
}

RequestFieldParser::RequestFieldParser(ParsedRequest& out) : out_(out) {
  out_.transfer_encoding = false;
  out_.content_length = false;
  out_.other_coding = false;
  out_.connection = ParsedRequest::kNone;
  out_.expect = ParsedRequest::kNone;
}

void RequestFieldParser::on_request_impl(http::verb method, string_view method_str,
                                         string_view target, int version, error_code& ec) {
  out_.method = method;
  out_.method_string.assign(method_str.data(), method_str.size());
  out_.target.assign(target.data(), target.size());
  out_.version = static_cast<unsigned>(version);
  ec = {};
}

void RequestFieldParser::on_field_impl(http::field name, string_view name_string, string_view value,
                                       error_code& ec) {
  auto& headers = out_.headers;
  if (fields_ == headers.size()) headers.emplace_back();
  auto& [stored_name, stored_value] = headers[fields_];
  ascii_lower_assign(stored_name, std::string_view(name_string.data(), name_string.size()));
  stored_value.assign(value.data(), value.size());
  switch (name) {
    case http::field::transfer_encoding: {
      out_.transfer_encoding = true;
      // Checked by framing_problem(); only a failed request pays for more.
      std::string_view codings = stored_value;
      while (!codings.empty()) {
        std::size_t comma = std::min(codings.find(','), codings.size());
        std::string_view coding = trim_ows(codings.substr(0, comma));
        codings.remove_prefix(std::min(comma + 1, codings.size()));
        if (!coding.empty() && !ascii_iequals(coding, "chunked")) out_.other_coding = true;
      }
      break;
    }
    case http::field::content_length:
      out_.content_length = true;
      break;
    case http::field::connection:
      if (out_.connection == ParsedRequest::kNone) out_.connection = fields_;
      break;
    case http::field::expect:
      if (out_.expect == ParsedRequest::kNone) out_.expect = fields_;
      break;
    default:
      break;
  }
  ++fields_;
  ec = {};
}

void RequestFieldParser::on_header_impl(error_code& ec) {
  out_.headers.resize(fields_);
  ec = {};
}

// As Beast's string_body: the whole announced length is reserved at once
// (basic_parser has checked it against the body limit).
void RequestFieldParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                           error_code& ec) {
  ec = {};
  if (!content_length) return;
  if (*content_length > out_.body.max_size()) {
    ec = boost::beast::error_code(http::error::buffer_overflow);
    return;
  }
  out_.body.reserve(static_cast<std::size_t>(*content_length));
}

std::size_t RequestFieldParser::on_body_impl(string_view body, error_code& ec) {
  if (body.size() > out_.body.max_size() - out_.body.size()) {
    ec = boost::beast::error_code(http::error::buffer_overflow);
    return 0;
  }
  out_.body.append(body.data(), body.size());
  ec = {};
  return body.size();
}

std::size_t RequestFieldParser::on_chunk_body_impl(std::uint64_t, string_view body,
                                                   error_code& ec) {
  return on_body_impl(body, ec);
}

}  // namespace hookd
