// HubAuditLog: the hub's append-only record of every call it answered or refused
// (syncs, statistics, administration), with the caller's certificate identity,
// in a RocksDB database of its own under the hub's data dir. Lines are written
// unsynced: they reach the OS before the call returns. Thread-safe.
#ifndef KENTRA_HUB_AUDIT_LOG_H_
#define KENTRA_HUB_AUDIT_LOG_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/storage.h"
#include "kentra/hub/v1/admin_service.pb.h"

namespace kentra::hub {

class HubAuditLog {
 public:
  static absl::StatusOr<std::unique_ptr<HubAuditLog>> Open(const std::string& dir, const Clock* clock);

  // Appends one line.
  absl::Status Record(absl::string_view principal, absl::string_view peer, absl::string_view method,
                      absl::string_view detail, const absl::Status& outcome);
  // What one line says of one part of a call, and what that part got.
  struct Line {
    std::string detail;
    absl::Status outcome;
  };
  // Appends a line for each of `lines`, in order, in one write.
  absl::Status RecordAll(absl::string_view principal, absl::string_view peer, absl::string_view method,
                         const std::vector<Line>& lines);
  // Newest first.
  absl::StatusOr<v1::ListHubAuditEntriesResponse> List(const v1::ListHubAuditEntriesRequest& request) const;

  // The RocksDB store underneath, for backups.
  const Store* store() const { return store_.get(); }

 private:
  HubAuditLog(std::unique_ptr<Store> store, const Clock* clock, uint64_t last)
      : store_(std::move(store)), clock_(clock), last_(last) {}
  std::unique_ptr<Store> store_;
  const Clock* clock_;
  std::atomic<uint64_t> last_;
};

}  // namespace kentra::hub

#endif  // KENTRA_HUB_AUDIT_LOG_H_
