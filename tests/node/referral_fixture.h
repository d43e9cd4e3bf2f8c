// ReferralTest: the federation referral tests run against, in one process: a
// hub and the nodes of Kassandra, Thessaloniki and Chalkidona on 127.0.0.1 over
// real mTLS and gRPC, on fake clocks, with the calls the tests make of them.
#ifndef KENTRA_TESTS_NODE_REFERRAL_FIXTURE_H_
#define KENTRA_TESTS_NODE_REFERRAL_FIXTURE_H_

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <grpcpp/support/server_interceptor.h>
#include <gtest/gtest.h>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "kentra/hub/v1/mailbox_service.pb.h"
#include "tests/testing/test_util.h"

namespace kentra::testing {

// Polls `done` every 20 ms for up to 10 s.
inline bool WaitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

// Makes the hub refuse, as a whole and naming no message, every post that
// carries a message for one centre (none until Refuse is called): it empties
// the request before the hub reads it, so the hub stores nothing and answers
// INVALID_ARGUMENT "requests: give 1 to 100".
class BatchRefusal final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  void Refuse(const std::string& recipient) {
    absl::MutexLock lock(&mu_);
    recipient_ = recipient;
  }
  std::string recipient() {
    absl::MutexLock lock(&mu_);
    return recipient_;
  }
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    if (absl::string_view(info->method()) != "/kentra.hub.v1.MailboxService/BatchPostMessages") return nullptr;
    return new Emptier(this);
  }

 private:
  class Emptier final : public grpc::experimental::Interceptor {
   public:
    explicit Emptier(BatchRefusal* refusal) : refusal_(refusal) {}
    void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
      if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::POST_RECV_MESSAGE)) {
        auto* request = static_cast<kentra::hub::v1::BatchPostMessagesRequest*>(methods->GetRecvMessage());
        const std::string refused = refusal_->recipient();
        if (!refused.empty() && std::any_of(request->requests().begin(), request->requests().end(),
                                            [&](const auto& post) { return post.recipient() == refused; })) {
          request->clear_requests();
        }
      }
      methods->Proceed();
    }

   private:
    BatchRefusal* refusal_;
  };
  absl::Mutex mu_;
  std::string recipient_ ABSL_GUARDED_BY(mu_);
};

// Makes the hub answer CheckPosts UNIMPLEMENTED, as a hub older than the call
// does, while Pretend(true).
class OlderHub final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  void Pretend(bool older) { older_ = older; }
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    if (!older_ || absl::string_view(info->method()) != "/kentra.hub.v1.MailboxService/CheckPosts") return nullptr;
    return new Unimplemented();
  }

 private:
  class Unimplemented final : public grpc::experimental::Interceptor {
   public:
    void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
      if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
        methods->ModifySendStatus(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, ""));
      }
      methods->Proceed();
    }
  };
  std::atomic<bool> older_{false};
};

class ReferralTest : public ::testing::Test {
 protected:
  ReferralTest()
      : kassandra_("kassandra", kStart, hub_.address()),
        thessaloniki_("thessaloniki", kStart, hub_.address()),
        chalkidona_("chalkidona", kStart, hub_.address()) {
    // Each courier fetches the hub's directory as it starts.
    for (TestNode* node : {&kassandra_, &thessaloniki_, &chalkidona_}) {
      EXPECT_TRUE(WaitFor([node] { return node->server().referrals()->directory()->version() == 1; }));
    }
  }

  static inline const absl::Time kStart = absl::FromCivil(absl::CivilSecond(2026, 11, 20, 10, 0, 0), absl::UTCTimeZone());

  // Registers a person at `node` (with consent to share for referral unless not).
  std::string Person(TestNode& node, int serial, bool consent = true) {
    auto stub = node.NewStub();
    kentra::node::v1::CreateBeneficiaryRequest create;
    *create.mutable_beneficiary() = SampleBeneficiary(serial);
    kentra::node::v1::Beneficiary b;
    EXPECT_TRUE(stub->CreateBeneficiary(node.Context().get(), create, &b).ok());
    if (consent) Consent(node, b.name(), kentra::node::v1::CONSENT_STATE_GIVEN);
    return b.name();
  }

  void Consent(TestNode& node, const std::string& beneficiary, kentra::node::v1::ConsentState state) {
    kentra::node::v1::RecordConsentRequest r;
    r.set_name(beneficiary);
    r.mutable_consent()->set_purpose(kentra::node::v1::CONSENT_PURPOSE_REFERRAL_SHARING);
    r.mutable_consent()->set_state(state);
    r.mutable_consent()->set_evidence("signed form 2026/114");
    kentra::node::v1::Beneficiary b;
    grpc::Status s = node.NewStub()->RecordConsent(node.Context().get(), r, &b);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }

  static kentra::node::v1::CreateReferralRequest Request(const std::string& beneficiary, const std::string& to = "thessaloniki") {
    kentra::node::v1::CreateReferralRequest r;
    r.mutable_referral()->set_beneficiary(beneficiary);
    r.mutable_referral()->set_receiving_centre(to);
    if (to == "thessaloniki") r.mutable_referral()->set_receiving_site("west");
    r.mutable_referral()->set_service(kentra::type::v1::SERVICE_TYPE_MIGRANT_INTEGRATION_SUPPORT);
    r.mutable_referral()->set_urgency(kentra::node::v1::REFERRAL_URGENCY_ROUTINE);
    r.mutable_referral()->set_reason("Needs help with residence permit renewal; ΚΕΜ Thessaloniki");
    return r;
  }

  grpc::Status Send(TestNode& node, const kentra::node::v1::CreateReferralRequest& r, kentra::node::v1::Referral* out) {
    return node.NewReferralStub()->CreateReferral(node.Context().get(), r, out);
  }

  // Runs a sync at `node` now, as its coordinator.
  grpc::Status SyncNow(TestNode& node, kentra::node::v1::SyncRun* run) {
    return node.NewStub()->SyncNow(node.Context("coord").get(), kentra::node::v1::SyncNowRequest(), run);
  }

  // GetReferral of `name` on `node`, as its staff.
  grpc::Status GetReferral(TestNode& node, const std::string& name, kentra::node::v1::Referral* out) {
    kentra::node::v1::GetReferralRequest r;
    r.set_name(name);
    return node.NewReferralStub()->GetReferral(node.Context().get(), r, out);
  }
  kentra::node::v1::Referral Get(TestNode& node, const std::string& name) {
    kentra::node::v1::Referral out;
    grpc::Status s = GetReferral(node, name, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  // Waits until `node` holds `name` in `state`.
  bool Reaches(TestNode& node, const std::string& name, kentra::node::v1::ReferralState state) {
    return WaitFor([&] {
      kentra::node::v1::Referral out;
      return GetReferral(node, name, &out).ok() && out.state() == state;
    });
  }

  std::shared_ptr<BatchRefusal> refusal_ = std::make_shared<BatchRefusal>();
  std::shared_ptr<OlderHub> older_hub_ = std::make_shared<OlderHub>();
  TestHub hub_{kStart, {refusal_, older_hub_}};
  TestNode kassandra_;
  TestNode thessaloniki_;
  TestNode chalkidona_;
};

}  // namespace kentra::testing

#endif  // KENTRA_TESTS_NODE_REFERRAL_FIXTURE_H_
