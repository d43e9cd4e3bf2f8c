#include "hub/audit_log.h"

#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/status.h"
#include "common/text_fold.h"
#include "common/time_util.h"

namespace kentra::hub {

absl::StatusOr<std::unique_ptr<HubAuditLog>> HubAuditLog::Open(const std::string& dir, const Clock* clock) {
  Store::Options options;
  options.insert_runs[0] = [](absl::string_view) -> std::optional<size_t> { return 0; };  // grows at its end
  KENTRA_ASSIGN_OR_RETURN(auto store, Store::Open(dir, {"audit"}, options));
  uint64_t last = 0;
  auto it = store->NewIterator(0);
  it->SeekForPrev(std::string(21, '9'));
  if (it->Valid()) last = keys::ParsePadded(it->key(), 20).value_or(0);
  KENTRA_RETURN_IF_ERROR(it->status());
  return std::unique_ptr<HubAuditLog>(new HubAuditLog(std::move(store), clock, last));
}

absl::Status HubAuditLog::Record(absl::string_view principal, absl::string_view peer, absl::string_view method,
                                 absl::string_view detail, const absl::Status& outcome) {
  return RecordAll(principal, peer, method, {Line{std::string(detail), outcome}});
}

absl::Status HubAuditLog::RecordAll(absl::string_view principal, absl::string_view peer, absl::string_view method,
                                    const std::vector<Line>& lines) {
  if (lines.empty()) return absl::OkStatus();
  uint64_t seq = last_.fetch_add(lines.size());
  const auto time = ToTimestamp(clock_->Now());
  WriteBatch batch;
  for (const Line& line : lines) {
    ++seq;
    v1::HubAuditEntry entry;
    entry.set_name(absl::StrCat("hubAuditEntries/", keys::PaddedSequence(seq)));
    *entry.mutable_time() = time;
    entry.set_principal(std::string(principal));
    entry.set_peer(std::string(peer));
    entry.set_method(std::string(method));
    entry.set_detail(std::string(Utf8Prefix(line.detail, 500)));
    entry.set_outcome(line.outcome.ok() ? "OK"
                                        : absl::StrCat(absl::StatusCodeToString(line.outcome.code()), ": ",
                                                       Utf8Prefix(line.outcome.message(), 300)));
    batch.Put(0, keys::PaddedSequence(seq), entry.SerializeAsString());
  }
  return store_->Write(batch, Store::Durability::kProcessCrashed);
}

absl::StatusOr<v1::ListHubAuditEntriesResponse> HubAuditLog::List(const v1::ListHubAuditEntriesRequest& request) const {
  v1::ListHubAuditEntriesResponse response;
  KENTRA_ASSIGN_OR_RETURN(
      *response.mutable_next_page_token(),
      ListNewestFirst(*store_, 0, "", request.page_size(), 100, request.page_token(), [&](absl::string_view value) {
        if (!response.add_hub_audit_entries()->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          return absl::DataLossError("a hub audit entry cannot be read");
        }
        return absl::OkStatus();
      }));
  return response;
}

}  // namespace kentra::hub
