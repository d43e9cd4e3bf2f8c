#include "node/audit_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/keys.h"
#include "common/status.h"
#include "node/schema.h"

namespace kentra::node {
namespace {

// The file: a header (magic, then the generation: random bytes that change each
// time the file starts again), then frames of [u64 length][u64 checksum][entry],
// both big-endian as keys::AppendUint64 writes them.
constexpr absl::string_view kMagic = "KAJ1";
constexpr size_t kGenerationBytes = 16;
constexpr int64_t kHeaderBytes = 4 + kGenerationBytes;
constexpr int64_t kFrameHeaderBytes = 8 + 8;
constexpr size_t kMaxEntryBytes = 4 << 20;
// How much one move reads and writes in a batch at most.
constexpr int64_t kMoveChunkBytes = 1 << 20;

// FNV-1a: finds a torn or garbled frame; the file is the node's own, so it guards
// against crashes, not against forgery.
uint64_t Checksum(absl::string_view bytes) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status PreadAll(int fd, char* out, int64_t n, int64_t offset, const std::string& path) {
  while (n > 0) {
    ssize_t r = pread(fd, out, static_cast<size_t>(n), offset);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Errno("cannot read the audit journal", path);
    if (r == 0)
      return absl::DataLossError(absl::StrCat("the audit journal ", path, " ended early"));
    out += r;
    n -= r;
    offset += r;
  }
  return absl::OkStatus();
}

std::string PositionValue(absl::string_view generation, int64_t offset) {
  std::string v(generation);
  keys::AppendUint64(&v, static_cast<uint64_t>(offset));
  return v;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditJournal>> AuditJournal::Open(const std::string& path,
                                                                 Store* store, PutFn put,
                                                                 Options options) {
  auto journal =
      std::unique_ptr<AuditJournal>(new AuditJournal(path, store, std::move(put), options));
  KENTRA_RETURN_IF_ERROR(journal->OpenFile());
  {
    absl::MutexLock lock(&journal->mover_mu_);
    KENTRA_RETURN_IF_ERROR(journal->MoveLocked());
  }
  journal->mover_ = std::thread([j = journal.get()] { j->MoverLoop(); });
  return journal;
}

AuditJournal::AuditJournal(std::string path, Store* store, PutFn put, Options options)
    : path_(std::move(path)), store_(store), put_(std::move(put)), options_(options) {}

AuditJournal::~AuditJournal() {
  if (mover_.joinable()) {
    {
      absl::MutexLock lock(&stop_mu_);
      stop_ = true;
    }
    mover_.join();
  }
  {
    absl::MutexLock lock(&mover_mu_);
    absl::Status moved = MoveLocked();
    if (!moved.ok())
      std::cerr << "kentra-node: audit journal left in " << path_ << ": " << moved << "\n";
  }
  if (fd_ >= 0) close(fd_);
}

absl::Status AuditJournal::OpenFile() {
  fd_ = open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) return Errno("cannot open the audit journal", path_);
  struct stat st;
  if (fstat(fd_, &st) != 0) return Errno("cannot stat the audit journal", path_);
  absl::MutexLock mover(&mover_mu_);
  absl::MutexLock lock(&append_mu_);
  std::string header(kHeaderBytes, '\0');
  if (st.st_size >= kHeaderBytes) {
    KENTRA_RETURN_IF_ERROR(PreadAll(fd_, header.data(), kHeaderBytes, 0, path_));
    if (!absl::StartsWith(header, kMagic)) {
      return absl::DataLossError(
          absl::StrCat(path_, " is not an audit journal (move it away to start the node)"));
    }
    generation_ = header.substr(kMagic.size());
    appended_ = st.st_size;
  } else {
    // New, or a crash tore the header while the file started again: nothing in it yet.
    if (ftruncate(fd_, 0) != 0) return Errno("cannot empty the audit journal", path_);
    KENTRA_RETURN_IF_ERROR(WriteHeaderLocked());
  }
  moved_ = kHeaderBytes;
  KENTRA_ASSIGN_OR_RETURN(auto position, store_->Get(kMeta, kMetaKey));
  if (position && position->size() == kGenerationBytes + 8 &&
      absl::string_view(*position).substr(0, kGenerationBytes) == generation_) {
    const int64_t at =
        static_cast<int64_t>(keys::ReadUint64(*position, kGenerationBytes).value_or(0));
    if (at >= kHeaderBytes && at <= appended_) moved_ = at;
  }
  return absl::OkStatus();
}

absl::Status AuditJournal::WriteHeaderLocked() {
  generation_ = RandomBytes(kGenerationBytes);
  const std::string header = absl::StrCat(kMagic, generation_);
  if (write(fd_, header.data(), header.size()) != static_cast<ssize_t>(header.size())) {
    return Errno("cannot write the audit journal", path_);
  }
  appended_ = kHeaderBytes;
  return absl::OkStatus();
}

absl::Status AuditJournal::Append(const v1::AuditEntry& entry) {
  std::string bytes;
  if (!entry.SerializeToString(&bytes)) return absl::InternalError("cannot serialize an audit entry");
  if (bytes.size() > kMaxEntryBytes) return absl::ResourceExhaustedError("audit entry too large");
  std::string frame;
  frame.reserve(kFrameHeaderBytes + bytes.size());
  keys::AppendUint64(&frame, bytes.size());
  keys::AppendUint64(&frame, Checksum(bytes));
  frame.append(bytes);

  absl::MutexLock lock(&append_mu_);
  const char* p = frame.data();
  size_t left = frame.size();
  while (left > 0) {
    ssize_t n = write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status failed = Errno("cannot append to the audit journal", path_);
      // Leave no part of the frame behind, so later frames stay readable.
      if (ftruncate(fd_, appended_) != 0)
        std::cerr << "kentra-node: " << Errno("cannot truncate", path_) << "\n";
      return failed;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  appended_ += static_cast<int64_t>(frame.size());
  return absl::OkStatus();
}

absl::Status AuditJournal::CatchUp() {
  absl::MutexLock lock(&mover_mu_);
  return MoveLocked();
}

absl::StatusOr<int64_t> AuditJournal::ReadFrames(int64_t from, int64_t to,
                                                 WriteBatch& batch) const {
  std::string block(static_cast<size_t>(std::min(to - from, kMoveChunkBytes)), '\0');
  KENTRA_RETURN_IF_ERROR(
      PreadAll(fd_, block.data(), static_cast<int64_t>(block.size()), from, path_));
  int64_t pos = 0;  // within block
  std::string large;
  while (from + pos + kFrameHeaderBytes <= to) {
    if (pos + kFrameHeaderBytes > static_cast<int64_t>(block.size())) break;  // for the next block
    const uint64_t size = keys::ReadUint64(block, static_cast<size_t>(pos)).value_or(0);
    const uint64_t sum = keys::ReadUint64(block, static_cast<size_t>(pos) + 8).value_or(0);
    if (size > kMaxEntryBytes || from + pos + kFrameHeaderBytes + static_cast<int64_t>(size) > to)
      break;
    absl::string_view bytes;
    if (pos + kFrameHeaderBytes + static_cast<int64_t>(size) <=
        static_cast<int64_t>(block.size())) {
      bytes = absl::string_view(block).substr(static_cast<size_t>(pos + kFrameHeaderBytes), size);
    } else if (pos == 0) {
      // One frame larger than a block.
      large.resize(size);
      KENTRA_RETURN_IF_ERROR(
          PreadAll(fd_, large.data(), static_cast<int64_t>(size), from + kFrameHeaderBytes, path_));
      bytes = large;
    } else {
      break;
    }
    if (Checksum(bytes) != sum) break;
    v1::AuditEntry entry;
    if (!entry.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return absl::DataLossError(
          absl::StrCat("unreadable entry in the audit journal ", path_, " at byte ", from + pos));
    }
    put_(batch, entry, bytes);
    pos += kFrameHeaderBytes + static_cast<int64_t>(size);
  }
  return from + pos;
}

absl::Status AuditJournal::MoveLocked() {
  int64_t end;
  std::string generation;
  {
    absl::MutexLock lock(&append_mu_);
    end = appended_;
    generation = generation_;
  }
  while (moved_ < end) {
    WriteBatch batch;
    KENTRA_ASSIGN_OR_RETURN(int64_t next, ReadFrames(moved_, end, batch));
    if (next == moved_) {
      // Only a crash leaves a torn frame, and only as the last thing written.
      std::cerr << "kentra-node: the audit journal " << path_ << " ends in a torn entry at byte "
                << moved_ << "; dropping the " << end - moved_
                << " bytes from there (never acknowledged)\n";
      absl::MutexLock lock(&append_mu_);
      if (appended_ != end) {
        return absl::DataLossError(
            absl::StrCat("unreadable entry in the audit journal ", path_, " at byte ", moved_));
      }
      if (ftruncate(fd_, moved_) != 0) return Errno("cannot truncate the audit journal", path_);
      appended_ = moved_;
      break;
    }
    batch.Put(kMeta, kMetaKey, PositionValue(generation, next));
    KENTRA_RETURN_IF_ERROR(store_->Write(batch, Store::Durability::kProcessCrashed));
    moved_ = next;
  }
  if (moved_ >= options_.restart_after_bytes) return RestartLocked();
  return absl::OkStatus();
}

absl::Status AuditJournal::RestartLocked() {
  absl::MutexLock lock(&append_mu_);
  if (appended_ != moved_) return absl::OkStatus();  // more came; next time
  // A crash between these steps leaves either the old generation (moved again,
  // which writes the same keys) or an empty or torn header (started again).
  if (ftruncate(fd_, 0) != 0) return Errno("cannot empty the audit journal", path_);
  KENTRA_RETURN_IF_ERROR(WriteHeaderLocked());
  moved_ = appended_;
  WriteBatch batch;
  batch.Put(kMeta, kMetaKey, PositionValue(generation_, moved_));
  return store_->Write(batch, Store::Durability::kProcessCrashed);
}

void AuditJournal::MoverLoop() {
  while (true) {
    {
      absl::MutexLock lock(&stop_mu_);
      stop_mu_.AwaitWithTimeout(absl::Condition(&stop_), options_.move_interval);
      if (stop_) return;
    }
    absl::MutexLock lock(&mover_mu_);
    absl::Status moved = MoveLocked();
    if (!moved.ok() && !failing_) {
      std::cerr << "kentra-node: cannot move audit entries into the store (they stay in " << path_
                << " and are moved when it works again): " << moved << "\n";
    }
    failing_ = !moved.ok();
  }
}

}  // namespace kentra::node
