#include "bench/workloads.h"

#include <chrono>
#include <utility>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/impl/client_unary_call.h>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/time_util.h"
#include "node/node_server.h"
#include "node/synthetic/synthetic.h"

namespace kentra::bench {
namespace {

namespace nv1 = kentra::node::v1;
namespace bv1 = kentra::bench::v1;

constexpr int kListPageSize = 50;
constexpr int kProfileCalls = 100;
constexpr int kTemplatePeople = 300;

constexpr char kBenchUser[] = "bench";
constexpr char kBenchPassword[] = "bench-password-not-secret";
// A token as long as a real one, for the echo baseline to carry the same metadata.
const std::string kEchoToken = "kentra-session.thessaloniki." + std::string(43, 'x');

std::unique_ptr<grpc::ClientContext> StaffContext(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

// Spreads the calls of all clients over `size` targets.
size_t Pick(int client, int64_t n, size_t size) {
  return static_cast<size_t>((static_cast<uint64_t>(client) * 7919 + static_cast<uint64_t>(n) * 104729) % size);
}

// Typed call, for setting up (collecting targets), where the answer is needed.
template <typename Request, typename Response, typename Method>
absl::Status Invoke(nv1::StaffService::Stub* stub, const std::string& token, Method method, const Request& request,
                    Response* response) {
  auto ctx = StaffContext(token);
  return FromGrpcStatus((stub->*method)(ctx.get(), request, response));
}

std::string Title(Kind kind) {
  switch (kind) {
    case Kind::kRecordServiceEvent: return "RecordServiceEvent (durable write)";
    case Kind::kCreateBeneficiary: return "CreateBeneficiary (durable write)";
    case Kind::kGetBeneficiary: return "GetBeneficiary (read)";
    case Kind::kGetCase: return "GetCase (read)";
    case Kind::kListBeneficiaries: return "ListBeneficiaries, page of 50 (read)";
    case Kind::kListCases: return "ListCases, page of 50 (read)";
  }
  return "";
}

bool IsWrite(Kind kind) { return kind == Kind::kRecordServiceEvent || kind == Kind::kCreateBeneficiary; }

}  // namespace

std::shared_ptr<grpc::Channel> Connect(int port, int client, std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("kentra.bench.client", client);
  args.SetMaxReceiveMessageSize(16 << 20);
  if (credentials == nullptr) credentials = grpc::InsecureChannelCredentials();
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), credentials, args);
}

Clients::Clients(int port, int count, std::shared_ptr<grpc::ChannelCredentials> credentials) {
  for (int i = 0; i < count; ++i) connections_.push_back(Connection{Connect(port, i, credentials), {}});
}

absl::Status Clients::Call(int client, const char* method, const std::string& token,
                           const google::protobuf::MessageLite& request, grpc::ByteBuffer* response) {
  Connection& c = connections_[static_cast<size_t>(client)];
  auto known = c.methods.find(method);
  if (known == c.methods.end()) {
    known = c.methods.emplace(method, grpc::internal::RpcMethod(method, grpc::internal::RpcMethod::NORMAL_RPC, c.channel))
                .first;
  }
  auto ctx = StaffContext(token);
  return FromGrpcStatus(grpc::internal::BlockingUnaryCall<google::protobuf::MessageLite, grpc::ByteBuffer>(
      c.channel.get(), known->second, ctx.get(), request, response));
}

absl::StatusOr<std::string> NextPageToken(const grpc::ByteBuffer& page) {
  grpc::Slice slice;
  if (!page.DumpToSingleSlice(&slice).ok()) return absl::InternalError("an answer cannot be read");
  google::protobuf::io::CodedInputStream in(slice.begin(), static_cast<int>(slice.size()));
  std::string token;
  for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    const bool ok = google::protobuf::internal::WireFormatLite::GetTagFieldNumber(tag) == 2
                        ? google::protobuf::internal::WireFormatLite::ReadString(&in, &token)
                        : google::protobuf::internal::WireFormatLite::SkipField(&in, tag);
    if (!ok) return absl::DataLossError("an answer is not a List page");
  }
  return token;
}

Templates::Templates(const kentra::config::v1::CentreConfig& centre, absl::CivilDay today) {
  synthetic::SyntheticCentre generator(centre, 7, 1.0, today);
  for (int i = 0; i < kTemplatePeople; ++i) {
    synthetic::Person p = generator.MakePerson(i);
    beneficiaries_.push_back(p.beneficiary);
    for (const auto& c : p.cases) {
      for (nv1::ServiceEvent e : c.events) {
        *e.mutable_service_date() = ToDate(today);
        events_.push_back(std::move(e));
      }
    }
  }
}

nv1::CreateBeneficiaryRequest Templates::NewBeneficiary(int64_t k, const std::string& request_id) const {
  nv1::CreateBeneficiaryRequest request;
  nv1::Beneficiary* b = request.mutable_beneficiary();
  *b = beneficiaries_[static_cast<size_t>(k) % beneficiaries_.size()];
  // Synthetic people are 3 to 90 years old, so births from 1930 on never collide.
  const absl::CivilDay birth = absl::CivilDay(1930, 1, 1) + k / 10000;
  *b->mutable_birth_date() = ToDate(birth);
  b->mutable_national_id()->set_type(nv1::NATIONAL_ID_TYPE_AMKA);
  b->mutable_national_id()->set_value(synthetic::MakeAmka(birth, static_cast<int>(k % 10000)));
  request.set_request_id(request_id);
  return request;
}

nv1::RecordServiceEventRequest Templates::NewServiceEvent(int64_t k, const std::string& parent,
                                                          const std::string& request_id) const {
  nv1::RecordServiceEventRequest request;
  request.set_parent(parent);
  *request.mutable_service_event() = events_[static_cast<size_t>(k) % events_.size()];
  request.set_request_id(request_id);
  return request;
}

absl::Status AddBenchUser(const kentra::config::v1::CentreConfig& centre, const std::string& data_dir) {
  node::NodeOptions options;
  options.centre = centre;
  options.data_dir = data_dir;
  return node::BootstrapCoordinator(options, kBenchUser, kBenchPassword).status();
}

absl::StatusOr<std::string> LogIn(const std::shared_ptr<grpc::Channel>& channel) {
  nv1::LoginRequest request;
  request.set_user_id(kBenchUser);
  request.set_password(kBenchPassword);
  nv1::LoginResponse response;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  KENTRA_RETURN_IF_ERROR(FromGrpcStatus(nv1::AccountService::NewStub(channel)->Login(&ctx, request, &response)));
  return response.token();
}

absl::StatusOr<Targets> CollectTargets(nv1::StaffService::Stub* stub, const std::string& token_) {
  Targets targets;
  nv1::ListBeneficiariesRequest ben_request;
  ben_request.set_page_size(200);
  do {
    nv1::ListBeneficiariesResponse page;
    KENTRA_RETURN_IF_ERROR(Invoke(stub, token_, &nv1::StaffService::Stub::ListBeneficiaries, ben_request, &page));
    for (const auto& b : page.beneficiaries()) targets.beneficiaries.push_back(b.name());
    ben_request.set_page_token(page.next_page_token());
  } while (!ben_request.page_token().empty());
  nv1::ListCasesRequest case_request;
  case_request.set_page_size(200);
  do {
    nv1::ListCasesResponse page;
    KENTRA_RETURN_IF_ERROR(Invoke(stub, token_, &nv1::StaffService::Stub::ListCases, case_request, &page));
    for (const auto& c : page.cases()) {
      targets.cases.push_back(c.name());
      if (c.state() == nv1::CASE_STATE_OPEN) targets.open_cases.push_back(c.name());
    }
    case_request.set_page_token(page.next_page_token());
  } while (!case_request.page_token().empty());
  if (targets.beneficiaries.empty() || targets.open_cases.empty()) {
    return absl::FailedPreconditionError("the node holds no beneficiaries or no open cases");
  }
  return targets;
}

NodeCaller::NodeCaller(const Templates* templates, const Targets* targets, std::string tag, int clients,
                       std::string token)
    : templates_(templates),
      targets_(targets),
      tag_(std::move(tag)),
      token_(std::move(token)),
      beneficiary_tokens_(static_cast<size_t>(clients)),
      case_tokens_(static_cast<size_t>(clients)),
      calls_(static_cast<size_t>(clients), 0) {}

absl::Status NodeCaller::Call(Kind kind, Clients* clients, int client, int64_t* request_bytes,
                              int64_t* response_bytes) {
  const int64_t n = calls_[static_cast<size_t>(client)]++;
  const std::string request_id = absl::StrCat("bench-", tag_, "-", static_cast<int>(kind), "-", client, "-", n);
  grpc::ByteBuffer answer;
  auto call = [&](const char* method, const google::protobuf::MessageLite& request) -> absl::Status {
    KENTRA_RETURN_IF_ERROR(clients->Call(client, method, token_, request, &answer));
    if (request_bytes != nullptr) *request_bytes += static_cast<int64_t>(request.ByteSizeLong());
    if (response_bytes != nullptr) *response_bytes += static_cast<int64_t>(answer.Length());
    return absl::OkStatus();
  };
  switch (kind) {
    case Kind::kRecordServiceEvent: {
      const auto& parent = targets_->open_cases[Pick(client, n, targets_->open_cases.size())];
      return call("/kentra.node.v1.StaffService/RecordServiceEvent",
                  templates_->NewServiceEvent(n, parent, request_id));
    }
    case Kind::kCreateBeneficiary:
      return call("/kentra.node.v1.StaffService/CreateBeneficiary",
                  templates_->NewBeneficiary(static_cast<int64_t>(client) * 1000000 + n, request_id));
    case Kind::kGetBeneficiary: {
      nv1::GetBeneficiaryRequest request;
      request.set_name(targets_->beneficiaries[Pick(client, n, targets_->beneficiaries.size())]);
      return call("/kentra.node.v1.StaffService/GetBeneficiary", request);
    }
    case Kind::kGetCase: {
      nv1::GetCaseRequest request;
      request.set_name(targets_->cases[Pick(client, n, targets_->cases.size())]);
      return call("/kentra.node.v1.StaffService/GetCase", request);
    }
    case Kind::kListBeneficiaries: {
      nv1::ListBeneficiariesRequest request;
      request.set_page_size(kListPageSize);
      request.set_page_token(beneficiary_tokens_[static_cast<size_t>(client)]);
      KENTRA_RETURN_IF_ERROR(call("/kentra.node.v1.StaffService/ListBeneficiaries", request));
      KENTRA_ASSIGN_OR_RETURN(beneficiary_tokens_[static_cast<size_t>(client)], NextPageToken(answer));
      return absl::OkStatus();
    }
    case Kind::kListCases: {
      nv1::ListCasesRequest request;
      request.set_page_size(kListPageSize);
      request.set_page_token(case_tokens_[static_cast<size_t>(client)]);
      KENTRA_RETURN_IF_ERROR(call("/kentra.node.v1.StaffService/ListCases", request));
      KENTRA_ASSIGN_OR_RETURN(case_tokens_[static_cast<size_t>(client)], NextPageToken(answer));
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("unknown workload");
}

absl::StatusOr<std::vector<Workload>> ProfileNode(const kentra::config::v1::CentreConfig& centre,
                                                  const Templates& templates, const std::string& dir) {
  node::NodeOptions options;
  options.centre = centre;
  options.data_dir = dir;
  options.insecure = true;
  KENTRA_RETURN_IF_ERROR(AddBenchUser(centre, dir));
  KENTRA_ASSIGN_OR_RETURN(auto node, node::NodeServer::Start(options));
  auto channel = Connect(node->port(), 0);
  KENTRA_ASSIGN_OR_RETURN(const std::string token, LogIn(channel));
  auto stub = nv1::StaffService::NewStub(channel);
  Clients clients(node->port(), 1);
  const double scale = 150.0 / synthetic::SyntheticCentre::BaseSize(centre.id());
  synthetic::SyntheticCentre generator(centre, 99, scale, TodayAt(absl::Now()));
  KENTRA_RETURN_IF_ERROR(synthetic::SeedNode(generator, stub.get(), token, 2, nullptr).status());
  KENTRA_ASSIGN_OR_RETURN(const Targets targets, CollectTargets(stub.get(), token));
  NodeCaller caller(&templates, &targets, "profile", 1, token);

  std::vector<Workload> workloads;
  for (Kind kind : {Kind::kRecordServiceEvent, Kind::kCreateBeneficiary, Kind::kGetBeneficiary, Kind::kGetCase,
                    Kind::kListBeneficiaries, Kind::kListCases}) {
    const Store::WriteStats before = node->store()->write_stats();
    int64_t request_bytes = 0, response_bytes = 0;
    for (int n = 0; n < kProfileCalls; ++n) {
      KENTRA_RETURN_IF_ERROR(caller.Call(kind, &clients, 0, &request_bytes, &response_bytes));
    }
    const Store::WriteStats after = node->store()->write_stats();
    Workload w{kind, Title(kind), static_cast<int>(request_bytes / kProfileCalls),
               static_cast<int>(response_bytes / kProfileCalls), std::nullopt};
    if (IsWrite(kind)) {
      w.shape = WriteShape{static_cast<double>(after.operations - before.operations) / kProfileCalls,
                           static_cast<double>(after.bytes - before.bytes) / kProfileCalls};
    }
    workloads.push_back(std::move(w));
  }
  return workloads;
}

CallFn EchoCall(Clients* clients, int request_bytes, int response_bytes, std::optional<WriteShape> write) {
  auto request = std::make_shared<bv1::EchoRequest>();
  request->set_payload(std::string(static_cast<size_t>(request_bytes), 'p'));
  request->set_response_bytes(response_bytes);
  if (write.has_value()) {
    request->set_write_operations(static_cast<int>(write->operations + 0.5));
    request->set_write_bytes(static_cast<int>(write->bytes));
  }
  return [clients, request](int client, int64_t) {
    grpc::ByteBuffer response;
    // The same metadata as the node's calls.
    return clients->Call(client, "/kentra.bench.v1.EchoService/Echo", kEchoToken, *request, &response);
  };
}

CallFn NodeCall(NodeCaller* caller, Clients* clients, Kind kind) {
  return [caller, clients, kind](int client, int64_t) { return caller->Call(kind, clients, client); };
}

}  // namespace kentra::bench
