// Fault tests: kentra-node is SIGKILLed while a client writes; after a restart every
// write the client saw acknowledged is there and every index agrees with its
// records. The same for reads: every read the client saw answered has its audit
// entry after the restart.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <map>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"

namespace kentra::testing {
namespace {

namespace nv1 = kentra::node::v1;

std::vector<std::string> NodeArgs(const std::string& data_dir, bool check = false) {
  std::vector<std::string> args = {KENTRA_NODE_BINARY,
                                   "--config=" + SourceDir() + "/configs/centres/kassandra.textproto",
                                   "--data_dir=" + data_dir, "--listen=127.0.0.1:0",
                                   "--secrets_dir=" + TestPkiDir() + "/centres/kassandra"};
  if (check) args.push_back("--check");
  return args;
}

std::unique_ptr<nv1::StaffService::Stub> Connect(int port) {
  return nv1::StaffService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), TestCredentials("centres/kassandra/staff")));
}

TEST(DurabilityTest, AcknowledgedWritesSurviveSigkill) {
  TempDir dir;
  const std::string data = dir.path() + "/db";
  absl::Mutex mu;
  std::vector<std::string> acked;  // names of beneficiaries the node acknowledged
  BootstrapForTests("kassandra", data);
  {
    ChildProcess node(NodeArgs(data));
    ASSERT_GT(node.port(), 0);
    const std::string token = LogIn(node.port(), "centres/kassandra/staff", "coord");
    std::atomic<bool> stop{false};
    std::atomic<int> next{1};
    auto writer = [&] {
      auto stub = Connect(node.port());
      // Bounded: at most 5000 writes or until the node dies.
      while (!stop && next < 5000) {
        int i = next++;
        nv1::CreateBeneficiaryRequest r;
        *r.mutable_beneficiary() = SampleBeneficiary(i);
        r.set_request_id(absl::StrCat("durability-", i));
        nv1::Beneficiary out;
        if (stub->CreateBeneficiary(SessionContext(token).get(), r, &out).ok()) {
          absl::MutexLock lock(&mu);
          acked.push_back(out.name());
        }
      }
    };
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) writers.emplace_back(writer);
    // Kill once a few hundred writes are through (bounded wait).
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      {
        absl::MutexLock lock(&mu);
        if (acked.size() >= 300) break;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    int status = node.Stop(SIGKILL);
    EXPECT_TRUE(WIFSIGNALED(status));
    stop = true;
    for (auto& t : writers) t.join();
  }
  ASSERT_GE(acked.size(), 300u);

  ChildProcess restarted(NodeArgs(data));
  ASSERT_GT(restarted.port(), 0);
  auto stub = Connect(restarted.port());
  // The session survives the crash: it was written durably at log-in.
  const std::string token = LogIn(restarted.port(), "centres/kassandra/staff", "coord");
  for (const auto& name : acked) {
    nv1::GetBeneficiaryRequest get;
    get.set_name(name);
    nv1::Beneficiary out;
    EXPECT_TRUE(stub->GetBeneficiary(SessionContext(token).get(), get, &out).ok()) << name << " was lost";
  }
  // New writes after the restart get fresh ids (no reuse of an acknowledged one).
  nv1::CreateBeneficiaryRequest r;
  *r.mutable_beneficiary() = SampleBeneficiary(9999);
  nv1::Beneficiary fresh;
  ASSERT_TRUE(stub->CreateBeneficiary(SessionContext(token).get(), r, &fresh).ok());
  EXPECT_EQ(std::find(acked.begin(), acked.end(), fresh.name()), acked.end());
  EXPECT_EQ(WEXITSTATUS(restarted.Stop(SIGTERM)), 0) << "SIGTERM must shut down cleanly";

  // The node's own consistency check: every index agrees with its records.
  EXPECT_EQ(RunToExit(NodeArgs(data, true)), 0) << "indexes disagree with records after the crash";
}

TEST(DurabilityTest, AnsweredReadsStayAuditedAfterSigkill) {
  TempDir dir;
  const std::string data = dir.path() + "/db";
  BootstrapForTests("kassandra", data);
  constexpr int kPeople = 8;
  std::vector<std::string> people;
  absl::Mutex mu;
  std::map<std::string, int> answered;  // reads the client saw answered, per person
  int answered_total = 0;
  {
    ChildProcess node(NodeArgs(data));
    ASSERT_GT(node.port(), 0);
    const std::string token = LogIn(node.port(), "centres/kassandra/staff", "coord");
    auto stub = Connect(node.port());
    for (int i = 0; i < kPeople; ++i) {
      nv1::CreateBeneficiaryRequest r;
      *r.mutable_beneficiary() = SampleBeneficiary(100 + i);
      nv1::Beneficiary out;
      ASSERT_TRUE(stub->CreateBeneficiary(SessionContext(token).get(), r, &out).ok());
      people.push_back(out.name());
    }
    std::atomic<bool> stop{false};
    auto reader = [&](int t) {
      auto own = Connect(node.port());
      // Bounded: at most 20000 reads per reader or until the node dies.
      for (int i = 0; i < 20000 && !stop; ++i) {
        nv1::GetBeneficiaryRequest get;
        get.set_name(people[(i + t) % kPeople]);
        nv1::Beneficiary out;
        if (own->GetBeneficiary(SessionContext(token).get(), get, &out).ok()) {
          absl::MutexLock lock(&mu);
          ++answered[get.name()];
          ++answered_total;
        }
      }
    };
    std::vector<std::thread> readers;
    for (int t = 0; t < 4; ++t) readers.emplace_back(reader, t);
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      {
        absl::MutexLock lock(&mu);
        if (answered_total >= 2000) break;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    int status = node.Stop(SIGKILL);
    EXPECT_TRUE(WIFSIGNALED(status));
    stop = true;
    for (auto& t : readers) t.join();
  }
  ASSERT_GE(answered_total, 2000);

  ChildProcess restarted(NodeArgs(data));
  ASSERT_GT(restarted.port(), 0);
  auto stub = Connect(restarted.port());
  const std::string token = LogIn(restarted.port(), "centres/kassandra/staff", "coord");
  for (const std::string& name : people) {
    int audited = 0;
    nv1::ListAuditEntriesRequest list;
    list.set_resource(name);
    list.set_page_size(200);
    for (int page = 0; page < 100; ++page) {
      nv1::ListAuditEntriesResponse response;
      grpc::Status s = stub->ListAuditEntries(SessionContext(token).get(), list, &response);
      ASSERT_TRUE(s.ok()) << s.error_message();
      for (const auto& e : response.audit_entries()) audited += e.action() == "GetBeneficiary";
      if (response.next_page_token().empty()) break;
      list.set_page_token(response.next_page_token());
    }
    // More is possible: reads the node answered whose answer the kill cut off.
    EXPECT_GE(audited, answered[name]) << name << ": an answered read lost its audit entry";
  }
  EXPECT_EQ(WEXITSTATUS(restarted.Stop(SIGTERM)), 0);
  EXPECT_EQ(RunToExit(NodeArgs(data, true)), 0) << "indexes disagree with records after the crash";
}

}  // namespace
}  // namespace kentra::testing
