// Behaviour of the staff API against a real node over loopback gRPC.
#include <set>

#include <gtest/gtest.h>

#include "common/time_util.h"
#include "node/schema.h"
#include "tests/testing/test_util.h"

namespace kentra::node {
namespace {

using ::kentra::testing::GrpcStatusIs;
using ::kentra::testing::SampleBeneficiary;
using ::kentra::testing::TestNode;
namespace nv1 = kentra::node::v1;
namespace tv1 = kentra::type::v1;

class RecordsTest : public ::testing::Test {
 protected:
  RecordsTest() : stub_(node_.NewStub()) {}

  nv1::Beneficiary Create(const nv1::Beneficiary& b, const std::string& request_id = "") {
    nv1::CreateBeneficiaryRequest r;
    *r.mutable_beneficiary() = b;
    r.set_request_id(request_id);
    nv1::Beneficiary out;
    grpc::Status s = stub_->CreateBeneficiary(node_.Context().get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  nv1::Case Open(const std::string& ben, const std::string& worker = "m.papadaki") {
    nv1::OpenCaseRequest r;
    r.mutable_case_()->set_beneficiary(ben);
    r.mutable_case_()->set_assigned_worker(worker);
    r.mutable_case_()->add_needs(nv1::NEED_INCOME);
    nv1::Case out;
    EXPECT_TRUE(stub_->OpenCase(node_.Context().get(), r, &out).ok());
    return out;
  }

  TestNode node_;
  std::unique_ptr<nv1::StaffService::Stub> stub_;
};

TEST_F(RecordsTest, CreateSetsServerFieldsAndGetReturnsIt) {
  nv1::Beneficiary b = SampleBeneficiary();
  b.set_name("beneficiaries/999");  // ignored
  b.add_consents()->set_purpose(nv1::CONSENT_PURPOSE_REFERRAL_SHARING);
  b.mutable_consents(0)->set_state(nv1::CONSENT_STATE_GIVEN);
  nv1::Beneficiary created = Create(b);
  EXPECT_EQ(created.name(), "beneficiaries/1");
  EXPECT_GT(created.create_time().seconds(), 0);
  EXPECT_EQ(created.consents(0).recorded_by(), "users/m.papadaki");
  nv1::GetBeneficiaryRequest get;
  get.set_name(created.name());
  nv1::Beneficiary fetched;
  ASSERT_TRUE(stub_->GetBeneficiary(node_.Context().get(), get, &fetched).ok());
  EXPECT_EQ(fetched.SerializeAsString(), created.SerializeAsString());
}

TEST_F(RecordsTest, RetriedCreateReturnsTheFirstResultOnce) {
  nv1::Beneficiary first = Create(SampleBeneficiary(3), "6f1c2a1e-0000-4000-8000-000000000001");
  const std::string fingerprint = node_.StoreFingerprint();
  nv1::Beneficiary again = Create(SampleBeneficiary(3), "6f1c2a1e-0000-4000-8000-000000000001");
  EXPECT_EQ(again.name(), first.name());
  EXPECT_EQ(node_.StoreFingerprint(), fingerprint);
  node_.Restart();  // request ids survive a restart
  stub_ = node_.NewStub();
  EXPECT_EQ(Create(SampleBeneficiary(3), "6f1c2a1e-0000-4000-8000-000000000001").name(), first.name());
}

TEST_F(RecordsTest, SearchIgnoresCaseAndAccentsAndFindsByAmka) {
  nv1::Beneficiary b = SampleBeneficiary(1);
  b.set_family_name("ΠΑΠΑΔΟΠΟΎΛΟΣ");
  b.set_given_name("Νίκος");
  nv1::Beneficiary created = Create(b);
  nv1::Beneficiary other = SampleBeneficiary(2);
  other.set_family_name("Παπαγεωργίου");
  Create(other);

  auto search = [&](const std::string& prefix) {
    nv1::SearchBeneficiariesRequest r;
    r.set_name_prefix(prefix);
    nv1::SearchBeneficiariesResponse out;
    EXPECT_TRUE(stub_->SearchBeneficiaries(node_.Context().get(), r, &out).ok());
    std::vector<std::string> names;
    for (const auto& x : out.beneficiaries()) names.push_back(x.name());
    return names;
  };
  EXPECT_EQ(search("παπαδοπουλος"), std::vector<std::string>{created.name()});
  EXPECT_EQ(search("νικος παπαδ"), std::vector<std::string>{created.name()});
  EXPECT_EQ(search("ΠΑΠΑ").size(), 2u);
  EXPECT_TRUE(search("Γιαννόπουλος").empty());

  nv1::SearchBeneficiariesRequest by_amka;
  by_amka.set_national_id(b.national_id().value());
  nv1::SearchBeneficiariesResponse found;
  ASSERT_TRUE(stub_->SearchBeneficiaries(node_.Context().get(), by_amka, &found).ok());
  ASSERT_EQ(found.beneficiaries_size(), 1);
  EXPECT_EQ(found.beneficiaries(0).name(), created.name());
}

TEST_F(RecordsTest, UpdateChangesOnlyMaskedFieldsAndMovesIndexes) {
  nv1::Beneficiary created = Create(SampleBeneficiary(1));
  nv1::UpdateBeneficiaryRequest r;
  r.mutable_beneficiary()->set_name(created.name());
  r.mutable_beneficiary()->set_family_name("Ιωάννου");
  r.mutable_beneficiary()->set_municipality("ignored because not in the mask");
  r.mutable_update_mask()->add_paths("family_name");
  nv1::Beneficiary updated;
  ASSERT_TRUE(stub_->UpdateBeneficiary(node_.Context().get(), r, &updated).ok());
  EXPECT_EQ(updated.family_name(), "Ιωάννου");
  EXPECT_EQ(updated.municipality(), created.municipality());
  nv1::SearchBeneficiariesRequest old_name;
  old_name.set_name_prefix("Παπαδοπ");
  nv1::SearchBeneficiariesResponse out;
  ASSERT_TRUE(stub_->SearchBeneficiaries(node_.Context().get(), old_name, &out).ok());
  EXPECT_EQ(out.beneficiaries_size(), 0);
  EXPECT_TRUE(node_.server().records()->CheckConsistency().ok());
}

TEST_F(RecordsTest, UpdateToATakenAmkaIsAlreadyExists) {
  nv1::Beneficiary a = Create(SampleBeneficiary(1));
  nv1::Beneficiary b = Create(SampleBeneficiary(2));
  nv1::UpdateBeneficiaryRequest r;
  *r.mutable_beneficiary() = b;
  *r.mutable_beneficiary()->mutable_national_id() = a.national_id();
  r.mutable_update_mask()->add_paths("national_id");
  nv1::Beneficiary out;
  EXPECT_THAT(stub_->UpdateBeneficiary(node_.Context().get(), r, &out),
              GrpcStatusIs(grpc::StatusCode::ALREADY_EXISTS, "already registered to beneficiaries/1"));
}

TEST_F(RecordsTest, ListingsPageThroughEverythingExactlyOnce) {
  std::set<std::string> created;
  for (int i = 1; i <= 23; ++i) created.insert(Create(SampleBeneficiary(i)).name());
  std::set<std::string> seen;
  nv1::ListBeneficiariesRequest r;
  r.set_page_size(5);
  int pages = 0;
  do {
    nv1::ListBeneficiariesResponse page;
    ASSERT_TRUE(stub_->ListBeneficiaries(node_.Context().get(), r, &page).ok());
    for (const auto& b : page.beneficiaries()) EXPECT_TRUE(seen.insert(b.name()).second) << b.name();
    r.set_page_token(page.next_page_token());
    ++pages;
  } while (!r.page_token().empty());
  EXPECT_EQ(seen, created);
  EXPECT_EQ(pages, 5);
}

// Lists answer with the stored records as they are (no decode and re-encode on
// the node): each listed record must still be exactly what Get answers, with or
// without a filter that makes the node decode it.
TEST_F(RecordsTest, ListedRecordsAreExactlyWhatGetAnswers) {
  for (int i = 1; i <= 4; ++i) {
    nv1::Beneficiary b = SampleBeneficiary(i);
    b.add_consents()->set_purpose(nv1::CONSENT_PURPOSE_REFERRAL_SHARING);
    b.mutable_consents(0)->set_state(nv1::CONSENT_STATE_GIVEN);
    Open(Create(b).name(), i % 2 == 0 ? "g.nikolaou" : "m.papadaki");
  }
  auto same_as_get = [&](const nv1::Beneficiary& listed) {
    nv1::GetBeneficiaryRequest get;
    get.set_name(listed.name());
    nv1::Beneficiary fetched;
    ASSERT_TRUE(stub_->GetBeneficiary(node_.Context().get(), get, &fetched).ok());
    EXPECT_EQ(listed.SerializeAsString(), fetched.SerializeAsString()) << listed.name();
    EXPECT_TRUE(listed.GetReflection()->GetUnknownFields(listed).empty());
  };
  for (auto group : {tv1::TARGET_GROUP_UNSPECIFIED, tv1::TARGET_GROUP_KEA_BENEFICIARY}) {
    nv1::ListBeneficiariesRequest r;
    r.set_target_group(group);
    nv1::ListBeneficiariesResponse page;
    ASSERT_TRUE(stub_->ListBeneficiaries(node_.Context().get(), r, &page).ok());
    ASSERT_FALSE(page.beneficiaries().empty());
    EXPECT_TRUE(page.GetReflection()->GetUnknownFields(page).empty());
    for (const auto& b : page.beneficiaries()) same_as_get(b);
  }
  for (const std::string worker : {"", "g.nikolaou"}) {
    nv1::ListCasesRequest r;
    r.set_assigned_worker(worker);
    nv1::ListCasesResponse page;
    ASSERT_TRUE(stub_->ListCases(node_.Context().get(), r, &page).ok());
    EXPECT_EQ(page.cases_size(), worker.empty() ? 4 : 2);
    for (const auto& c : page.cases()) {
      nv1::GetCaseRequest get;
      get.set_name(c.name());
      nv1::Case fetched;
      ASSERT_TRUE(stub_->GetCase(node_.Context().get(), get, &fetched).ok());
      EXPECT_EQ(c.SerializeAsString(), fetched.SerializeAsString()) << c.name();
    }
  }
}

// Version 3 kept nothing in the case listing entries; opening such a store puts
// each case in its entries, after which listings and the consistency check agree.
TEST_F(RecordsTest, AVersion3StoreGetsItsCasesIntoTheCaseIndexWhenOpened) {
  std::vector<nv1::Case> opened;
  for (int i = 1; i <= 3; ++i) opened.push_back(Open(Create(SampleBeneficiary(i)).name(), "g.nikolaou"));
  nv1::CloseCaseRequest close;
  close.set_name(opened[1].name());
  close.set_reason(nv1::CLOSE_REASON_MOVED_AWAY);
  ASSERT_TRUE(stub_->CloseCase(node_.Context().get(), close, &opened[1]).ok());
  ASSERT_TRUE(node_.server().records()->CheckConsistency().ok());

  Store* store = node_.server().store();
  WriteBatch v3;
  int emptied = 0;
  {  // the iterator must be gone before the store closes
    for (const std::string& prefix : {CaseStatePrefix(nv1::CASE_STATE_OPEN), CaseStatePrefix(nv1::CASE_STATE_CLOSED),
                                      CaseWorkerPrefix("g.nikolaou"), std::string(kIdxCaseOpened)}) {
      auto it = store->NewPrefixIterator(kIndexes, prefix);
      for (it->Seek(prefix); it->Valid(); it->Next()) {
        v3.Put(kIndexes, it->key(), "");
        ++emptied;
      }
    }
  }
  EXPECT_EQ(emptied, 9) << "three listing entries per case";
  v3.Put(kMeta, kMetaSchemaVersion, "3");
  ASSERT_TRUE(store->Write(v3).ok());
  EXPECT_FALSE(node_.server().records()->CheckConsistency().ok());

  node_.Restart();
  stub_ = node_.NewStub();
  auto version = node_.server().store()->Get(kMeta, kMetaSchemaVersion);
  ASSERT_TRUE(version.ok() && version->has_value());
  EXPECT_EQ(**version, absl::StrCat(kSchemaVersion)) << "migrated through to the current version";
  EXPECT_TRUE(node_.server().records()->CheckConsistency().ok());
  for (auto state : {nv1::CASE_STATE_UNSPECIFIED, nv1::CASE_STATE_CLOSED}) {
    nv1::ListCasesRequest r;
    r.set_state(state);
    nv1::ListCasesResponse page;
    ASSERT_TRUE(stub_->ListCases(node_.Context().get(), r, &page).ok());
    ASSERT_EQ(page.cases_size(), state == nv1::CASE_STATE_CLOSED ? 1 : 3);
    for (const auto& c : page.cases()) {
      const auto& was = *std::find_if(opened.begin(), opened.end(), [&](const auto& o) { return o.name() == c.name(); });
      EXPECT_EQ(c.SerializeAsString(), was.SerializeAsString()) << c.name();
    }
  }
}

TEST_F(RecordsTest, CaseListsFilterByStateWorkerGroupAndPeriod) {
  nv1::Beneficiary kea = Create(SampleBeneficiary(1));
  nv1::Beneficiary plain = SampleBeneficiary(2);
  plain.clear_target_groups();
  plain = Create(plain);
  nv1::Case c1 = Open(kea.name(), "m.papadaki");
  node_.clock().Advance(absl::Hours(24 * 40));
  nv1::Case c2 = Open(plain.name(), "g.nikolaou");
  nv1::Case c3 = Open(kea.name(), "g.nikolaou");
  nv1::CloseCaseRequest close;
  close.set_name(c3.name());
  close.set_reason(nv1::CLOSE_REASON_MOVED_AWAY);
  ASSERT_TRUE(stub_->CloseCase(node_.Context().get(), close, &c3).ok());

  auto list = [&](const std::function<void(nv1::ListCasesRequest&)>& edit) {
    nv1::ListCasesRequest r;
    edit(r);
    nv1::ListCasesResponse out;
    EXPECT_TRUE(stub_->ListCases(node_.Context().get(), r, &out).ok());
    std::vector<std::string> names;
    for (const auto& c : out.cases()) names.push_back(c.name());
    return names;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(list([](auto&) {}), (V{c3.name(), c2.name(), c1.name()}));  // newest first
  EXPECT_EQ(list([](auto& r) { r.set_state(nv1::CASE_STATE_OPEN); }), (V{c2.name(), c1.name()}));
  EXPECT_EQ(list([](auto& r) { r.set_assigned_worker("g.nikolaou"); }), (V{c3.name(), c2.name()}));
  EXPECT_EQ(list([](auto& r) { r.set_state(nv1::CASE_STATE_CLOSED); r.set_assigned_worker("g.nikolaou"); }),
            (V{c3.name()}));
  EXPECT_EQ(list([](auto& r) { r.set_target_group(tv1::TARGET_GROUP_KEA_BENEFICIARY); }), (V{c3.name(), c1.name()}));
  EXPECT_EQ(list([](auto& r) { *r.mutable_opened_to() = kentra::ToDate(absl::CivilDay(2026, 11, 20)); }),
            (V{c1.name()}));
  EXPECT_EQ(list([](auto& r) { *r.mutable_opened_from() = kentra::ToDate(absl::CivilDay(2026, 12, 1)); }),
            (V{c3.name(), c2.name()}));
}

TEST_F(RecordsTest, CloseReopenAndTimelineInDateOrder) {
  nv1::Case c = Open(Create(SampleBeneficiary()).name());
  for (int day : {15, 3, 9}) {
    nv1::RecordServiceEventRequest r;
    r.set_parent(c.name());
    *r.mutable_service_event()->mutable_service_date() = kentra::ToDate(absl::CivilDay(2026, 10, day));
    r.mutable_service_event()->set_service_type(tv1::SERVICE_TYPE_REFERRAL_OUT);
    r.mutable_service_event()->set_worker("m.papadaki");
    nv1::ServiceEvent e;
    ASSERT_TRUE(stub_->RecordServiceEvent(node_.Context().get(), r, &e).ok());
    EXPECT_EQ(e.axis(), tv1::AXIS_COOPERATION_REFERRAL);
  }
  nv1::ListServiceEventsRequest timeline;
  timeline.set_parent(c.name());
  nv1::ListServiceEventsResponse events;
  ASSERT_TRUE(stub_->ListServiceEvents(node_.Context().get(), timeline, &events).ok());
  ASSERT_EQ(events.service_events_size(), 3);
  EXPECT_EQ(events.service_events(0).service_date().day(), 3);
  EXPECT_EQ(events.service_events(2).service_date().day(), 15);

  nv1::CloseCaseRequest close;
  close.set_name(c.name());
  close.set_reason(nv1::CLOSE_REASON_GOALS_MET);
  ASSERT_TRUE(stub_->CloseCase(node_.Context().get(), close, &c).ok());
  nv1::ReopenCaseRequest reopen;
  reopen.set_name(c.name());
  reopen.set_note("came back with a new need");
  ASSERT_TRUE(stub_->ReopenCase(node_.Context().get(), reopen, &c).ok());
  EXPECT_EQ(c.state(), nv1::CASE_STATE_OPEN);
  EXPECT_EQ(c.reopen_count(), 1);
  EXPECT_TRUE(node_.server().records()->CheckConsistency().ok());
}

TEST_F(RecordsTest, EveryChangeIsAuditedWithActorAndResource) {
  nv1::Beneficiary b = Create(SampleBeneficiary());
  nv1::Case c = Open(b.name());
  nv1::ListAuditEntriesRequest r;
  r.set_resource(b.name());
  nv1::ListAuditEntriesResponse out;
  ASSERT_TRUE(stub_->ListAuditEntries(node_.Context("coord").get(), r, &out).ok());
  ASSERT_EQ(out.audit_entries_size(), 1);
  EXPECT_EQ(out.audit_entries(0).action(), "CreateBeneficiary");
  EXPECT_EQ(out.audit_entries(0).actor(), "users/m.papadaki");
  EXPECT_EQ(out.audit_entries(0).principal(), "staff/kassandra");
  EXPECT_NE(out.audit_entries(0).peer().find("127.0.0.1"), std::string::npos);
  nv1::ListAuditEntriesRequest all;
  ASSERT_TRUE(stub_->ListAuditEntries(node_.Context("coord").get(), all, &out).ok());
  std::vector<std::string> actions;
  for (const auto& e : out.audit_entries()) actions.push_back(e.action() + " " + e.resource());
  EXPECT_THAT(actions, ::testing::ElementsAre("Login users/m.papadaki", "CreateBeneficiary " + b.name(),
                                              "OpenCase " + c.name(), "Login users/coord"));
  // No personal data in the audit log: the ΑΜΚΑ and names appear nowhere.
  for (const auto& e : out.audit_entries()) {
    EXPECT_EQ(e.DebugString().find(b.national_id().value()), std::string::npos);
    EXPECT_EQ(e.DebugString().find("Παπαδοπούλου"), std::string::npos);
  }
}

}  // namespace
}  // namespace kentra::node

namespace kentra::node {
namespace {

TEST(NodeServerTest, StartFailuresAreCleanErrors) {
  ::kentra::testing::TempDir dir;
  NodeOptions options;
  options.centre = ::kentra::testing::CentreConfig("ermionida");
  options.data_dir = dir.path() + "/nested/dirs/db";  // parents are created
  options.insecure = true;
  options.listen_address = "not-an-address";
  EXPECT_THAT(NodeServer::Start(options),
              ::kentra::testing::StatusIs(absl::StatusCode::kInvalidArgument, "must be HOST:PORT"));
  options.listen_address = "0.0.0.0:0";
  EXPECT_THAT(NodeServer::Start(options),
              ::kentra::testing::StatusIs(absl::StatusCode::kFailedPrecondition, "only on loopback"));
  options.listen_address = "127.0.0.1:0";
  auto node = NodeServer::Start(options);
  ASSERT_TRUE(node.ok()) << node.status();
  // A second node on the same data directory is refused, not corrupted.
  EXPECT_THAT(NodeServer::Start(options),
              ::kentra::testing::StatusIs(absl::StatusCode::kFailedPrecondition, "in use by another process"));
  // Backups inside the store they copy, or none kept, make no sense.
  options.backup_dir = options.data_dir + "/backups";
  EXPECT_THAT(NodeServer::Start(options),
              ::kentra::testing::StatusIs(absl::StatusCode::kInvalidArgument, "must lie outside the data directory"));
  options.backup_dir = dir.path() + "/backups";
  options.backups_kept = 0;
  EXPECT_THAT(NodeServer::Start(options), ::kentra::testing::StatusIs(absl::StatusCode::kInvalidArgument, "at least 1"));
}

}  // namespace
}  // namespace kentra::node
