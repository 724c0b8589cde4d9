#include "hookd/delivery/file_transport.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "hookd/core/log.h"
#include "hookd/delivery/blocking_io_thread.h"
#include "hookd/delivery/file_sink.h"

namespace hookd {

namespace {

// Two batches at once: one being synced while the worker hands over the
// next; the I/O thread runs them in order.
constexpr std::size_t kBatchesAtOnce = 2;

class FileTransport final : public Transport {
 public:
  FileTransport(const EndpointSpec& spec, const TransportContext& context,
                std::shared_ptr<FileSink> sink)
      : io_(*context.io), files_(context.files), sink_(std::move(sink)), name_(spec.name) {}

  ~FileTransport() override { close(); }

  std::size_t capacity() const override { return kBatchesAtOnce; }

  void send(const BatchPtr& batch, Done done) override {
    if (!batch->body_built) {
      std::string lines;
      for (const auto& e : batch->events) {
        lines += e.event.json;
        lines += '\n';
      }
      batch->body = std::move(lines);
      batch->body_built = true;
    }
    boost::asio::io_context* io = &io_;
    files_->post([sink = sink_, batch, io, done = std::move(done)]() mutable {
      Status written = sink->append(batch->body);
      AttemptOutcome outcome;
      if (written) {
        outcome.accepted = true;
      } else {
        outcome.error = written.error().message;
      }
      boost::asio::post(*io,
                        [outcome = std::move(outcome), done = std::move(done)] { done(outcome); });
    });
  }

  void close() override {
    files_->post([sink = sink_] { sink->close(); });
  }

  void reopen() override {
    files_->post([sink = sink_, name = name_] {
      sink->reopen();
      // Opened at once, so the new file is there for the log shipper even
      // before the next event.
      if (Status st = sink->open(); !st) {
        log::error("delivery: file reopen failed",
                   {{"endpoint", name}, {"error", st.error().message}});
        return;
      }
      log::info("delivery: file reopened",
                {{"endpoint", name}, {"file", sink->path().string()}, {"bytes", sink->size()}});
    });
  }

 private:
  boost::asio::io_context& io_;
  std::shared_ptr<BlockingIoThread> files_;
  std::shared_ptr<FileSink> sink_;  // used only on the I/O thread
  const std::string name_;
};

}  // namespace

Result<std::unique_ptr<Transport>> make_file_transport(const EndpointSpec& spec,
                                                       const TransportContext& context) {
  auto sink = std::make_shared<FileSink>(spec.file_path, spec.max_bytes, spec.keep);
  if (Status st = sink->open(); !st) return st.error();
  return std::unique_ptr<Transport>(std::make_unique<FileTransport>(spec, context, sink));
}

}  // namespace hookd
