// The node's RocksDB schema: its column families and every key layout, in one
// place. Index entries are computed from records by IndexEntriesFor(), which both
// the write path and the consistency check use, so the two cannot disagree.
#ifndef KENTRA_NODE_SCHEMA_H_
#define KENTRA_NODE_SCHEMA_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/storage.h"
#include "kentra/node/v1/audit.pb.h"
#include "kentra/node/v1/beneficiary.pb.h"
#include "kentra/node/v1/case.pb.h"
#include "kentra/node/v1/service_event.pb.h"

namespace kentra::node {

// Bumped when a layout changes; a node refuses a data dir of another version.
// 2: case indexes sort newest first; 3: the audit index groups reads of
// beneficiaries and cases by block; 4: the case listing indexes carry the case;
// 5: the indicator bookkeeping is a record per person and month or year;
// 6: a month's persons sketch is a private (PCSA) sketch's bits, not
// HyperLogLog registers (versions 2 to 5 are migrated when the node opens the
// store).
inline constexpr int kSchemaVersion = 6;

// Column families, by the index the Store takes.
enum Cf : int {
  kMeta = 0,          // schema version, node-local secrets
  kBeneficiaries,     // PaddedId(id) -> Beneficiary
  kCases,             // PaddedId(id) -> Case
  kServiceEvents,     // EventKey(case, date, id) -> ServiceEvent
  kIndexes,           // secondary indexes (below) -> "" or a primary key
  kRequests,          // RequestKey(method, request_id) -> storage.v1.RequestRecord
  kAudit,             // PaddedSequence(seq) -> AuditEntry
  kUsers,             // user id -> storage.v1.StoredUser
  kSessions,          // SessionKey(token) -> storage.v1.StoredSession
  kIndicators,        // indicator counters and their bookkeeping (node/indicators.h)
  kSketches,          // "P" -> the month's true persons sketch: kSketchBits bits of 0 or 1 (common/anon/sketch.h)
  kReferrals,         // referrals, their listing indexes and applied messages (node/referrals.h)
  kOutbox,            // PaddedSequence(seq) -> storage.v1.OutboxItem, sealed for the hub
  kPosted,            // the outbox key -> storage.v1.OutboxItem posted, kept while the hub remembers it
  kCfCount,
};

// Column family names in Cf order.
const std::vector<std::string>& ColumnFamilyNames();
// How the node's store must be opened (kSketches holds register arrays).
Store::Options NodeStoreOptions();

// Meta keys.
inline constexpr absl::string_view kMetaSchemaVersion = "schema_version";
inline constexpr absl::string_view kMetaPageTokenKey = "page_token_key";
inline constexpr absl::string_view kMetaIdentifierKey = "identifier_key";
// The key of the coins that make a month's persons sketch private (never leaves the node).
inline constexpr absl::string_view kMetaSketchNoiseKey = "sketch_noise_key";
inline constexpr absl::string_view kMetaReferralDirectory = "referral_directory";  // SignedDirectory (node/referral_directory.h)
// The highest sequence number of the centre's mailbox at the hub that it has
// stored (or refused), as decimal (node/referrals.h).
inline constexpr absl::string_view kMetaMailboxStoredThrough = "mailbox_stored_through";

// A migration's rewrite, written in batches of about 1000 operations (unsynced;
// the last one, which records the new version, is synced). A batch is written
// only when MaybeWrite() is called, so what is queued between two calls lands
// together.
class MigrationWriter {
 public:
  explicit MigrationWriter(Store* store) : store_(store), batch_(std::make_unique<WriteBatch>()) {}
  WriteBatch& batch() { return *batch_; }
  // Writes what is queued once it is 1000 operations or more.
  absl::Status MaybeWrite();
  // Writes the rest with `version` as the schema version.
  absl::Status Finish(absl::string_view version);

 private:
  Store* store_;
  std::unique_ptr<WriteBatch> batch_;
};

// One secondary-index entry: key and value in kIndexes.
using IndexEntry = std::pair<std::string, std::string>;

// Index key prefixes.
inline constexpr absl::string_view kIdxIdentifier = "id:";    // + MAC(id) -> ben key
inline constexpr absl::string_view kIdxName = "nm:";          // + folded name \0 ben key
inline constexpr absl::string_view kIdxCaseState = "cs:";     // + state byte + CaseOrderSuffix
inline constexpr absl::string_view kIdxCaseWorker = "cw:";    // + worker \0 CaseOrderSuffix
inline constexpr absl::string_view kIdxCaseOpened = "co:";    // + CaseOrderSuffix
inline constexpr absl::string_view kIdxCaseOfBen = "cb:";     // + ben key + case key
inline constexpr absl::string_view kIdxEvent = "ev:";         // + event key id -> event primary key
inline constexpr absl::string_view kIdxAuditResource = "ar:"; // see AuditResourcePrefix; + seq
inline constexpr absl::string_view kIdxAuditActor = "aa:";    // + actor \0 seq

// Resource names <-> numeric ids.
std::string BeneficiaryName(uint64_t id);
std::string CaseName(uint64_t id);
std::string ServiceEventName(uint64_t case_id, uint64_t event_id);
std::string AuditEntryName(uint64_t seq);
std::optional<uint64_t> ParseAuditEntryName(absl::string_view name);
// The id in "beneficiaries/{id}" / "cases/{id}", or nullopt if `name` is not one.
std::optional<uint64_t> ParseBeneficiaryName(absl::string_view name);
std::optional<uint64_t> ParseCaseName(absl::string_view name);

// Primary keys.
std::string BeneficiaryKey(uint64_t id);
std::string CaseKey(uint64_t id);
std::string EventKey(uint64_t case_id, int32_t yyyymmdd, uint64_t event_id);
std::string EventPrefix(uint64_t case_id);
std::string AuditKey(uint64_t seq);
// The AuditJournal's file, beside the database in the node's data directory.
std::string AuditJournalPath(const std::string& data_dir);
std::string RequestKey(absl::string_view method, absl::string_view request_id);

// The identifier index key of a national id, MAC'ed with the node's identifier key
// so that the raw ΑΜΚΑ appears in no key.
std::string IdentifierIndexKey(absl::string_view identifier_key,
                               const kentra::node::v1::NationalId& national_id);

// Every index entry a record implies.
std::vector<IndexEntry> IndexEntriesFor(absl::string_view identifier_key, uint64_t id,
                                        const kentra::node::v1::Beneficiary& b);
// The three listing entries of a case (by state, by worker, by opening) hold
// `encoded`, the case as stored, so that a listing reads cases from the index
// alone (a covering index) instead of looking each one up.
std::vector<IndexEntry> IndexEntriesFor(uint64_t id, const kentra::node::v1::Case& c, absl::string_view encoded);
std::vector<IndexEntry> IndexEntriesFor(uint64_t event_id, const std::string& event_key);
std::vector<IndexEntry> IndexEntriesFor(uint64_t seq, const kentra::node::v1::AuditEntry& e);

// The audit index finds the entries about a resource under its prefix. Reads of
// beneficiaries and cases are indexed by block of kAuditBlockIds ids, so a page of
// 50 costs an entry or two, not 50; a lookup reads the block's entries and keeps
// those that name the resource (AuditEntryNames). Other resources have their own.
inline constexpr uint64_t kAuditBlockIds = 64;
std::string AuditResourcePrefix(absl::string_view resource);
bool AuditEntryNames(const kentra::node::v1::AuditEntry& e, absl::string_view resource);

// Queues into `batch` the index changes from `before` to `after`: deletes the
// entries no longer implied, (re)puts the ones that are.
void ApplyIndexChanges(WriteBatch& batch, const std::vector<IndexEntry>& before,
                       const std::vector<IndexEntry>& after);

// Case-index key prefixes for listing.
std::string CaseStatePrefix(kentra::node::v1::CaseState state);
std::string CaseWorkerPrefix(absl::string_view worker);
// The 8-byte key of a case's open time that sorts newest first, so listings walk
// forward (RocksDB's forward iteration is much cheaper than its reverse).
std::string NewestFirstKey(int64_t unix_micros);
// What follows a case-index prefix: NewestFirstKey(open time), then the case id so
// that of cases opened in the same microsecond the later one comes first.
std::string CaseOrderSuffix(int64_t open_micros, uint64_t case_id);
// The case id at the end of a key made with CaseOrderSuffix.
std::optional<uint64_t> CaseIdOfOrderKey(absl::string_view key);

}  // namespace kentra::node

#endif  // KENTRA_NODE_SCHEMA_H_
