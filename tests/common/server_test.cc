// The server wiring's limits on connections: one that never finishes its TLS
// handshake, and one that makes no call, are closed after their time instead of
// holding a socket forever.
#include "common/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>

#include "common/tls.h"
#include "tests/testing/test_util.h"

namespace kentra {
namespace {

RunningServer Serve(absl::Duration handshake_timeout, absl::Duration max_idle) {
  auto tls = LoadTlsIdentity(::kentra::testing::TestPkiDir() + "/hub", "server");
  EXPECT_TRUE(tls.ok()) << tls.status();
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.credentials = MakeServerCredentials(*tls);
  options.handshake_timeout = handshake_timeout;
  options.max_connection_idle = max_idle;
  auto running = StartServer(options, {});
  EXPECT_TRUE(running.ok()) << running.status();
  return running.ok() ? *std::move(running) : RunningServer();
}

// Whether the server closes a TCP connection on which nothing is ever sent,
// within `wait`.
bool ClosedWithin(int port, absl::Duration wait) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  pollfd p{fd, POLLIN, 0};
  const int ready = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(wait)));
  char byte;
  const bool closed = ready == 1 && recv(fd, &byte, 1, 0) <= 0;
  close(fd);
  return closed;
}

TEST(ServerTest, AConnectionThatNeverFinishesItsHandshakeIsClosed) {
  RunningServer server = Serve(absl::Milliseconds(300), absl::Minutes(5));
  ASSERT_GT(server.port, 0);
  EXPECT_TRUE(ClosedWithin(server.port, absl::Seconds(10)));
  // The default is far shorter than gRPC's own two minutes.
  EXPECT_LE(ServerOptions().handshake_timeout, absl::Seconds(10));
}

TEST(ServerTest, AConnectionWithNoCallIsClosedAfterItsIdleTime) {
  RunningServer server = Serve(absl::Seconds(10), absl::Milliseconds(300));
  ASSERT_GT(server.port, 0);
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server.port),
                                     ::kentra::testing::TestCredentials("operator"));
  ASSERT_TRUE(channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)));
  // The server's goaway after the idle time takes the channel out of READY.
  EXPECT_TRUE(channel->WaitForStateChange(GRPC_CHANNEL_READY,
                                          std::chrono::system_clock::now() + std::chrono::seconds(10)));
  EXPECT_NE(channel->GetState(false), GRPC_CHANNEL_READY);
}

}  // namespace
}  // namespace kentra
