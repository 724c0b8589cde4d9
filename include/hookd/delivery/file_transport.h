// The format=file transport: each batch becomes one JSON line per event (the
// same line as ndjson) appended to the endpoint's FileSink and fdatasync'd
// on the delivery's BlockingIoThread; the batch succeeds only once it is on
// disk, so the cursor never passes an event the file could lose. Runs on
// the io_context; the file itself is touched only on the I/O thread.
#pragma once

#include <memory>

#include "hookd/core/result.h"
#include "hookd/delivery/endpoint_sender.h"

namespace hookd {

// Opens the file now (blocking, like the rest of a worker's start), so a bad
// path fails start-up with an error naming it.
Result<std::unique_ptr<Transport>> make_file_transport(const EndpointSpec& spec,
                                                       const TransportContext& context);

}  // namespace hookd
