// How every kentra server is started and stopped: listen address checks, health
// checking and reflection, a request-size limit, and shutdown on SIGTERM/SIGINT.
#ifndef KENTRA_COMMON_SERVER_H_
#define KENTRA_COMMON_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kentra {

struct ServerOptions {
  // "HOST:PORT"; port 0 picks a free port.
  std::string listen_address;
  // Largest request accepted; bigger ones get RESOURCE_EXHAUSTED.
  int max_receive_bytes = 1 << 20;
  // Plaintext, allowed only on a loopback address.
  bool insecure = false;
  // TLS credentials (see common/tls.h); required unless insecure.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // Interceptors for every call (tests use them to see what crosses the wire).
  std::vector<std::shared_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  // A connection that has not finished its TLS handshake this long after it was
  // accepted is closed: a half-open one holds a socket and memory for nothing.
  absl::Duration handshake_timeout = absl::Seconds(10);
  // A connection with no call for this long is closed (a client reconnects when
  // it calls again).
  absl::Duration max_connection_idle = absl::Minutes(5);
  // A connection quiet for this long is pinged, and closed unless the ping is
  // answered within keepalive_timeout: a peer gone without a word (a watch's
  // node cut off the network) does not hold its connection and stream forever.
  absl::Duration keepalive_time = absl::Minutes(1);
  absl::Duration keepalive_timeout = absl::Seconds(20);
};

struct RunningServer {
  std::unique_ptr<grpc::Server> server;
  // The port actually bound.
  int port = 0;
};

// Splits "HOST:PORT" ("[::1]:0" for IPv6). INVALID_ARGUMENT if malformed.
absl::Status ParseListenAddress(const std::string& address, std::string* host, int* port);

// Whether `host` is 127.0.0.0/8, ::1 or "localhost".
bool IsLoopbackHost(const std::string& host);

// Builds and starts a server for `services` (not owned; must outlive the server).
// FAILED_PRECONDITION if plaintext is asked for off loopback or there are no TLS
// credentials; UNAVAILABLE if the address cannot be bound.
absl::StatusOr<RunningServer> StartServer(const ServerOptions& options,
                                          const std::vector<grpc::Service*>& services);

// Prepares a server process; call at the top of main, before any thread exists.
// Sets the file mode creation mask to 077 (what the server creates is its
// owner's only), blocks SIGTERM and SIGINT in this thread and every thread it
// starts later (see WaitForTerminationSignal), and turns off Abseil's mutex
// deadlock detection, which Debian's Abseil leaves on and which records a stack
// trace on every lock.
void InitServerProcess();

// Waits until SIGTERM or SIGINT arrives; returns its number.
int WaitForTerminationSignal();

// Stops accepting calls, lets running ones finish for up to `grace`, then cancels them.
void ShutdownServer(grpc::Server* server, absl::Duration grace);

}  // namespace kentra

#endif  // KENTRA_COMMON_SERVER_H_
