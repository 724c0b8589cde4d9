// Request metrics of the HTTP server. RequestSeries caches one reactor's
// per-route series, so that a request builds no label strings and takes no
// registry lock once its series exists: not thread-safe, one per reactor.
// RequestErrorCounters are shared by all reactors (counters are atomic).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hookd {

class Counter;
class Histogram;

class RequestSeries {
 public:
  // hookd_http_requests_total{route,method,status}, and when seconds >= 0
  // hookd_http_request_duration_seconds{route}.
  void observe(std::string_view route, std::string_view method, int status, double seconds);

 private:
  Histogram& duration(std::string_view route);

  struct Key {
    std::string route;
    std::string method;
    int status;
  };
  struct KeyView {
    std::string_view route;
    std::string_view method;
    int status;
  };
  // Transparent, so that lookups take views.
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(const KeyView& k) const;
    std::size_t operator()(const Key& k) const;
  };
  struct KeyEqual {
    using is_transparent = void;
    static KeyView view(const KeyView& k) { return k; }
    static KeyView view(const Key& k) { return {k.route, k.method, k.status}; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      KeyView x = view(a), y = view(b);
      return x.status == y.status && x.route == y.route && x.method == y.method;
    }
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  // The series of the last request: a reactor mostly answers the same
  // route with the same status, and comparing two short strings is cheaper
  // than the two hash lookups.
  struct Last {
    std::string route;
    std::string method;
    int status = -1;
    Counter* counter = nullptr;
    Histogram* duration = nullptr;  // null: not looked up yet
  };
  Last last_;

  std::unordered_map<Key, Counter*, KeyHash, KeyEqual> counters_;
  std::unordered_map<std::string, Histogram*, StringHash, std::equal_to<>> durations_;
};

// hookd_http_request_errors_total{reason}: requests cut off or refused
// before routing.
struct RequestErrorCounters {
  RequestErrorCounters();
  Counter& body_limit;
  Counter& header_limit;
  Counter& timeout;
  Counter& bad_request;
  Counter& tls;
};

}  // namespace hookd
