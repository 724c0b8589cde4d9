// The format=syslog transport: each event becomes one RFC 5424 message (the
// event JSON, or a CEF record, after hookd's structured data), octet-counted
// framing, every batch written on the endpoint's one SyslogConnection over
// TCP or TLS (RFC 5425). A lost connection fails what it had not confirmed,
// and the next batch opens a new one. Runs on the io_context.
#pragma once

#include <memory>

#include "hookd/core/result.h"
#include "hookd/delivery/endpoint_sender.h"

namespace hookd {

// Loads the TLS files for syslog+tls://; the error names the one that fails.
Result<std::unique_ptr<Transport>> make_syslog_transport(const EndpointSpec& spec,
                                                         const TransportContext& context);

}  // namespace hookd
