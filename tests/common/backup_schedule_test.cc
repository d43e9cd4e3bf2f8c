#include "common/backup_schedule.h"

#include <atomic>

#include <gtest/gtest.h>

#include "common/backup_directory.h"
#include "tests/testing/test_util.h"

namespace kentra {
namespace {

using ::kentra::testing::StatusIs;
using ::kentra::testing::TempDir;

// Polls `done` every 10 ms for up to 10 s.
bool Eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 1000 && !done(); ++i) absl::SleepFor(absl::Milliseconds(10));
  return done();
}

// Against a real backup directory: the first look takes one, the next ones
// only once the newest is `every` old, whatever happened in between.
TEST(BackupScheduleTest, ABackupIsDueWhenThereIsNoneAndThenOnlyOnceTheNewestIsOldEnough) {
  TempDir data, backups;
  auto store = Store::Open(data.path() + "/db", {"default"});
  ASSERT_TRUE(store.ok());
  FakeClock clock(absl::FromUnixSeconds(1795168800));  // 2026-11-20 10:00 UTC
  BackupDirectory dir({{"", store->get()}}, &clock, "kassandra", {backups.path(), 14});
  int taken = 0;
  BackupSchedule schedule(
      &clock, {absl::Hours(24), absl::Minutes(1), "test"}, [&] { return dir.Newest(); },
      [&] {
        ++taken;
        return dir.Take("--backup_dir").status();
      });

  EXPECT_EQ(*dir.Newest(), std::nullopt);
  EXPECT_EQ(*schedule.RunIfDue(), true) << "none yet: one at once";
  EXPECT_EQ(*dir.Newest(), clock.Now());
  EXPECT_EQ(*schedule.RunIfDue(), false);
  clock.Advance(absl::Hours(23));
  EXPECT_EQ(*schedule.RunIfDue(), false);
  ASSERT_TRUE(dir.Take("--backup_dir").ok());  // the coordinator's own, at 09:00 the next day
  clock.Advance(absl::Hours(2));
  EXPECT_EQ(*schedule.RunIfDue(), false) << "the newest, whoever took it, is only an hour old";
  clock.Advance(absl::Hours(23));
  EXPECT_EQ(*schedule.RunIfDue(), true);
  EXPECT_EQ(taken, 2);
  EXPECT_EQ(dir.List(0, "", "--backup_dir")->backups.size(), 3u);
}

TEST(BackupScheduleTest, FailuresComeBackAndTheIntervalHasAFloor) {
  FakeClock clock(absl::FromUnixSeconds(1795168800));
  BackupSchedule unreadable(
      &clock, {}, [] { return absl::StatusOr<std::optional<absl::Time>>(absl::InternalError("disk gone")); },
      [] { return absl::OkStatus(); });
  EXPECT_THAT(unreadable.RunIfDue(), StatusIs(absl::StatusCode::kInternal, "disk gone"));
  BackupSchedule failing(
      &clock, {}, [] { return std::optional<absl::Time>(); }, [] { return absl::InternalError("disk full"); });
  EXPECT_THAT(failing.RunIfDue(), StatusIs(absl::StatusCode::kInternal, "disk full"));

  EXPECT_THAT(BackupSchedule::CheckEvery(absl::Seconds(30), true),
              StatusIs(absl::StatusCode::kInvalidArgument, "--backup_every: must be at least 1m"));
  EXPECT_THAT(BackupSchedule::CheckEvery(absl::Hours(24), false),
              StatusIs(absl::StatusCode::kInvalidArgument, "--backup_every: needs --backup_dir"));
  EXPECT_TRUE(BackupSchedule::CheckEvery(absl::Minutes(1), true).ok());
  EXPECT_TRUE(BackupSchedule::CheckEvery(absl::Hours(24), true).ok());
  EXPECT_TRUE(BackupSchedule::CheckEvery(absl::ZeroDuration(), false).ok()) << "no schedule";
}

// The thread looks at once and then every `check`, and stops with the schedule.
TEST(BackupScheduleTest, ItsThreadLooksAtOnceThenAtEachCheck) {
  FakeClock clock(absl::FromUnixSeconds(1795168800));
  absl::Mutex mu;
  std::optional<absl::Time> newest;
  std::atomic<int> taken{0};
  {
    BackupSchedule schedule(
        &clock, {absl::Hours(1), absl::Milliseconds(10), "test"},
        [&]() -> absl::StatusOr<std::optional<absl::Time>> {
          absl::MutexLock lock(&mu);
          return newest;
        },
        [&] {
          absl::MutexLock lock(&mu);
          newest = clock.Now();
          ++taken;
          return absl::OkStatus();
        });
    schedule.Start();
    ASSERT_TRUE(Eventually([&] { return taken == 1; }));
    clock.Advance(absl::Minutes(61));
    ASSERT_TRUE(Eventually([&] { return taken == 2; }));
  }
  const int after_stop = taken;
  clock.Advance(absl::Hours(2));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(taken, after_stop) << "stopped with the schedule";
}

}  // namespace
}  // namespace kentra
