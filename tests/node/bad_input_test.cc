// Every kind of bad input gets its precise status, names the field, and leaves the
// store byte-for-byte as it was.
#include <functional>

#include <gtest/gtest.h>

#include "node/validation.h"
#include "tests/testing/test_util.h"

namespace kentra::node {
namespace {

using ::kentra::testing::GrpcStatusIs;
using ::kentra::testing::SampleBeneficiary;
using ::kentra::testing::TestNode;
namespace nv1 = kentra::node::v1;
namespace tv1 = kentra::type::v1;

// The session the table's calls are made in (the social worker's).
std::string session_token;
std::unique_ptr<grpc::ClientContext> Ctx() { return ::kentra::testing::SessionContext(session_token); }

class BadInputTest : public ::testing::Test {
 public:  // the table's lambdas read the fixture's records
  void SetUp() override {
    stub_ = node_.NewStub();
    session_token = node_.Token("m.papadaki");
    nv1::CreateBeneficiaryRequest create;
    *create.mutable_beneficiary() = SampleBeneficiary(1);
    create.set_request_id("known-request");
    ASSERT_TRUE(stub_->CreateBeneficiary(node_.Context().get(), create, &ben_).ok());
    nv1::RecordConsentRequest consent;
    consent.set_name(ben_.name());
    consent.mutable_consent()->set_purpose(nv1::CONSENT_PURPOSE_SERVICE_PROVISION);
    consent.mutable_consent()->set_state(nv1::CONSENT_STATE_GIVEN);
    consent.mutable_consent()->set_evidence("signed form 1");
    ASSERT_TRUE(stub_->RecordConsent(node_.Context().get(), consent, &ben_).ok());
    nv1::OpenCaseRequest open;
    open.mutable_case_()->set_beneficiary(ben_.name());
    open.mutable_case_()->set_assigned_worker("m.papadaki");
    open.mutable_case_()->add_needs(nv1::NEED_INCOME);
    ASSERT_TRUE(stub_->OpenCase(node_.Context().get(), open, &open_case_).ok());
    open.mutable_case_()->add_needs(nv1::NEED_HOUSING);
    ASSERT_TRUE(stub_->OpenCase(node_.Context().get(), open, &closed_case_).ok());
    nv1::CloseCaseRequest close;
    close.set_name(closed_case_.name());
    close.set_reason(nv1::CLOSE_REASON_GOALS_MET);
    ASSERT_TRUE(stub_->CloseCase(node_.Context().get(), close, &closed_case_).ok());
  }

  nv1::RecordServiceEventRequest ValidEvent() const {
    nv1::RecordServiceEventRequest r;
    r.set_parent(open_case_.name());
    auto* e = r.mutable_service_event();
    e->mutable_service_date()->set_year(2026);
    e->mutable_service_date()->set_month(11);
    e->mutable_service_date()->set_day(2);
    e->set_service_type(tv1::SERVICE_TYPE_COUNSELLING);
    e->set_counselling_topic(tv1::COUNSELLING_TOPIC_LEGAL);
    e->set_worker("m.papadaki");
    return r;
  }

  TestNode node_;
  std::unique_ptr<nv1::StaffService::Stub> stub_;
  nv1::Beneficiary ben_;
  nv1::Case open_case_;
  nv1::Case closed_case_;
};

struct BadCase {
  std::string name;
  grpc::StatusCode code;
  std::string message;  // must appear in the status message (usually the field path)
  std::function<grpc::Status(BadInputTest*, nv1::StaffService::Stub*)> call;
};

grpc::Status Create(nv1::StaffService::Stub* stub, const std::function<void(nv1::CreateBeneficiaryRequest&)>& edit) {
  nv1::CreateBeneficiaryRequest r;
  *r.mutable_beneficiary() = SampleBeneficiary(7);
  edit(r);
  nv1::Beneficiary out;
  return stub->CreateBeneficiary(Ctx().get(), r, &out);
}

TEST_F(BadInputTest, EachGetsItsStatusAndChangesNothing) {
  using G = grpc::StatusCode;
  const std::string long_name(kMaxNameChars + 1, 'x');
  std::vector<BadCase> cases = {
      {"missing beneficiary", G::INVALID_ARGUMENT, "beneficiary: is required",
       [](auto*, auto* s) { return Create(s, [](auto& r) { r.clear_beneficiary(); }); }},
      {"missing given name", G::INVALID_ARGUMENT, "beneficiary.given_name: is required",
       [](auto*, auto* s) { return Create(s, [](auto& r) { r.mutable_beneficiary()->clear_given_name(); }); }},
      {"missing birth date", G::INVALID_ARGUMENT, "beneficiary.birth_date: is required",
       [](auto*, auto* s) { return Create(s, [](auto& r) { r.mutable_beneficiary()->clear_birth_date(); }); }},
      {"impossible birth date", G::INVALID_ARGUMENT, "beneficiary.birth_date: 1985-02-30 is not a calendar day",
       [](auto*, auto* s) { return Create(s, [](auto& r) { r.mutable_beneficiary()->mutable_birth_date()->set_month(2);
                                                              r.mutable_beneficiary()->mutable_birth_date()->set_day(30); }); }},
      {"future birth date", G::INVALID_ARGUMENT, "beneficiary.birth_date: is in the future",
       [](auto*, auto* s) { return Create(s, [](auto& r) { r.mutable_beneficiary()->mutable_birth_date()->set_year(2030); }); }},
      {"ΑΜΚΑ checksum", G::INVALID_ARGUMENT, "beneficiary.national_id.value: ΑΜΚΑ check digit",
       [](auto*, auto* s) { return Create(s, [](auto& r) { auto* v = r.mutable_beneficiary()->mutable_national_id()->mutable_value();
                                                              (*v)[10] = (*v)[10] == '9' ? '0' : (*v)[10] + 1; }); }},
      {"ΑΜΚΑ impossible date", G::INVALID_ARGUMENT, "beneficiary.national_id.value: ΑΜΚΑ must start with a birth date",
       [](auto*, auto* s) { return Create(s, [](auto& r) { r.mutable_beneficiary()->mutable_national_id()->set_value("31028512340"); }); }},
      {"national id type unspecified", G::INVALID_ARGUMENT, "beneficiary.national_id.type",
       [](auto*, auto* s) { return Create(s, [](auto& r) { r.mutable_beneficiary()->mutable_national_id()->set_type(nv1::NATIONAL_ID_TYPE_UNSPECIFIED); }); }},
      {"gender unspecified", G::INVALID_ARGUMENT, "beneficiary.gender",
       [](auto*, auto* s) { return Create(s, [](auto& r) { r.mutable_beneficiary()->set_gender(tv1::GENDER_UNSPECIFIED); }); }},
      {"gender unknown value", G::INVALID_ARGUMENT, "beneficiary.gender",
       [](auto*, auto* s) { return Create(s, [](auto& r) { r.mutable_beneficiary()->set_gender(static_cast<tv1::Gender>(77)); }); }},
      {"target group unknown value", G::INVALID_ARGUMENT, "beneficiary.target_groups[1]",
       [](auto*, auto* s) { return Create(s, [](auto& r) { r.mutable_beneficiary()->add_target_groups(static_cast<tv1::TargetGroup>(99)); }); }},
      {"target group twice", G::INVALID_ARGUMENT, "beneficiary.target_groups[1]: is listed twice",
       [](auto*, auto* s) { return Create(s, [](auto& r) { r.mutable_beneficiary()->add_target_groups(tv1::TARGET_GROUP_KEA_BENEFICIARY); }); }},
      {"name over its limit", G::INVALID_ARGUMENT, "beneficiary.family_name: is longer than 100",
       [long_name](auto*, auto* s) { return Create(s, [&](auto& r) { r.mutable_beneficiary()->set_family_name(long_name); }); }},
      {"household size", G::INVALID_ARGUMENT, "beneficiary.household_size",
       [](auto*, auto* s) { return Create(s, [](auto& r) { r.mutable_beneficiary()->set_household_size(-1); }); }},
      {"bad phone", G::INVALID_ARGUMENT, "beneficiary.contact.phone",
       [](auto*, auto* s) { return Create(s, [](auto& r) { r.mutable_beneficiary()->mutable_contact()->set_phone("call me"); }); }},
      {"control characters", G::INVALID_ARGUMENT, "beneficiary.municipality: must be UTF-8",
       [](auto*, auto* s) { return Create(s, [](auto& r) { r.mutable_beneficiary()->set_municipality("Κασσάνδρα\x01"); }); }},
      {"consent purpose unspecified", G::INVALID_ARGUMENT, "beneficiary.consents[0].purpose",
       [](auto*, auto* s) { return Create(s, [](auto& r) { r.mutable_beneficiary()->add_consents()->set_state(nv1::CONSENT_STATE_GIVEN); }); }},
      {"one consent purpose twice", G::INVALID_ARGUMENT, "beneficiary.consents[1].purpose: repeats beneficiary.consents[0]'s",
       [](auto*, auto* s) { return Create(s, [](auto& r) {
         for (int i = 0; i < 2; ++i) {
           auto* c = r.mutable_beneficiary()->add_consents();
           c->set_purpose(nv1::CONSENT_PURPOSE_SERVICE_PROVISION);
           c->set_state(nv1::CONSENT_STATE_GIVEN);
         }
       }); }},
      {"the same consent again", G::FAILED_PRECONDITION, "CONSENT_PURPOSE_SERVICE_PROVISION consent is already CONSENT_STATE_GIVEN",
       [](BadInputTest* t, auto* s) { nv1::RecordConsentRequest r; r.set_name(t->ben_.name());
                                      r.mutable_consent()->set_purpose(nv1::CONSENT_PURPOSE_SERVICE_PROVISION);
                                      r.mutable_consent()->set_state(nv1::CONSENT_STATE_GIVEN);
                                      r.mutable_consent()->set_evidence("signed form 1");
                                      nv1::Beneficiary o; return s->RecordConsent(Ctx().get(), r, &o); }},
      {"indicators of a month not begun", G::INVALID_ARGUMENT, "period: 2026-12 has not begun; the latest month is 2026-11",
       [](auto*, auto* s) { nv1::GetIndicatorsRequest r; r.set_period("2026-12"); kentra::anon::v1::PeriodCells o;
                            return s->GetIndicators(Ctx().get(), r, &o); }},
      {"ΑΜΚΑ already registered", G::ALREADY_EXISTS, "already registered to beneficiaries/1",
       [](auto*, auto* s) { return Create(s, [](auto& r) { *r.mutable_beneficiary() = SampleBeneficiary(1); }); }},
      {"request_id reused with another body", G::INVALID_ARGUMENT, "request_id: 'known-request' was already used",
       [](auto*, auto* s) { return Create(s, [](auto& r) { r.set_request_id("known-request"); }); }},
      {"request_id malformed", G::INVALID_ARGUMENT, "request_id: must be",
       [](auto*, auto* s) { return Create(s, [](auto& r) { r.set_request_id("not a uuid!"); }); }},
      {"message over the size limit", G::RESOURCE_EXHAUSTED, "",
       [](auto*, auto* s) { return Create(s, [](auto& r) { r.mutable_beneficiary()->mutable_contact()->set_address(std::string(2 << 20, 'a')); }); }},
      {"get unknown id", G::NOT_FOUND, "beneficiaries/999 does not exist",
       [](auto*, auto* s) { nv1::GetBeneficiaryRequest r; r.set_name("beneficiaries/999"); nv1::Beneficiary o;
                            return s->GetBeneficiary(Ctx().get(), r, &o); }},
      {"get malformed name", G::INVALID_ARGUMENT, "name: 'cases/1' is not a beneficiary name",
       [](auto*, auto* s) { nv1::GetBeneficiaryRequest r; r.set_name("cases/1"); nv1::Beneficiary o;
                            return s->GetBeneficiary(Ctx().get(), r, &o); }},
      {"update without mask", G::INVALID_ARGUMENT, "update_mask",
       [](BadInputTest* t, auto* s) { nv1::UpdateBeneficiaryRequest r; *r.mutable_beneficiary() = t->ben_; nv1::Beneficiary o;
                                      return s->UpdateBeneficiary(Ctx().get(), r, &o); }},
      {"update of an output-only field", G::INVALID_ARGUMENT, "update_mask: 'create_time' cannot be changed",
       [](BadInputTest* t, auto* s) { nv1::UpdateBeneficiaryRequest r; *r.mutable_beneficiary() = t->ben_;
                                      r.mutable_update_mask()->add_paths("create_time"); nv1::Beneficiary o;
                                      return s->UpdateBeneficiary(Ctx().get(), r, &o); }},
      {"update making the record invalid", G::INVALID_ARGUMENT, "beneficiary.given_name: is required",
       [](BadInputTest* t, auto* s) { nv1::UpdateBeneficiaryRequest r; *r.mutable_beneficiary() = t->ben_;
                                      r.mutable_beneficiary()->clear_given_name();
                                      r.mutable_update_mask()->add_paths("given_name"); nv1::Beneficiary o;
                                      return s->UpdateBeneficiary(Ctx().get(), r, &o); }},
      {"negative page size", G::INVALID_ARGUMENT, "page_size: must not be negative",
       [](auto*, auto* s) { nv1::ListBeneficiariesRequest r; r.set_page_size(-1); nv1::ListBeneficiariesResponse o;
                            return s->ListBeneficiaries(Ctx().get(), r, &o); }},
      {"page size over the maximum", G::INVALID_ARGUMENT, "page_size: must be at most 200",
       [](auto*, auto* s) { nv1::ListCasesRequest r; r.set_page_size(201); nv1::ListCasesResponse o;
                            return s->ListCases(Ctx().get(), r, &o); }},
      {"forged page token", G::INVALID_ARGUMENT, "page_token: is not a token this node issued",
       [](auto*, auto* s) { nv1::ListCasesRequest r; r.set_page_token("AAAAforgedAAAA"); nv1::ListCasesResponse o;
                            return s->ListCases(Ctx().get(), r, &o); }},
      {"case on unknown beneficiary", G::NOT_FOUND, "case.beneficiary: beneficiaries/404 does not exist",
       [](auto*, auto* s) { nv1::OpenCaseRequest r; r.mutable_case_()->set_beneficiary("beneficiaries/404");
                            r.mutable_case_()->set_assigned_worker("a.b"); r.mutable_case_()->add_needs(nv1::NEED_LEGAL);
                            nv1::Case o; return s->OpenCase(Ctx().get(), r, &o); }},
      {"case without needs", G::INVALID_ARGUMENT, "case.needs",
       [](BadInputTest* t, auto* s) { nv1::OpenCaseRequest r; r.mutable_case_()->set_beneficiary(t->ben_.name());
                                      r.mutable_case_()->set_assigned_worker("a.b"); nv1::Case o;
                                      return s->OpenCase(Ctx().get(), r, &o); }},
      {"case with a bad worker name", G::INVALID_ARGUMENT, "case.assigned_worker",
       [](BadInputTest* t, auto* s) { nv1::OpenCaseRequest r; r.mutable_case_()->set_beneficiary(t->ben_.name());
                                      r.mutable_case_()->set_assigned_worker("Μαρία"); r.mutable_case_()->add_needs(nv1::NEED_LEGAL);
                                      nv1::Case o; return s->OpenCase(Ctx().get(), r, &o); }},
      {"close an already closed case", G::FAILED_PRECONDITION, "is already closed",
       [](BadInputTest* t, auto* s) { nv1::CloseCaseRequest r; r.set_name(t->closed_case_.name());
                                      r.set_reason(nv1::CLOSE_REASON_GOALS_MET); nv1::Case o;
                                      return s->CloseCase(Ctx().get(), r, &o); }},
      {"reopen an open case", G::FAILED_PRECONDITION, "only a closed case can be reopened",
       [](BadInputTest* t, auto* s) { nv1::ReopenCaseRequest r; r.set_name(t->open_case_.name()); r.set_note("why");
                                      nv1::Case o; return s->ReopenCase(Ctx().get(), r, &o); }},
      {"close with reason other and no note", G::INVALID_ARGUMENT, "note: is required",
       [](BadInputTest* t, auto* s) { nv1::CloseCaseRequest r; r.set_name(t->open_case_.name());
                                      r.set_reason(nv1::CLOSE_REASON_OTHER); nv1::Case o;
                                      return s->CloseCase(Ctx().get(), r, &o); }},
      {"service on a closed case", G::FAILED_PRECONDITION, "is closed; reopen it",
       [](BadInputTest* t, auto* s) { auto r = t->ValidEvent(); r.set_parent(t->closed_case_.name()); nv1::ServiceEvent o;
                                      return s->RecordServiceEvent(Ctx().get(), r, &o); }},
      {"service type unspecified", G::INVALID_ARGUMENT, "service_event.service_type",
       [](BadInputTest* t, auto* s) { auto r = t->ValidEvent(); r.mutable_service_event()->clear_service_type(); nv1::ServiceEvent o;
                                      return s->RecordServiceEvent(Ctx().get(), r, &o); }},
      {"counselling without topic", G::INVALID_ARGUMENT, "service_event.counselling_topic: is required",
       [](BadInputTest* t, auto* s) { auto r = t->ValidEvent(); r.mutable_service_event()->clear_counselling_topic(); nv1::ServiceEvent o;
                                      return s->RecordServiceEvent(Ctx().get(), r, &o); }},
      {"benefit support without programme", G::INVALID_ARGUMENT, "service_event.programme: is required",
       [](BadInputTest* t, auto* s) { auto r = t->ValidEvent(); r.mutable_service_event()->clear_counselling_topic();
                                      r.mutable_service_event()->set_service_type(tv1::SERVICE_TYPE_BENEFIT_APPLICATION_SUPPORT);
                                      nv1::ServiceEvent o; return s->RecordServiceEvent(Ctx().get(), r, &o); }},
      {"service in the future", G::INVALID_ARGUMENT, "service_event.service_date: is in the future",
       [](BadInputTest* t, auto* s) { auto r = t->ValidEvent(); r.mutable_service_event()->mutable_service_date()->set_year(2027);
                                      nv1::ServiceEvent o; return s->RecordServiceEvent(Ctx().get(), r, &o); }},
      {"service notes over the limit", G::INVALID_ARGUMENT, "service_event.notes: is longer than 4000",
       [](BadInputTest* t, auto* s) { auto r = t->ValidEvent(); r.mutable_service_event()->set_notes(std::string(4001, 'n'));
                                      nv1::ServiceEvent o; return s->RecordServiceEvent(Ctx().get(), r, &o); }},
      {"service on unknown case", G::NOT_FOUND, "parent: cases/999 does not exist",
       [](BadInputTest* t, auto* s) { auto r = t->ValidEvent(); r.set_parent("cases/999"); nv1::ServiceEvent o;
                                      return s->RecordServiceEvent(Ctx().get(), r, &o); }},
      {"search with both keys", G::INVALID_ARGUMENT, "give exactly one",
       [](auto*, auto* s) { nv1::SearchBeneficiariesRequest r; r.set_national_id("x"); r.set_name_prefix("ab");
                            nv1::SearchBeneficiariesResponse o; return s->SearchBeneficiaries(Ctx().get(), r, &o); }},
      {"search prefix too short", G::INVALID_ARGUMENT, "name_prefix: give at least 2",
       [](auto*, auto* s) { nv1::SearchBeneficiariesRequest r; r.set_name_prefix("Ά"); nv1::SearchBeneficiariesResponse o;
                            return s->SearchBeneficiaries(Ctx().get(), r, &o); }},
  };
  // A bad confidential flag is refused like any other bad field.
  cases.push_back({"confidential notes outside counselling", G::INVALID_ARGUMENT,
                   "service_event.confidential: only counselling notes",
                   [](BadInputTest* t, auto* s) { auto r = t->ValidEvent(); r.mutable_service_event()->clear_counselling_topic();
                                                  r.mutable_service_event()->set_service_type(tv1::SERVICE_TYPE_INFORMATION_LINKAGE);
                                                  r.mutable_service_event()->set_confidential(true);
                                                  nv1::ServiceEvent o; return s->RecordServiceEvent(Ctx().get(), r, &o); }});
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string before = node_.StoreFingerprint();
    grpc::Status status = c.call(this, stub_.get());
    EXPECT_THAT(status, GrpcStatusIs(c.code, c.message));
    EXPECT_EQ(node_.StoreFingerprint(), before) << "the store changed";
  }
}

// 50,000 identical consents were once accepted: the same one again is refused,
// a change is kept, and a person's history of consents has a limit.
TEST_F(BadInputTest, AConsentIsRecordedOnlyWhenItChangesAndUpToALimit) {
  nv1::RecordConsentRequest r;
  r.set_name(ben_.name());
  r.mutable_consent()->set_purpose(nv1::CONSENT_PURPOSE_REFERRAL_SHARING);
  nv1::Beneficiary out;
  int recorded = ben_.consents_size();
  while (recorded < kMaxConsentsPerPerson) {
    r.mutable_consent()->set_state(recorded % 2 ? nv1::CONSENT_STATE_GIVEN : nv1::CONSENT_STATE_WITHDRAWN);
    ASSERT_TRUE(stub_->RecordConsent(node_.Context().get(), r, &out).ok()) << recorded;
    ++recorded;
  }
  EXPECT_EQ(out.consents_size(), kMaxConsentsPerPerson);
  r.mutable_consent()->set_state(recorded % 2 ? nv1::CONSENT_STATE_GIVEN : nv1::CONSENT_STATE_WITHDRAWN);
  const std::string before = node_.FingerprintWithoutAudit();
  EXPECT_THAT(stub_->RecordConsent(node_.Context().get(), r, &out),
              GrpcStatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "100 consent records already"));
  EXPECT_EQ(node_.FingerprintWithoutAudit(), before);
}

TEST_F(BadInputTest, PageTokenForOtherFiltersOrExpiredIsRefused) {
  for (int i = 2; i < 6; ++i) {
    nv1::CreateBeneficiaryRequest r;
    *r.mutable_beneficiary() = SampleBeneficiary(i);
    nv1::Beneficiary out;
    ASSERT_TRUE(stub_->CreateBeneficiary(node_.Context().get(), r, &out).ok());
  }
  nv1::ListBeneficiariesRequest r;
  r.set_page_size(2);
  nv1::ListBeneficiariesResponse page;
  ASSERT_TRUE(stub_->ListBeneficiaries(node_.Context().get(), r, &page).ok());
  ASSERT_FALSE(page.next_page_token().empty());

  nv1::ListBeneficiariesRequest other = r;
  other.set_page_token(page.next_page_token());
  other.set_municipality("Θεσσαλονίκη");
  EXPECT_THAT(stub_->ListBeneficiaries(node_.Context().get(), other, &page),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, "page_token: was issued for different filters"));

  nv1::ListCasesRequest wrong_listing;
  wrong_listing.set_page_token(other.page_token());
  nv1::ListCasesResponse cases;
  EXPECT_THAT(stub_->ListCases(node_.Context().get(), wrong_listing, &cases),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, "page_token: was issued by ListBeneficiaries"));

  node_.clock().Advance(absl::Hours(25));
  node_.ForgetTokens();  // the sessions have expired too
  nv1::ListBeneficiariesRequest stale = r;
  stale.set_page_token(other.page_token());
  EXPECT_THAT(stub_->ListBeneficiaries(node_.Context().get(), stale, &page),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, "page_token: has expired"));
}

}  // namespace
}  // namespace kentra::node
