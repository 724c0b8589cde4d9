// RequestFieldParser: Beast's HTTP/1 request grammar (basic_parser does all
// the validation) with hookd's own storage. Each field is stored once, as
// the pair of strings HttpRequest carries (name lower-cased), in arrival
// order, in strings a connection reuses from one request to the next:
// Beast's basic_fields cost a name lookup, an element, a case-insensitive
// tree insert and a list push per field, and the conversion to HttpRequest
// copied every field a second time. The facts the server checks (framing,
// Connection, Expect) are noted as the fields go by. Not thread-safe: one
// per connection, on its reactor.
#pragma once

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/optional/optional.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hookd {

// A request as the server's parser reads it. Kept by the connection: its
// strings keep their capacity for the next request.
struct ParsedRequest {
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  boost::beast::http::verb method = boost::beast::http::verb::unknown;
  std::string method_string;  // as sent
  std::string target;
  unsigned version = 11;
  // Names lower-case, in the order sent (duplicates too). Exactly the
  // header's fields once it is parsed.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // What the server checks, noted while parsing.
  bool transfer_encoding = false;  // a Transfer-Encoding field
  bool content_length = false;     // a Content-Length field
  bool other_coding = false;       // a transfer coding other than chunked
  std::size_t connection = kNone;  // index of the first Connection field
  std::size_t expect = kNone;      // index of the first Expect field

  // Beast's basic_fields::keep_alive(): the first Connection field decides.
  bool keep_alive() const;
  bool expects_continue() const;
};

class RequestFieldParser : public boost::beast::http::basic_parser<true> {
 public:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;

  // `out` must outlive the parser; its header facts are cleared now, its
  // body is appended to.
  explicit RequestFieldParser(ParsedRequest& out);

  ParsedRequest& get() { return out_; }
  const ParsedRequest& get() const { return out_; }

 private:
  void on_request_impl(boost::beast::http::verb method, string_view method_str, string_view target,
                       int version, error_code& ec) override;
  void on_response_impl(int, string_view, int, error_code&) override {}
  void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                     error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code& ec) override;
  std::size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, string_view, error_code& ec) override { ec = {}; }
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override;
  void on_finish_impl(error_code& ec) override { ec = {}; }

  ParsedRequest& out_;
  std::size_t fields_ = 0;  // fields stored so far
};

}  // namespace hookd
