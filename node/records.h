// CentreRecords: a centre's beneficiaries, cases, service events and audit log in
// RocksDB. It validates every request, keeps the secondary indexes, honours
// request_ids, and commits each change (record, indexes, request id, audit entry)
// as one synced WriteBatch. Thread-safe. The gRPC layer is a thin shell over it.
#ifndef KENTRA_NODE_RECORDS_H_
#define KENTRA_NODE_RECORDS_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/lock_table.h"
#include "common/storage.h"
#include "kentra/node/v1/account_service.pb.h"
#include "kentra/node/v1/staff_service.pb.h"
#include "node/audit_journal.h"
#include "node/indicators.h"
#include "node/page_token.h"

namespace kentra::node {

// Every read of a person's records (Get, List, Search, a case's timeline) is
// audited too, with the names of the records returned; those audit entries reach
// the OS before the read returns (through the AuditJournal) but are not fsynced.

// Who makes a call, as the audit log records it and as record rules need it.
struct Actor {
  // "staff/<user>" (or "system/<what>" for the node itself, or the certificate
  // identity for a caller without a session).
  std::string name;
  // The logged-in staff user's id and role; empty and unspecified without a session.
  std::string user;
  v1::StaffRole role = v1::STAFF_ROLE_UNSPECIFIED;
  // The network peer, e.g. "ipv4:127.0.0.1:51234".
  std::string peer;
  // The identity of the caller's certificate (Principal::ToString()).
  std::string principal;
};

// The resource names of a page of records, as a read's audit entry lists them.
template <typename Records>
std::vector<std::string> NamesOf(const Records& records) {
  std::vector<std::string> names;
  names.reserve(records.size());
  for (const auto& r : records) names.push_back(r.name());
  return names;
}

// Adds `encoded`, a record's bytes as the store keeps them, as the next element
// of repeated message field `field_number` of `response`, without decoding it: a
// stored record is already the wire form of that element. A List answer built so
// costs a copy per record instead of a parse and a re-encode. The elements ride
// in `response`'s unknown fields, which serialise after its known fields, so they
// reach every client as ordinary elements; server code must not read them back,
// nor mix them with elements added the usual way.
void AddEncodedElement(google::protobuf::Message& response, int field_number, absl::string_view encoded);

class CentreRecords {
 public:
  // Opens the records of centre `centre_id` in `store` (not owned), creating the
  // node-local keys and the schema version on first use. The indicator keys derive
  // from `federation_secret`; without one (plaintext development only) from a
  // node-local stand-in, so such a node's pseudonyms match no other node's.
  // Audited reads go through the AuditJournal at `audit_journal_path`. Months
  // close on their own `release_after_days` after they end.
  // FAILED_PRECONDITION if the store was written with another schema version.
  static absl::StatusOr<std::unique_ptr<CentreRecords>> Open(Store* store, const Clock* clock, int max_page_size,
                                                             int release_after_days, std::string centre_id,
                                                             std::optional<std::string> federation_secret,
                                                             const std::string& audit_journal_path);

  // Beneficiaries. Create: ALREADY_EXISTS naming the existing record if the national
  // id is taken; a repeated request_id with the same body returns the first result,
  // with a different body INVALID_ARGUMENT.
  absl::StatusOr<v1::Beneficiary> CreateBeneficiary(const Actor& actor,
                                                    const v1::CreateBeneficiaryRequest& request);
  absl::StatusOr<v1::Beneficiary> GetBeneficiary(const Actor& actor, absl::string_view name);
  absl::StatusOr<v1::Beneficiary> UpdateBeneficiary(const Actor& actor,
                                                    const v1::UpdateBeneficiaryRequest& request);
  absl::StatusOr<v1::ListBeneficiariesResponse> ListBeneficiaries(
      const Actor& actor, const v1::ListBeneficiariesRequest& request);
  absl::StatusOr<v1::SearchBeneficiariesResponse> SearchBeneficiaries(
      const Actor& actor, const v1::SearchBeneficiariesRequest& request);
  absl::StatusOr<v1::Beneficiary> RecordConsent(const Actor& actor,
                                                const v1::RecordConsentRequest& request);

  // Cases. Close/Reopen: FAILED_PRECONDITION when the case is not open/closed.
  absl::StatusOr<v1::Case> OpenCase(const Actor& actor, const v1::OpenCaseRequest& request);
  absl::StatusOr<v1::Case> GetCase(const Actor& actor, absl::string_view name);
  absl::StatusOr<v1::ListCasesResponse> ListCases(const Actor& actor, const v1::ListCasesRequest& request);
  absl::StatusOr<v1::Case> CloseCase(const Actor& actor, const v1::CloseCaseRequest& request);
  absl::StatusOr<v1::Case> ReopenCase(const Actor& actor, const v1::ReopenCaseRequest& request);

  // Service events. Record: FAILED_PRECONDITION on a closed case. List: the
  // notes of a confidential event are withheld unless `actor` recorded it or is
  // the coordinator.
  absl::StatusOr<v1::ServiceEvent> RecordServiceEvent(const Actor& actor,
                                                      const v1::RecordServiceEventRequest& request);
  absl::StatusOr<v1::ListServiceEventsResponse> ListServiceEvents(
      const Actor& actor, const v1::ListServiceEventsRequest& request);

  // Records that `actor` was refused `action` with `refusal`. Such entries reach
  // the OS before this returns but are not fsynced: a flood of refused calls must
  // not turn into a flood of disk syncs.
  absl::Status AuditRefusal(const Actor& actor, absl::string_view action, const absl::Status& refusal);
  // Audits a read by `actor` of `resource` and/or the records named in `read`;
  // the entry reaches the OS before this returns, like a refusal's.
  absl::Status AuditRead(const Actor& actor, absl::string_view action, absl::string_view resource,
                         const std::vector<std::string>& read, absl::string_view detail);

  // Moves every audit entry appended so far into the store (before a backup).
  absl::Status CatchUpAudit();

  // Queues an audit entry (and its index entries) into `batch`, so that it commits
  // with the change it describes; `refusal` only for refused calls, `read` the
  // names of the records a read returned. Other stores of the node use it too.
  void PutAudit(WriteBatch& batch, const Actor& actor, absl::string_view action,
                absl::string_view resource, absl::string_view detail, absl::string_view refusal = "",
                const std::vector<std::string>& read = {});

  // Idempotent creates, for every store of the node: the resource an earlier
  // request of `method` with `request_id` created (nullopt if none, or no id);
  // INVALID_ARGUMENT if that request had another body. PutRequest remembers one.
  absl::StatusOr<std::optional<std::string>> PriorRequest(absl::string_view method,
                                                          absl::string_view request_id,
                                                          absl::string_view body_digest) const;
  void PutRequest(WriteBatch& batch, absl::string_view method, absl::string_view request_id,
                  absl::string_view body_digest, absl::string_view resource) const;

  // For the node's own use (the caller audits): the beneficiary `name` (NOT_FOUND
  // naming `field`), and the beneficiary registered with `national_id`, if any.
  absl::StatusOr<v1::Beneficiary> ReadBeneficiary(absl::string_view name, absl::string_view field) const;
  absl::StatusOr<std::optional<std::string>> BeneficiaryWithNationalId(const v1::NationalId& national_id) const;

  // Called inside RecordConsent with its batch, before it commits, when a consent
  // is recorded (a failure fails the RecordConsent); and once it has committed.
  // The referrals use it to tell receiving centres that a person withdrew consent
  // to share.
  struct ConsentHook {
    std::function<absl::Status(WriteBatch& batch, const Actor& actor, const v1::Beneficiary& beneficiary,
                               const v1::Consent& consent)>
        before_commit;
    std::function<void()> after_commit;
  };
  void SetConsentHook(ConsentHook hook) { consent_hook_ = std::move(hook); }

  // The audit log.
  absl::StatusOr<v1::ListAuditEntriesResponse> ListAuditEntries(
      const v1::ListAuditEntriesRequest& request) const;

  // Indicators: what leaves the building for month `period` ("YYYY-MM"), and the
  // coordinator's closing of a month (final from then on).
  absl::StatusOr<kentra::anon::v1::PeriodCells> GetIndicators(const Actor& actor, absl::string_view period);
  absl::StatusOr<kentra::anon::v1::PeriodCells> CloseMonth(const Actor& actor, absl::string_view period);
  IndicatorCounters& indicators() { return *indicators_; }

  // Checks that the indexes hold exactly the entries the records imply and that
  // every service event belongs to a case. DATA_LOSS describing the first mismatch.
  absl::Status CheckConsistency() const;

 private:
  // Visits index or record entries in [lo, hi) after `resume_after`; see records.cc.
  using Visitor = std::function<absl::StatusOr<bool>(absl::string_view key, absl::string_view value)>;

  CentreRecords(Store* store, const Clock* clock, int max_page_size, std::string page_key,
                std::string identifier_key, std::unique_ptr<IndicatorCounters> indicators);

  absl::Status LoadCounters();
  // A new audit entry, numbered next.
  v1::AuditEntry NewAuditEntry(const Actor& actor, absl::string_view action, absl::string_view resource,
                               absl::string_view detail, absl::string_view refusal,
                               const std::vector<std::string>& read);
  // Queues `entry` (serialized as `bytes`) and its index entries.
  static void PutAuditEntry(WriteBatch& batch, const v1::AuditEntry& entry, absl::string_view bytes);
  template <typename T>
  absl::StatusOr<std::optional<T>> Read(int cf, absl::string_view key) const;
  absl::StatusOr<v1::Beneficiary> LoadBeneficiary(uint64_t id, absl::string_view field) const;
  absl::StatusOr<v1::Case> LoadCase(uint64_t id, absl::string_view field) const;
  absl::StatusOr<std::string> Scan(int cf, const std::string& lo, const std::string& hi,
                                   const std::string& resume_after, int limit,
                                   const Visitor& visit) const;
  // Queues a case record and its index changes (before is null for a new case).
  void PutCase(WriteBatch& batch, uint64_t id, const v1::Case* before, const v1::Case& after);

  Store* store_;
  const Clock* clock_;
  int max_page_size_;
  PageTokens page_tokens_;
  std::string identifier_key_;
  LockTable locks_;
  std::unique_ptr<IndicatorCounters> indicators_;
  ConsentHook consent_hook_;
  std::unique_ptr<AuditJournal> journal_;
  std::atomic<uint64_t> last_beneficiary_id_{0};
  std::atomic<uint64_t> last_case_id_{0};
  std::atomic<uint64_t> last_event_id_{0};
  std::atomic<uint64_t> last_audit_seq_{0};
};

}  // namespace kentra::node

#endif  // KENTRA_NODE_RECORDS_H_
