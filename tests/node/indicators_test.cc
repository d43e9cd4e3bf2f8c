// The node's indicator counters: what leaves the building equals an independent
// count of the records, protected by the cell key method; months close for good.
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "common/anon/codebook.h"
#include "common/anon/keys.h"
#include "common/anon/ptable.h"
#include "common/anon/sketch.h"
#include "absl/strings/str_cat.h"
#include "common/storage.h"
#include "kentra/storage/v1/records.pb.h"
#include "node/schema.h"
#include "tests/testing/anon_oracle.h"
#include "tests/testing/test_util.h"

namespace kentra::node {
namespace {

namespace nv1 = kentra::node::v1;
namespace tv1 = kentra::type::v1;
using ::kentra::testing::GrpcStatusIs;
using ::kentra::testing::SampleBeneficiary;
using ::kentra::testing::TestNode;

class IndicatorsTest : public ::testing::Test {
 protected:
  nv1::Beneficiary Person(int serial, tv1::Gender gender, std::vector<tv1::TargetGroup> groups) {
    nv1::CreateBeneficiaryRequest r;
    *r.mutable_beneficiary() = SampleBeneficiary(serial);
    r.mutable_beneficiary()->set_gender(gender);
    r.mutable_beneficiary()->clear_target_groups();
    for (auto g : groups) r.mutable_beneficiary()->add_target_groups(g);
    nv1::Beneficiary b;
    EXPECT_TRUE(node_.NewStub()->CreateBeneficiary(node_.Context().get(), r, &b).ok());
    nv1::OpenCaseRequest open;
    open.mutable_case_()->set_beneficiary(b.name());
    open.mutable_case_()->set_assigned_worker("m.papadaki");
    open.mutable_case_()->add_needs(nv1::NEED_INCOME);
    nv1::Case c;
    EXPECT_TRUE(node_.NewStub()->OpenCase(node_.Context().get(), open, &c).ok());
    cases_[b.name()] = c.name();
    return b;
  }

  // Records a service for `b` and notes it for the independent count.
  void Serve(const nv1::Beneficiary& b, absl::CivilDay day, tv1::ServiceType type) {
    nv1::RecordServiceEventRequest r;
    r.set_parent(cases_[b.name()]);
    *r.mutable_service_event()->mutable_service_date() = ToDateForTest(day);
    r.mutable_service_event()->set_service_type(type);
    if (type == tv1::SERVICE_TYPE_COUNSELLING) {
      r.mutable_service_event()->set_counselling_topic(tv1::COUNSELLING_TOPIC_LEGAL);
    }
    if (type == tv1::SERVICE_TYPE_BENEFIT_APPLICATION_SUPPORT) r.mutable_service_event()->set_programme(tv1::PROGRAMME_KEA);
    r.mutable_service_event()->set_worker("m.papadaki");
    nv1::ServiceEvent e;
    ASSERT_TRUE(node_.NewStub()->RecordServiceEvent(node_.Context().get(), r, &e).ok());
    events_.push_back({b, day, type, absl::CivilMonth(day)});
  }

  static tv1::Date ToDateForTest(absl::CivilDay d) {
    tv1::Date out;
    out.set_year(static_cast<int>(d.year()));
    out.set_month(d.month());
    out.set_day(d.day());
    return out;
  }

  // The protected cells of `period` computed independently from the events recorded.
  std::map<std::string, int64_t> Expected(absl::CivilMonth period) {
    return ::kentra::testing::ExpectedCells(events_, ::kentra::testing::TestCentreKeys("kassandra"), "kassandra",
                                            period);
  }

  std::map<std::string, int64_t> Sent(const std::string& period, const std::string& user = "m.papadaki") {
    nv1::GetIndicatorsRequest r;
    r.set_period(period);
    kentra::anon::v1::PeriodCells cells;
    grpc::Status s = node_.NewStub()->GetIndicators(node_.Context(user).get(), r, &cells);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(cells.codebook(), "kentra-anon/v2");
    EXPECT_EQ(cells.cells_size(), static_cast<int>(anon::Codebook().size())) << "every cell, zeros included";
    std::map<std::string, int64_t> out;
    for (const auto& c : cells.cells()) out[c.id()] = c.value();
    return out;
  }

  TestNode node_;
  std::map<std::string, std::string> cases_;
  std::vector<::kentra::testing::OracleEvent> events_;
};

TEST_F(IndicatorsTest, WhatLeavesEqualsAnIndependentCountProtected) {
  std::vector<nv1::Beneficiary> people;
  for (int i = 1; i <= 12; ++i) {
    people.push_back(Person(i, i % 3 == 0 ? tv1::GENDER_MALE : tv1::GENDER_FEMALE,
                            i % 4 == 0 ? std::vector<tv1::TargetGroup>{tv1::TARGET_GROUP_ROMA, tv1::TARGET_GROUP_UNEMPLOYED}
                                       : std::vector<tv1::TargetGroup>{tv1::TARGET_GROUP_KEA_BENEFICIARY}));
  }
  for (size_t i = 0; i < people.size(); ++i) {
    Serve(people[i], absl::CivilDay(2026, 9, 3 + static_cast<int>(i)), tv1::SERVICE_TYPE_INFORMATION_LINKAGE);
    if (i % 2 == 0) Serve(people[i], absl::CivilDay(2026, 10, 1 + static_cast<int>(i)), tv1::SERVICE_TYPE_COUNSELLING);
  }
  // One person served 12 times in a month: T4 counts at most 10, T1..T3 once.
  for (int k = 0; k < 12; ++k) Serve(people[0], absl::CivilDay(2026, 10, 20), tv1::SERVICE_TYPE_BENEFIT_APPLICATION_SUPPORT);
  for (const char* period : {"2026-09", "2026-10", "2026-11"}) {
    SCOPED_TRACE(period);
    absl::CivilMonth m;
    ASSERT_TRUE(anon::ParsePeriod(period, &m));
    EXPECT_EQ(Sent(period), Expected(m));
  }
  // The cells carry the data (12 people informed in September; 6 Roma cells in October...).
  EXPECT_GE(Sent("2026-09")["T3.information-linkage"], 9);
  EXPECT_GE(Sent("2026-10")["T4.benefit-application-support"], 7);
  EXPECT_LE(Sent("2026-10")["T4.benefit-application-support"], 13) << "capped at 10 per person and month";
  // The same question always gets the same answer, whoever asks.
  EXPECT_EQ(Sent("2026-10", "viewer"), Sent("2026-10", "coord"));
  // No published count is 1 or 2.
  for (const auto& [id, v] : Sent("2026-10")) {
    EXPECT_NE(v, 1) << id;
    EXPECT_NE(v, 2) << id;
  }
}

TEST_F(IndicatorsTest, AClosedMonthNeverChangesAndLateEventsCountInTheOpenMonth) {
  const auto a = Person(1, tv1::GENDER_FEMALE, {tv1::TARGET_GROUP_HOMELESS});
  const auto b = Person(2, tv1::GENDER_MALE, {tv1::TARGET_GROUP_HOMELESS});
  Serve(a, absl::CivilDay(2026, 10, 5), tv1::SERVICE_TYPE_COUNSELLING);
  nv1::CloseMonthRequest close;
  close.set_period("2026-10");
  kentra::anon::v1::PeriodCells closed;
  EXPECT_THAT(node_.NewStub()->CloseMonth(node_.Context().get(), close, &closed),
              GrpcStatusIs(grpc::PERMISSION_DENIED, "may not call CloseMonth"));
  ASSERT_TRUE(node_.NewStub()->CloseMonth(node_.Context("coord").get(), close, &closed).ok());
  EXPECT_TRUE(closed.closed());
  const auto october = Sent("2026-10");

  // A late event dated in October counts in November, the open month. (Compared
  // with an independent count: with counts this small the noise may hide a change.)
  Serve(b, absl::CivilDay(2026, 10, 20), tv1::SERVICE_TYPE_COUNSELLING);
  events_.back().counted_in = absl::CivilMonth(2026, 11);
  EXPECT_EQ(Sent("2026-10"), october);
  EXPECT_EQ(Sent("2026-11"), Expected(absl::CivilMonth(2026, 11)));
  EXPECT_EQ(october, Expected(absl::CivilMonth(2026, 10)));

  // A late event dated before October, in an open month, changes the year-to-date
  // cells of the open months, never October's.
  const auto c = Person(3, tv1::GENDER_FEMALE, {tv1::TARGET_GROUP_ROMA});
  Serve(c, absl::CivilDay(2026, 9, 10), tv1::SERVICE_TYPE_INFORMATION_LINKAGE);
  EXPECT_EQ(Sent("2026-10"), october);
  EXPECT_EQ(Sent("2026-11"), Expected(absl::CivilMonth(2026, 11)));
  EXPECT_EQ(Sent("2026-09"), Expected(absl::CivilMonth(2026, 9)));

  EXPECT_THAT(node_.NewStub()->CloseMonth(node_.Context("coord").get(), close, &closed),
              GrpcStatusIs(grpc::FAILED_PRECONDITION, "already closed"));
  close.set_period("2026-11");
  EXPECT_THAT(node_.NewStub()->CloseMonth(node_.Context("coord").get(), close, &closed),
              GrpcStatusIs(grpc::FAILED_PRECONDITION, "is not over yet"));
  close.set_period("2026-13");
  EXPECT_THAT(node_.NewStub()->CloseMonth(node_.Context("coord").get(), close, &closed),
              GrpcStatusIs(grpc::INVALID_ARGUMENT, "period: must be a month"));
  // The counters survive a restart.
  node_.Restart();
  node_.ForgetTokens();
  EXPECT_EQ(Sent("2026-10"), october);
}

// Version 4 kept a key per cell and person (m/, e/, f/). Opening such a store
// turns them into a record per person and month or year, and counting goes on as
// if nothing had happened: nobody is counted twice and the cap still holds.
TEST_F(IndicatorsTest, AVersion4StoreKeepsCountingOnceAfterItsBookkeepingIsMigrated) {
  std::vector<nv1::Beneficiary> people;
  for (int i = 1; i <= 6; ++i) {
    people.push_back(Person(i, i % 2 ? tv1::GENDER_FEMALE : tv1::GENDER_MALE, {tv1::TARGET_GROUP_UNEMPLOYED}));
    Serve(people.back(), absl::CivilDay(2026, 9, i), tv1::SERVICE_TYPE_INFORMATION_LINKAGE);
    Serve(people.back(), absl::CivilDay(2026, 10, i), tv1::SERVICE_TYPE_COUNSELLING);
  }
  for (int k = 0; k < 8; ++k) Serve(people[0], absl::CivilDay(2026, 10, 20), tv1::SERVICE_TYPE_BENEFIT_APPLICATION_SUPPORT);

  // Back to version 4's layout.
  Store* store = node_.server().store();
  WriteBatch v4;
  int records = 0;
  {  // the iterators must be gone before the store closes
    const std::string nul(1, '\0');
    for (const std::string prefix : {"pm/", "py/"}) {
      auto it = store->NewPrefixIterator(kIndicators, prefix);
      for (it->Seek(prefix); it->Valid(); it->Next()) {
        const std::string key(it->key());
        const size_t end = key.find('\0');
        ASSERT_NE(end, std::string::npos) << key;
        const std::string scope = key.substr(3, end - 3), pseudonym = key.substr(end + 1);
        if (prefix == "pm/") {
          kentra::storage::v1::IndicatorPersonMonth month;
          ASSERT_TRUE(month.ParseFromString(std::string(it->value())));
          for (const std::string& cell : month.cells()) v4.Put(kIndicators, "m/" + scope + "/" + cell + nul + pseudonym, "");
          for (const auto& [cell, n] : month.events()) {
            v4.Put(kIndicators, "e/" + scope + "/" + cell + nul + pseudonym, std::to_string(n));
          }
        } else {
          kentra::storage::v1::IndicatorPersonYear year;
          ASSERT_TRUE(year.ParseFromString(std::string(it->value())));
          for (const auto& [cell, first] : year.first_months()) {
            v4.Put(kIndicators, "f/" + scope + "/" + cell + nul + pseudonym, first);
          }
        }
        v4.Delete(kIndicators, key);
        ++records;
      }
    }
  }
  EXPECT_EQ(records, 6 * 2 + 6) << "each person in two months and one year";
  v4.Put(kMeta, kMetaSchemaVersion, "4");
  ASSERT_TRUE(store->Write(v4).ok());

  node_.Restart();
  store = node_.server().store();
  auto version = store->Get(kMeta, kMetaSchemaVersion);
  ASSERT_TRUE(version.ok() && version->has_value());
  EXPECT_EQ(**version, absl::StrCat(kSchemaVersion));
  auto count = [&](const std::string& prefix) {
    int n = 0;
    auto it = store->NewPrefixIterator(kIndicators, prefix);
    for (it->Seek(prefix); it->Valid(); it->Next()) ++n;
    return n;
  };
  EXPECT_EQ(count("m/") + count("e/") + count("f/"), 0) << "the old keys are gone";
  EXPECT_EQ(count("pm/") + count("py/"), records);

  // The same people again: counted as persons once, their events up to the cap.
  for (int k = 0; k < 4; ++k) Serve(people[0], absl::CivilDay(2026, 10, 21), tv1::SERVICE_TYPE_BENEFIT_APPLICATION_SUPPORT);
  Serve(people[1], absl::CivilDay(2026, 10, 22), tv1::SERVICE_TYPE_INFORMATION_LINKAGE);
  Serve(people[2], absl::CivilDay(2026, 9, 28), tv1::SERVICE_TYPE_COUNSELLING);
  Serve(people[3], absl::CivilDay(2026, 8, 28), tv1::SERVICE_TYPE_COUNSELLING);  // earlier in the year
  for (const char* period : {"2026-08", "2026-09", "2026-10", "2026-11"}) {
    SCOPED_TRACE(period);
    absl::CivilMonth m;
    ASSERT_TRUE(anon::ParsePeriod(period, &m));
    EXPECT_EQ(Sent(period), Expected(m));
  }
}

TEST_F(IndicatorsTest, YearToDateCountsAPersonOnceFromTheirFirstMonth) {
  const auto a = Person(1, tv1::GENDER_FEMALE, {tv1::TARGET_GROUP_DISABILITY});
  Serve(a, absl::CivilDay(2026, 9, 10), tv1::SERVICE_TYPE_COUNSELLING);
  Serve(a, absl::CivilDay(2026, 11, 2), tv1::SERVICE_TYPE_COUNSELLING);
  // Recorded late, dated earlier: she now counts from August.
  Serve(a, absl::CivilDay(2026, 8, 14), tv1::SERVICE_TYPE_INFORMATION_LINKAGE);
  for (const char* period : {"2026-07", "2026-08", "2026-09", "2026-10", "2026-11"}) {
    SCOPED_TRACE(period);
    absl::CivilMonth m;
    ASSERT_TRUE(anon::ParsePeriod(period, &m));
    EXPECT_EQ(Sent(period), Expected(m));
  }
}

TEST_F(IndicatorsTest, ConcurrentWritersNeverLoseACount) {
  std::vector<nv1::Beneficiary> people;
  for (int i = 1; i <= 8; ++i) people.push_back(Person(i, tv1::GENDER_FEMALE, {tv1::TARGET_GROUP_ELDERLY}));
  const std::string token = node_.Token("m.papadaki");
  std::vector<std::thread> threads;
  for (size_t i = 0; i < people.size(); ++i) {
    threads.emplace_back([&, i] {
      auto stub = node_.NewStub();
      for (int k = 0; k < 5; ++k) {  // bounded
        nv1::RecordServiceEventRequest r;
        r.set_parent(cases_[people[i].name()]);
        *r.mutable_service_event()->mutable_service_date() = ToDateForTest(absl::CivilDay(2026, 11, 1 + k));
        r.mutable_service_event()->set_service_type(tv1::SERVICE_TYPE_ROMA_SUPPORT);
        r.mutable_service_event()->set_worker("m.papadaki");
        nv1::ServiceEvent e;
        grpc::Status st = stub->RecordServiceEvent(::kentra::testing::SessionContext(token).get(), r, &e);
        EXPECT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& p : people) {
    for (int k = 0; k < 5; ++k) {
      events_.push_back({p, absl::CivilDay(2026, 11, 1 + k), tv1::SERVICE_TYPE_ROMA_SUPPORT, absl::CivilMonth(2026, 11)});
    }
  }
  EXPECT_EQ(Sent("2026-11"), Expected(absl::CivilMonth(2026, 11)));
}


// Schema version 5 kept each month's persons sketch as HyperLogLog registers,
// and a closed month's frozen copy carried them as its plain sketch, which a
// push sent to the hub. Version 6 rebuilds each month's true bits from whom it
// counted and gives the frozen copy its private sketch: no plain sketch is left,
// and counting goes on.
TEST_F(IndicatorsTest, AVersion5StoreLosesItsPlainSketchesAndKeepsCounting) {
  std::vector<nv1::Beneficiary> people;
  for (int i = 1; i <= 6; ++i) {
    people.push_back(Person(i, tv1::GENDER_FEMALE, {tv1::TARGET_GROUP_UNEMPLOYED}));
    Serve(people.back(), absl::CivilDay(2026, 9, i), tv1::SERVICE_TYPE_INFORMATION_LINKAGE);
    if (i <= 3) Serve(people.back(), absl::CivilDay(2026, 10, i), tv1::SERVICE_TYPE_COUNSELLING);
  }
  nv1::CloseMonthRequest close;
  close.set_period("2026-09");
  kentra::anon::v1::PeriodCells closed;
  ASSERT_TRUE(node_.NewStub()->CloseMonth(node_.Context("coord").get(), close, &closed).ok());

  // Back to version 5's layout: registers in place of bits, and the plain
  // sketch in the frozen copy.
  Store* store = node_.server().store();
  const std::string plain(4096, '\x03');
  WriteBatch v5;
  for (const char* month : {"2026-09", "2026-10"}) v5.Put(kSketches, month, plain);
  auto frozen = store->Get(kIndicators, "frozen/2026-09");
  ASSERT_TRUE(frozen.ok() && frozen->has_value());
  kentra::anon::v1::PeriodCells frozen_cells;
  ASSERT_TRUE(frozen_cells.ParseFromString(**frozen));
  frozen_cells.set_persons_sketch(plain);
  v5.Put(kIndicators, "frozen/2026-09", frozen_cells.SerializeAsString());
  v5.Put(kMeta, kMetaSchemaVersion, "5");
  ASSERT_TRUE(store->Write(v5).ok());

  node_.Restart();
  store = node_.server().store();
  auto version = store->Get(kMeta, kMetaSchemaVersion);
  ASSERT_TRUE(version.ok() && version->has_value());
  EXPECT_EQ(**version, "6");
  // Each month's bits are its people's, computed independently.
  const anon::AnonKeys keys = ::kentra::testing::TestCentreKeys("kassandra");
  auto bits_of = [&](int count) {
    std::string bits(anon::kSketchBits, '\0');
    for (int i = 0; i < count; ++i) bits[anon::SketchBitFor(keys, anon::Pseudonym(keys, "kassandra", people[static_cast<size_t>(i)]))] = 1;
    return bits;
  };
  auto held_bits = [&](const char* month) {
    auto b = store->Get(kSketches, month);
    EXPECT_TRUE(b.ok() && b->has_value());
    return b.ok() && b->has_value() ? **b : std::string();
  };
  EXPECT_EQ(held_bits("2026-09"), bits_of(6));
  EXPECT_EQ(held_bits("2026-10"), bits_of(3));
  // September's frozen copy now carries its private sketch, as the node sends it.
  nv1::GetIndicatorsRequest get;
  get.set_period("2026-09");
  kentra::anon::v1::PeriodCells september;
  ASSERT_TRUE(node_.NewStub()->GetIndicators(node_.Context("coord").get(), get, &september).ok());
  EXPECT_TRUE(september.closed());
  ASSERT_EQ(september.persons_sketch().size(), anon::kSketchBytes);
  EXPECT_EQ(september.cells_size(), closed.cells_size());
  for (int c = 0; c < closed.cells_size(); ++c) EXPECT_EQ(september.cells(c).value(), closed.cells(c).value());
  // October is open: it sends no sketch. Counting goes on into the rebuilt bits.
  get.set_period("2026-10");
  kentra::anon::v1::PeriodCells october;
  ASSERT_TRUE(node_.NewStub()->GetIndicators(node_.Context("coord").get(), get, &october).ok());
  EXPECT_TRUE(october.persons_sketch().empty());
  Serve(people[4], absl::CivilDay(2026, 10, 12), tv1::SERVICE_TYPE_COUNSELLING);
  std::string expected = bits_of(3);
  expected[anon::SketchBitFor(keys, anon::Pseudonym(keys, "kassandra", people[4]))] = 1;
  EXPECT_EQ(held_bits("2026-10"), expected);
}

}  // namespace
}  // namespace kentra::node
