#include "hookd/server/http_server.h"

#include "http_listener.h"

namespace hookd {

HttpServer::HttpServer(Reactor& reactor, HttpServerOptions options, Router router)
    : listener_(std::make_shared<HttpListener>(reactor, std::move(options), std::move(router))) {}

HttpServer::~HttpServer() {
  listener_->stop();
}

Status HttpServer::start() {
  return listener_->start();
}

unsigned short HttpServer::port() const {
  return listener_->port();
}

void HttpServer::drain(std::function<void()> done) {
  listener_->drain(std::move(done));
}

}  // namespace hookd
