// Referral mail lost to a restore from a backup. A node keeps what it posted,
// sealed, for as long as the hub remembers posts, asks the hub which of it the
// hub holds none of (once its watch has ended, hourly, and at each sync), and
// posts those again in their order; the receiver stores each message once. A
// hub restored from a backup has lost what was posted after it; a node
// restored from one has lost what it stored after it, and tells the hub how
// far it holds its mailbox, so that the hub forgets those posts. A consent
// withdrawal deletes the kept copies that carry the person.
#include <filesystem>

#include <gtest/gtest.h>

#include "absl/strings/match.h"

#include "kentra/hub/v1/admin_service.grpc.pb.h"
#include "kentra/storage/v1/records.pb.h"
#include "node/schema.h"
#include "tests/node/referral_fixture.h"
#include "tests/testing/test_util.h"

namespace kentra::testing {
namespace {

namespace nv1 = kentra::node::v1;

// The posted items `node` keeps for the hub.
std::vector<kentra::storage::v1::OutboxItem> Kept(TestNode& node) {
  std::vector<kentra::storage::v1::OutboxItem> items;
  auto it = node.server().store()->NewIterator(kentra::node::kPosted);
  for (it->Seek(""); it->Valid(); it->Next()) {
    items.emplace_back();
    EXPECT_TRUE(items.back().ParseFromArray(it->value().data(), static_cast<int>(it->value().size())));
  }
  return items;
}

int Count(TestNode& node, nv1::ReferralDirection direction) {
  nv1::ListReferralsRequest list;
  list.set_direction(direction);
  nv1::ListReferralsResponse out;
  EXPECT_TRUE(node.NewReferralStub()->ListReferrals(node.Context().get(), list, &out).ok());
  return out.referrals_size();
}

class ReferralRecoveryTest : public ReferralTest {
 protected:
  kentra::type::v1::Backup BackUpHub() {
    kentra::type::v1::Backup backup;
    grpc::Status s = kentra::hub::v1::AdminService::NewStub(hub_.Channel("operator"))
                         ->CreateBackup(SessionContext("").get(), {}, &backup);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return backup;
  }
  // Whether the hub's audit log has a call of `method` by `centre` whose detail is `detail`.
  bool HubAudited(const std::string& centre, const std::string& method, const std::string& detail) {
    kentra::hub::v1::ListHubAuditEntriesRequest request;
    request.set_page_size(100);
    kentra::hub::v1::ListHubAuditEntriesResponse log;
    grpc::Status s = kentra::hub::v1::AdminService::NewStub(hub_.Channel("operator"))
                         ->ListHubAuditEntries(SessionContext("").get(), request, &log);
    EXPECT_TRUE(s.ok()) << s.error_message();
    for (const auto& e : log.hub_audit_entries()) {
      if (absl::StrContains(e.principal(), centre) && absl::EndsWith(e.method(), method) && e.detail() == detail) {
        return true;
      }
    }
    return false;
  }
  // What the operator does: stops the hub, puts the backup in place of its data, starts it.
  void RestoreHub(const kentra::type::v1::Backup& backup) {
    hub_.Stop();
    std::filesystem::rename(hub_.data_dir(), hub_.data_dir() + ".broken");
    std::filesystem::copy(backup.path(), hub_.data_dir(), std::filesystem::copy_options::recursive);
    hub_.Restart();
  }
};

TEST_F(ReferralRecoveryTest, WhatARestoredHubLostIsPostedAgainAndStoredOnce) {
  thessaloniki_.Stop();  // its mail waits at the hub
  nv1::Referral before, after, delivered;
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 21)), &before).ok());
  ASSERT_TRUE(WaitFor([&] { return hub_.server().mailbox()->Pending("thessaloniki") == 1; }));
  const auto backup = BackUpHub();

  // After the backup: a referral that waits for Thessaloniki, then a
  // cancellation of the first, and one that Chalkidona stores at once.
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 22)), &after).ok());
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 23), "chalkidona"), &delivered).ok());
  ASSERT_TRUE(Reaches(kassandra_, delivered.name(), nv1::REFERRAL_STATE_RECEIVED));
  nv1::CancelReferralRequest cancel;
  cancel.set_name(before.name());
  cancel.set_note("the family stays in Kassandra");
  nv1::Referral cancelled;
  ASSERT_TRUE(kassandra_.NewReferralStub()->CancelReferral(kassandra_.Context().get(), cancel, &cancelled).ok());
  ASSERT_TRUE(WaitFor([&] { return hub_.server().mailbox()->Pending("thessaloniki") == 3; }));
  EXPECT_EQ(Get(kassandra_, after.name()).delivery(), nv1::REFERRAL_DELIVERY_AT_HUB);

  RestoreHub(backup);
  EXPECT_EQ(hub_.server().mailbox()->Pending("thessaloniki"), 1) << "only what waited at the backup";
  // Kassandra's watch ended with the hub: it asks what the hub lost and posts it again.
  ASSERT_TRUE(WaitFor([&] { return hub_.server().mailbox()->Pending("thessaloniki") == 3; }));

  thessaloniki_.Restart();
  ASSERT_TRUE(Reaches(thessaloniki_, after.name(), nv1::REFERRAL_STATE_RECEIVED));
  ASSERT_TRUE(Reaches(thessaloniki_, before.name(), nv1::REFERRAL_STATE_CANCELLED)) << "in order: sent, then cancelled";
  ASSERT_TRUE(Reaches(kassandra_, after.name(), nv1::REFERRAL_STATE_RECEIVED));
  EXPECT_EQ(Count(thessaloniki_, nv1::REFERRAL_DIRECTION_INCOMING), 2);
  // Kassandra found three of its four posts lost: the two referrals and the
  // cancellation posted after the backup. Chalkidona had stored its referral
  // before the restore: posted again, it is stored once.
  EXPECT_TRUE(HubAudited("kassandra", "CheckPosts", "4 asked about, 3 unknown"));
  ASSERT_TRUE(WaitFor([&] { return hub_.server().mailbox()->Pending("chalkidona") == 0; }));
  EXPECT_EQ(Count(chalkidona_, nv1::REFERRAL_DIRECTION_INCOMING), 1);
  EXPECT_EQ(Get(chalkidona_, delivered.name()).state(), nv1::REFERRAL_STATE_RECEIVED);

  // A sync asks again, and finds nothing lost.
  nv1::SyncRun run;
  ASSERT_TRUE(SyncNow(kassandra_, &run).ok());
  EXPECT_TRUE(run.succeeded()) << run.error();
  EXPECT_EQ(run.referral_messages_reposted(), 0);
}

// A centre's node restored from a backup has lost what it stored since: the
// hub, told how far it holds its mailbox, has the senders post that again, and
// the senders take its second receipt in their stride.
TEST_F(ReferralRecoveryTest, ANodeRestoredFromABackupGetsAgainWhatItStoredSince) {
  nv1::Referral before, lost;
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 31)), &before).ok());
  ASSERT_TRUE(Reaches(thessaloniki_, before.name(), nv1::REFERRAL_STATE_RECEIVED));
  kentra::type::v1::Backup backup;
  ASSERT_TRUE(thessaloniki_.NewStub()
                  ->CreateBackup(thessaloniki_.Context("coord").get(), kentra::type::v1::CreateBackupRequest(), &backup)
                  .ok());
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 32)), &lost).ok());
  ASSERT_TRUE(Reaches(thessaloniki_, lost.name(), nv1::REFERRAL_STATE_RECEIVED));
  ASSERT_TRUE(Reaches(kassandra_, lost.name(), nv1::REFERRAL_STATE_RECEIVED));
  ASSERT_TRUE(WaitFor([&] { return hub_.server().mailbox()->Pending("thessaloniki") == 0; }));

  thessaloniki_.Stop();
  std::filesystem::rename(thessaloniki_.data_dir(), thessaloniki_.data_dir() + ".broken");
  std::filesystem::copy(backup.path(), thessaloniki_.data_dir(), std::filesystem::copy_options::recursive);
  thessaloniki_.Restart();
  ASSERT_TRUE(WaitFor([&] {
    return HubAudited("thessaloniki", "ReconcileMailbox", "stored through 1: 1 lost, posted again by their senders");
  }));
  nv1::Referral out;
  EXPECT_EQ(GetReferral(thessaloniki_, lost.name(), &out).error_code(), grpc::NOT_FOUND);
  // Kassandra posts it again at its next check (hourly, or at a sync).
  nv1::SyncRun run;
  ASSERT_TRUE(SyncNow(kassandra_, &run).ok());
  EXPECT_TRUE(run.succeeded()) << run.error();
  EXPECT_EQ(run.referral_messages_reposted(), 1);
  ASSERT_TRUE(Reaches(thessaloniki_, lost.name(), nv1::REFERRAL_STATE_RECEIVED));
  EXPECT_TRUE(Get(thessaloniki_, lost.name()).has_person());
  // Its receipt comes back to Kassandra a second time: no news, and no refusal.
  ASSERT_TRUE(WaitFor([&] { return hub_.server().mailbox()->Pending("kassandra") == 0; }));
  EXPECT_EQ(Get(kassandra_, lost.name()).state(), nv1::REFERRAL_STATE_RECEIVED);
  EXPECT_TRUE(kassandra_.AuditEntriesOf("ReceiveReferralMessage").empty());
}

// A node that was down while the hub was restored asks as it starts.
TEST_F(ReferralRecoveryTest, ANodeStartingAfterTheRestoreAsksToo) {
  thessaloniki_.Stop();
  const auto backup = BackUpHub();
  nv1::Referral lost;
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 24)), &lost).ok());
  ASSERT_TRUE(WaitFor([&] { return hub_.server().mailbox()->Pending("thessaloniki") == 1; }));
  kassandra_.Stop();
  RestoreHub(backup);
  EXPECT_EQ(hub_.server().mailbox()->Pending("thessaloniki"), 0);
  kassandra_.Restart();
  ASSERT_TRUE(WaitFor([&] { return hub_.server().mailbox()->Pending("thessaloniki") == 1; }));
  thessaloniki_.Restart();
  ASSERT_TRUE(Reaches(kassandra_, lost.name(), nv1::REFERRAL_STATE_RECEIVED));
}

// A hub older than the node cannot say what it lacks: the node's mail goes all
// the same.
TEST_F(ReferralRecoveryTest, AHubThatCannotSayWhatItLacksStillGetsTheMail) {
  nv1::Referral first, second;
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 27)), &first).ok());
  ASSERT_TRUE(WaitFor([&] { return Kept(kassandra_).size() == 1; }));  // something to ask about
  older_hub_->Pretend(true);
  kassandra_.Restart();  // asks as it starts
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 28)), &second).ok());
  ASSERT_TRUE(Reaches(thessaloniki_, second.name(), nv1::REFERRAL_STATE_RECEIVED));
}

// The kept copy of a referral carries the person, sealed: withdrawing consent
// deletes it, while the messages that carry no one stay kept.
TEST_F(ReferralRecoveryTest, WithdrawingConsentDeletesTheKeptCopyOfTheReferral) {
  const std::string person = Person(kassandra_, 25);
  nv1::Referral sent;
  ASSERT_TRUE(Send(kassandra_, Request(person), &sent).ok());
  ASSERT_TRUE(Reaches(kassandra_, sent.name(), nv1::REFERRAL_STATE_RECEIVED));
  ASSERT_TRUE(WaitFor([&] { return Kept(kassandra_).size() == 1; }));
  EXPECT_TRUE(Kept(kassandra_)[0].carries_person());
  EXPECT_FALSE(Kept(kassandra_)[0].sealed().empty());
  EXPECT_TRUE(Kept(kassandra_)[0].payload().empty()) << "only the sealed form is kept";
  // Thessaloniki keeps its receipt back to Kassandra, which carries no one.
  ASSERT_TRUE(WaitFor([&] { return Kept(thessaloniki_).size() == 1; }));
  EXPECT_FALSE(Kept(thessaloniki_)[0].carries_person());

  Consent(kassandra_, person, nv1::CONSENT_STATE_WITHDRAWN);
  ASSERT_TRUE(WaitFor([&] { return !Get(thessaloniki_, sent.name()).has_person(); }));
  const auto kept = Kept(kassandra_);
  ASSERT_EQ(kept.size(), 1u) << "the withdrawal itself, once posted";
  EXPECT_FALSE(kept[0].carries_person());
}

// Kept copies go once the hub would have forgotten their posts (its post_ttl,
// 30 days), at the first check after.
TEST_F(ReferralRecoveryTest, KeptCopiesGoOnceTheHubWouldHaveForgottenThem) {
  nv1::Referral sent;
  ASSERT_TRUE(Send(kassandra_, Request(Person(kassandra_, 26)), &sent).ok());
  ASSERT_TRUE(Reaches(kassandra_, sent.name(), nv1::REFERRAL_STATE_RECEIVED));
  ASSERT_TRUE(WaitFor([&] { return Kept(kassandra_).size() == 1; }));
  auto sync = [&] {
    nv1::SyncRun run;
    grpc::Status s = SyncNow(kassandra_, &run);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(run.succeeded()) << run.error();
  };
  kassandra_.clock().Advance(absl::Hours(24 * 29) - absl::Minutes(1));
  sync();
  EXPECT_EQ(Kept(kassandra_).size(), 1u) << "the hub still remembers it";
  kassandra_.clock().Advance(absl::Hours(24));
  sync();
  EXPECT_TRUE(Kept(kassandra_).empty());
}

}  // namespace
}  // namespace kentra::testing
