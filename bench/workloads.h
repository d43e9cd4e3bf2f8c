// What the node benchmark sends: realistic staff calls built from the synthetic
// generator, the connections they travel on, and a profile of each call's
// message sizes and storage writes (so the baselines can match them).
#ifndef KENTRA_BENCH_WORKLOADS_H_
#define KENTRA_BENCH_WORKLOADS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/rpc_method.h>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "bench/load.h"
#include "kentra/bench/v1/echo.grpc.pb.h"
#include "kentra/config/v1/centre.pb.h"
#include "kentra/node/v1/account_service.grpc.pb.h"
#include "kentra/node/v1/staff_service.grpc.pb.h"

namespace kentra::bench {

// A channel to 127.0.0.1:`port` with a connection of its own (`client` keeps
// connections of different clients apart); plaintext unless `credentials`.
std::shared_ptr<grpc::Channel> Connect(int port, int client,
                                       std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

// One connection per client. Calls go through gRPC's own unary path (as a
// generated stub's do) but leave the answer encoded: the load generator shares
// the machine's cores with the server it measures, so it spends the same on every
// kind of call instead of decoding 50 records of a page.
class Clients {
 public:
  Clients(int port, int count, std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);
  // Calls `method` ("/package.Service/Method", a string literal) on client
  // `client`'s connection with `authorization: Bearer <token>`; the answer's
  // bytes go to `response`.
  absl::Status Call(int client, const char* method, const std::string& token,
                    const google::protobuf::MessageLite& request, grpc::ByteBuffer* response);

 private:
  struct Connection {
    std::shared_ptr<grpc::Channel> channel;
    std::map<const char*, grpc::internal::RpcMethod> methods;  // registered on first use
  };
  std::vector<Connection> connections_;
};

// The next_page_token (field 2) of an encoded List answer, read without decoding
// the page.
absl::StatusOr<std::string> NextPageToken(const grpc::ByteBuffer& page);

// New beneficiaries and service events shaped like the synthetic data of a centre.
class Templates {
 public:
  Templates(const kentra::config::v1::CentreConfig& centre, absl::CivilDay today);
  // The k-th new beneficiary: born 1930 or later with an ΑΜΚΑ no seeded person has.
  kentra::node::v1::CreateBeneficiaryRequest NewBeneficiary(int64_t k, const std::string& request_id) const;
  // The k-th new service event, dated today, on case `parent`.
  kentra::node::v1::RecordServiceEventRequest NewServiceEvent(int64_t k, const std::string& parent,
                                                              const std::string& request_id) const;

 private:
  std::vector<kentra::node::v1::Beneficiary> beneficiaries_;
  std::vector<kentra::node::v1::ServiceEvent> events_;
};

// Resource names the read and write calls aim at.
struct Targets {
  std::vector<std::string> beneficiaries;
  std::vector<std::string> cases;
  std::vector<std::string> open_cases;
};

// Gives a node's data dir (of a stopped node) the benchmark's coordinator, who
// may make every call.
absl::Status AddBenchUser(const kentra::config::v1::CentreConfig& centre, const std::string& data_dir);
// Logs the benchmark's coordinator in over `channel`; returns the session token.
absl::StatusOr<std::string> LogIn(const std::shared_ptr<grpc::Channel>& channel);

// Lists every beneficiary and case behind `stub`, calling with session `token`.
absl::StatusOr<Targets> CollectTargets(kentra::node::v1::StaffService::Stub* stub, const std::string& token);

enum class Kind { kRecordServiceEvent, kCreateBeneficiary, kGetBeneficiary, kGetCase, kListBeneficiaries, kListCases };

// What one call wrote to the store, on average.
struct WriteShape {
  double operations = 0;
  double bytes = 0;  // keys plus values
};

// One measured kind of call with the sizes its echo baseline sends and answers.
struct Workload {
  Kind kind;
  std::string title;
  int request_bytes = 0;
  int response_bytes = 0;
  std::optional<WriteShape> shape;  // set for writes
};

// Makes the node calls of every client; list calls walk the pages one by one.
// Each client's calls are numbered over the caller's whole life, so a write is
// never a retry of an earlier one (same request id), however many load runs
// the caller serves.
class NodeCaller {
 public:
  // Calls carry session `token`.
  NodeCaller(const Templates* templates, const Targets* targets, std::string tag, int clients, std::string token);
  // The next call of `client` of kind `kind`; the sizes of request and response
  // are added to the two counters when given. Each client calls from one thread.
  absl::Status Call(Kind kind, Clients* clients, int client, int64_t* request_bytes = nullptr,
                    int64_t* response_bytes = nullptr);

 private:
  const Templates* templates_;
  const Targets* targets_;
  std::string tag_;
  std::string token_;
  std::vector<std::string> beneficiary_tokens_;
  std::vector<std::string> case_tokens_;
  std::vector<int64_t> calls_;  // made so far, per client
};

// Runs every kind of call against a small in-process node in `dir` to learn the
// message sizes and the store writes of each.
absl::StatusOr<std::vector<Workload>> ProfileNode(const kentra::config::v1::CentreConfig& centre,
                                                  const Templates& templates, const std::string& dir);

// Load functions for the echo baseline and for the node.
// With a `write`, each echo call also writes a synced batch of that shape (the
// echo server must have a store): both limits of a durable call at once.
CallFn EchoCall(Clients* clients, int request_bytes, int response_bytes,
                std::optional<WriteShape> write = std::nullopt);
CallFn NodeCall(NodeCaller* caller, Clients* clients, Kind kind);

}  // namespace kentra::bench

#endif  // KENTRA_BENCH_WORKLOADS_H_
