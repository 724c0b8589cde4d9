#include "hookd/core/config.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <sstream>
#include <thread>

namespace hookd {

namespace po = boost::program_options;

namespace {

// One row per flag: the parsing of the value and its environment name live
// next to each other, so adding a flag is one line.
struct Flag {
  const char* name;
  const char* env;  // environment fallback
  const char* help;
  std::function<std::optional<std::string>(Config&, const std::string&)> apply;  // error or nullopt
  bool multi = false;
};

std::string env_name(const char* flag) {
  std::string out = "HOOKD_";
  for (const char* p = flag; *p; ++p)
    out.push_back(*p == '-' ? '_' : std::toupper(*p));
  return out;
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

auto text_flag(std::string Config::*member) {
  return [member](Config& c, const std::string& v) -> std::optional<std::string> {
    c.*member = v;
    return std::nullopt;
  };
}

auto duration_flag(Milliseconds Config::*member, bool allow_zero = false) {
  return [member, allow_zero](Config& c, const std::string& v) -> std::optional<std::string> {
    auto d = parse_duration(v);
    if (!d || (!allow_zero && d->count() == 0)) {
      return "expected a duration such as 30s, 500ms, 5m" +
             std::string(allow_zero ? "" : " (greater than zero)");
    }
    c.*member = *d;
    return std::nullopt;
  };
}

template <typename T>
auto size_flag(T Config::*member, std::uint64_t min_value = 1,
               std::uint64_t max_value = UINT64_MAX >> 1) {
  return [member, min_value, max_value](Config& c,
                                        const std::string& v) -> std::optional<std::string> {
    auto n = parse_size(v);
    if (!n || *n < min_value || *n > max_value) {
      return "expected a size such as 4096, 64KiB, 1MiB (from " + std::to_string(min_value) +
             " to " + std::to_string(max_value) + ")";
    }
    c.*member = static_cast<T>(*n);
    return std::nullopt;
  };
}

template <typename T>
auto count_flag(T Config::*member, std::uint64_t min_value) {
  return [member, min_value](Config& c, const std::string& v) -> std::optional<std::string> {
    std::uint64_t n = 0;
    if (!parse_number(v, n) || n < min_value) {
      return "expected a whole number >= " + std::to_string(min_value);
    }
    c.*member = static_cast<T>(n);
    return std::nullopt;
  };
}

auto one_of(std::string Config::*member, std::vector<std::string> allowed) {
  return [member, allowed](Config& c, const std::string& v) -> std::optional<std::string> {
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed)
        list += (list.empty() ? "" : ", ") + a;
      return "expected one of " + list;
    }
    c.*member = v;
    return std::nullopt;
  };
}

// Repeatable flags; from the environment, entries are separated by newlines.
auto list_flag(std::vector<std::string> Config::*member) {
  return [member](Config& c, const std::string& v) -> std::optional<std::string> {
    std::istringstream in(v);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) (c.*member).push_back(line);
    }
    return std::nullopt;
  };
}

std::vector<Flag> flags() {
  std::vector<Flag> f;
  auto add = [&f](const char* name, const char* env, const char* help, auto apply,
                  bool multi = false) {
    f.push_back(Flag{name, env, help, apply, multi});
  };
  // Server
  add("listen", nullptr,
      "address to serve on, host:port or [v6]:port; port 0 picks one (default 127.0.0.1:8080)",
      text_flag(&Config::listen));
  add("threads", nullptr, "reactor threads, one io_context each (default: number of cores)",
      count_flag(&Config::threads, 1));
  add("data-dir", nullptr,
      "directory for the journal, runbooks and delivery state (default ./hookd-data)",
      [](Config& c, const std::string& v) -> std::optional<std::string> {
        if (v.empty()) return "must not be empty";
        c.data_dir = v;
        return std::nullopt;
      });
  add("max-body-bytes", nullptr, "largest request body; beyond it 413 (default 1MiB)",
      size_flag(&Config::max_body_bytes));
  add("max-header-bytes", nullptr, "largest request header block; beyond it 431 (default 16KiB)",
      // Beast stores a header field in at most 64 KiB: more is refused here
      // rather than failing inside the parser.
      size_flag(&Config::max_header_bytes, 1024, 65535));
  add("max-events-per-request", nullptr, "events in one array body (default 10000)",
      count_flag(&Config::max_events_per_request, 1));
  add("max-connections", nullptr,
      "open client connections; beyond them new ones are refused (default 10000)",
      count_flag(&Config::max_connections, 1));
  add("read-timeout", nullptr, "time to receive a whole request (default 10s)",
      duration_flag(&Config::read_timeout));
  add("idle-timeout", nullptr, "keep-alive connection idle time (default 60s)",
      duration_flag(&Config::idle_timeout));
  add("drain-timeout", nullptr, "on SIGTERM, longest wait for in-flight work (default 30s)",
      duration_flag(&Config::drain_timeout));
  add("retry-after", nullptr, "Retry-After sent with 429/503 (default 1s)",
      duration_flag(&Config::retry_after));
  add("tls-cert", nullptr, "PEM certificate chain: serve HTTPS (with --tls-key)",
      text_flag(&Config::tls_cert));
  add("tls-key", nullptr, "PEM private key for --tls-cert", text_flag(&Config::tls_key));
  add("inbound-secret", nullptr,
      "whsec_... secret: require Standard Webhooks signatures on POST /v1/events "
      "(prefer the environment variable HOOKD_INBOUND_SECRET: flags show in ps)",
      text_flag(&Config::inbound_secret));
  add("signature-tolerance", nullptr, "accepted webhook-timestamp skew (default 5m)",
      duration_flag(&Config::signature_tolerance));
  add("admin-token", nullptr,
      "bearer token for /v1/endpoints admin routes (prefer HOOKD_ADMIN_TOKEN)",
      text_flag(&Config::admin_token));
  add("port-file", nullptr, "write the bound port to this file once listening",
      text_flag(&Config::port_file));
  // Journal
  add("journal-max-bytes", nullptr, "journal size on disk; beyond it 503 (default 1GiB)",
      size_flag(&Config::journal_max_bytes, 1 << 16));
  add("journal-segment-bytes", nullptr, "journal segment file size (default 64MiB)",
      size_flag(&Config::journal_segment_bytes, 1 << 12));
  add("journal-max-pending-bytes", nullptr,
      "bytes accepted but not yet on disk; beyond them 429 (default 64MiB)",
      size_flag(&Config::journal_max_pending_bytes, 1 << 12));
  add("fsync", nullptr,
      "durability before 202: batch (group commit), always (fsync per request), off",
      one_of(&Config::fsync, {"batch", "always", "off"}));
  add("fsync-batch-window", nullptr, "group commit window for --fsync batch (default 2ms)",
      duration_flag(&Config::fsync_batch_window, true));
  // Logs
  add("log-level", nullptr, "debug, info, warn, error (default info)",
      one_of(&Config::log_level, {"debug", "info", "warn", "error"}));
  add("log-format", nullptr, "json or text (default json)",
      one_of(&Config::log_format, {"json", "text"}));
  // Runbooks
  add("git-url", "GIT_URL", "runbooks repository: path, file://, git://, https://, ssh://",
      text_flag(&Config::git_url));
  add("git-branch", "GIT_BRANCH", "branch (default: the remote's default branch)",
      text_flag(&Config::git_branch));
  add("git-hook-config-ttl", "GIT_HOOK_CONFIG_TTL",
      "seconds before the hook configuration is fetched again; unset: hooks off",
      [](Config& c, const std::string& v) -> std::optional<std::string> {
        std::uint64_t n = 0;
        if (!parse_number(v, n) || n == 0) return "expected whole seconds > 0";
        c.git_hook_config_ttl = std::chrono::seconds(n);
        return std::nullopt;
      });
  add("git-user", "GIT_USER", "HTTPS user", text_flag(&Config::git_user));
  add("git-password", "GIT_PASSWORD", "HTTPS password or token (prefer the environment)",
      text_flag(&Config::git_password));
  add("git-ca", nullptr,
      "PEM CA bundle that https:// remotes are verified against instead of the system CAs",
      text_flag(&Config::git_ca));
  add("git-ssh-key", "GIT_SSH_KEY", "SSH private key: a file path or the PEM itself",
      text_flag(&Config::git_ssh_key));
  add("git-ssh-user", "GIT_SSH_USER", "SSH user (default git)", text_flag(&Config::git_ssh_user));
  add("git-ssh-keypass", "GIT_SSH_KEYPASS", "SSH key passphrase (prefer the environment)",
      text_flag(&Config::git_ssh_keypass));
  add("git-ssh-known-hosts", "GIT_SSH_KNOWN_HOSTS",
      "known_hosts file; SSH host keys are verified against it",
      text_flag(&Config::git_ssh_known_hosts));
  add("git-fetch-timeout", nullptr, "a fetch running longer is cancelled (default 60s)",
      duration_flag(&Config::git_fetch_timeout));
  // Hooks
  add("hook-interpreter", nullptr, "runs each hook script (default /usr/bin/python3)",
      text_flag(&Config::hook_interpreter));
  add("hook-concurrency", nullptr, "hooks running at once (default 2 x cores)",
      count_flag(&Config::hook_concurrency, 1));
  add("hook-timeout", nullptr,
      "a hook running longer gets SIGTERM to its process group (default 30s)",
      duration_flag(&Config::hook_timeout));
  add("hook-kill-grace", nullptr, "SIGKILL this long after SIGTERM (default 5s)",
      duration_flag(&Config::hook_kill_grace, true));
  add("hook-output-max-bytes", nullptr,
      "captured output per run; the rest is dropped (default 4096)",
      size_flag(&Config::hook_output_max_bytes, 0));
  add("hook-max-waiting", nullptr, "hook runs queued ahead of the running ones (default 10000)",
      count_flag(&Config::hook_max_waiting, 1));
  add(
      "hook-env", nullptr, "NAME=VALUE added to every hook's environment (repeatable)",
      [](Config& c, const std::string& v) -> std::optional<std::string> {
        auto before = c.hook_env.size();
        list_flag (&Config::hook_env)(c, v);
        for (auto i = before; i < c.hook_env.size(); ++i) {
          auto eq = c.hook_env[i].find('=');
          if (eq == std::string::npos || eq == 0) return "expected NAME=VALUE";
        }
        return std::nullopt;
      },
      true);
  add("hook-executor", nullptr,
      "how hook runs start: prewarm (forked from a warm interpreter per runbooks commit) or "
      "spawn (a new interpreter each run); default prewarm when the interpreter is CPython",
      one_of(&Config::hook_executor, {"prewarm", "spawn"}));
  add("hook-preload", nullptr,
      "comma-separated modules the prewarm interpreter imports once, empty for none (default "
      "json,os,sys,base64,hashlib,hmac,datetime,socket,ssl,http.client,urllib.request)",
      [](Config& c, const std::string& v) -> std::optional<std::string> {
        std::vector<std::string> modules;
        std::istringstream in(v);
        for (std::string name; std::getline(in, name, ',');) {
          bool valid = !name.empty() && name.front() != '.' && name.back() != '.' &&
                       name.find("..") == std::string::npos &&
                       !std::isdigit(static_cast<unsigned char>(name.front()));
          for (char ch : name) {
            valid =
                valid && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.');
          }
          if (!valid) return "expected module names separated by commas, got \"" + name + "\"";
          modules.push_back(name);
        }
        c.hook_preload = std::move(modules);
        return std::nullopt;
      });
  // Delivery
  add("endpoint", nullptr,
      "SIEM endpoint 'name=NAME,url=URL[,events=a.b|c.d][,format=webhook|splunk-hec|ndjson]"
      "[,secret=whsec_..][,token=..][,header=Name: value][,ca=FILE][,cert=FILE,key=FILE]"
      "[,timeout=15s][,connections=4][,batch=100][,gzip=on|off]' (repeatable)",
      list_flag(&Config::endpoints), true);
  add("retry-schedule", nullptr,
      "delays between delivery attempts (default 5s,5m,30m,2h,5h,10h,10h)",
      text_flag(&Config::retry_schedule));
  add("retry-jitter", nullptr, "random +/- fraction of each retry delay (default 0.2)",
      [](Config& c, const std::string& v) -> std::optional<std::string> {
        char* end = nullptr;
        double d = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !(d >= 0 && d < 1)) return "expected a fraction in [0, 1)";
        c.retry_jitter = d;
        return std::nullopt;
      });
  add("min-backoff", nullptr, "least wait after 429, 502, 504 or a timeout (default 60s)",
      duration_flag(&Config::min_backoff, true));
  add("delivery-window", nullptr, "events per endpoint in flight or awaiting retry (default 1000)",
      count_flag(&Config::delivery_window, 1));
  return f;
}

}  // namespace

std::optional<Milliseconds> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
    ++digits;
  if (digits == 0 || digits > 12) return std::nullopt;
  std::uint64_t n = 0;
  if (!parse_number(text.substr(0, digits), n)) return std::nullopt;
  std::string_view unit = text.substr(digits);
  std::uint64_t scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1000;
  } else if (unit == "ms") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else {
    return std::nullopt;
  }
  return Milliseconds(static_cast<std::int64_t>(n * scale));
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
    ++digits;
  if (digits == 0 || digits > 15) return std::nullopt;
  std::uint64_t n = 0;
  if (!parse_number(text.substr(0, digits), n)) return std::nullopt;
  std::string unit(text.substr(digits));
  for (auto& ch : unit)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  int shift = 0;
  if (unit.empty() || unit == "B") {
    shift = 0;
  } else if (unit == "K" || unit == "KB" || unit == "KIB") {
    shift = 10;
  } else if (unit == "M" || unit == "MB" || unit == "MIB") {
    shift = 20;
  } else if (unit == "G" || unit == "GB" || unit == "GIB") {
    shift = 30;
  } else {
    return std::nullopt;
  }
  return n << shift;
}

Result<CommandLine> parse_command_line(int argc, const char* const argv[], const GetEnv& getenv) {
  const std::vector<Flag> table = flags();
  po::options_description desc("hookd options (each also read from the environment as shown)", 110,
                               50);
  desc.add_options()("help,h", "print this help and exit")("version", "print the version and exit");
  for (const Flag& flag : table) {
    std::string env = flag.env ? flag.env : env_name(flag.name);
    std::string help = std::string(flag.help) + "  [" + env + "]";
    if (flag.multi) {
      desc.add_options()(flag.name, po::value<std::vector<std::string>>()->composing(),
                         help.c_str());
    } else {
      desc.add_options()(flag.name, po::value<std::string>(), help.c_str());
    }
  }

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
  } catch (const po::error& e) {
    return make_error(e.what());
  }

  CommandLine out;
  if (vm.count("help")) {
    std::ostringstream text;
    text << "hookd " << HOOKD_VERSION
         << " - Hoop runbook hooks and SIEM delivery at the edge\n\n"
            "Usage: hookd [options]\n\n"
         << desc;
    out.action = CommandLine::Action::help;
    out.text = text.str();
    return out;
  }
  if (vm.count("version")) {
    out.action = CommandLine::Action::version;
    out.text = std::string("hookd ") + HOOKD_VERSION + "\n";
    return out;
  }

  auto read_env = [&](const char* name) -> const char* {
    return getenv ? getenv(name) : std::getenv(name);
  };
  for (const Flag& flag : table) {
    std::vector<std::string> values;
    if (vm.count(flag.name)) {
      if (flag.multi) {
        values = vm[flag.name].as<std::vector<std::string>>();
      } else {
        values.push_back(vm[flag.name].as<std::string>());
      }
    } else {
      std::string env = flag.env ? flag.env : env_name(flag.name);
      const char* value = read_env(env.c_str());
      // An empty variable counts as unset, as shells export empty values freely.
      if (value && *value) values.emplace_back(value);
    }
    for (const auto& v : values) {
      if (auto problem = flag.apply(out.config, v)) {
        return make_error("--" + std::string(flag.name) + " '" + v + "': " + *problem);
      }
    }
  }

  Config& c = out.config;
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return make_error("--tls-cert and --tls-key go together");
  }
  if (c.threads == 0) c.threads = std::max(1u, std::thread::hardware_concurrency());
  if (c.hook_concurrency == 0) {
    c.hook_concurrency = 2 * std::max(1u, std::thread::hardware_concurrency());
  }
  return out;
}

}  // namespace hookd
