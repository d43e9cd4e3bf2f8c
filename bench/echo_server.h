// The benchmarks' baseline server: kentra.bench.v1.EchoService on the same gRPC
// build, server settings and transport as kentra's own servers.
#ifndef KENTRA_BENCH_ECHO_SERVER_H_
#define KENTRA_BENCH_ECHO_SERVER_H_

#include <string>

namespace kentra::bench {

// Serves echo on 127.0.0.1:0, prints "kentra-bench echo listening on port N",
// and returns 0 after SIGTERM (1 if it could not start). With a `secrets_dir`
// (server.crt, server.key, ca.crt) it serves mTLS and verifies every caller's
// certificate as kentra's servers do; without, plaintext. With a `store_dir` it
// keeps a RocksDB store there with the node's column families, into which calls
// asking for it write a synced batch before answering.
int ServeEcho(const std::string& secrets_dir, const std::string& store_dir = "");

// This program's own path, to start it again as the echo server ("--serve_echo").
std::string SelfPath();

}  // namespace kentra::bench

#endif  // KENTRA_BENCH_ECHO_SERVER_H_
