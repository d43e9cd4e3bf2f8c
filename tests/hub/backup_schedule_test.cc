// The hub's backups on its own schedule: one as it starts when there is none,
// the next once the newest is old enough, each in the hub's audit log.
#include <gtest/gtest.h>

#include "kentra/hub/v1/admin_service.grpc.pb.h"
#include "tests/testing/test_util.h"

namespace kentra::testing {
namespace {

namespace v1 = kentra::hub::v1;

int BackupCount(TestHub& hub) {
  kentra::type::v1::ListBackupsResponse list;
  auto admin = v1::AdminService::NewStub(hub.Channel("operator"));
  return admin->ListBackups(SessionContext("").get(), {}, &list).ok() ? list.backups_size() : -1;
}

bool EventuallyBackups(TestHub& hub, int n) {
  for (int i = 0; i < 500 && BackupCount(hub) != n; ++i) absl::SleepFor(absl::Milliseconds(20));
  return BackupCount(hub) == n;
}

TEST(HubBackupScheduleTest, TheHubBacksUpAtOnceAndAgainWhenTheNewestIsOldEnough) {
  TestHub hub;
  EXPECT_EQ(BackupCount(hub), 0) << "no schedule, no backup";
  hub.set_backup_every(absl::Hours(24));
  hub.Restart();
  ASSERT_TRUE(EventuallyBackups(hub, 1));
  hub.clock().Advance(absl::Hours(25));
  hub.Restart();
  ASSERT_TRUE(EventuallyBackups(hub, 2));

  v1::ListHubAuditEntriesResponse log;
  ASSERT_TRUE(v1::AdminService::NewStub(hub.Channel("operator"))
                  ->ListHubAuditEntries(SessionContext("").get(), {}, &log)
                  .ok());
  int scheduled = 0;
  for (const auto& e : log.hub_audit_entries()) {
    scheduled += e.method() == "AdminService.CreateBackup" && e.principal() == "hub/backup-schedule";
  }
  EXPECT_EQ(scheduled, 2);
}

}  // namespace
}  // namespace kentra::testing
