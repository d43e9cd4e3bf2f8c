// The audit index groups reads of beneficiaries and cases by block: a page of 50
// costs an index entry or two, a lookup by record finds exactly the entries that
// name it, and a version-2 store (one index entry per record read) is migrated
// when the node opens it.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "node/schema.h"
#include "tests/testing/test_util.h"

namespace kentra::node {
namespace {

using ::kentra::testing::SampleBeneficiary;
using ::kentra::testing::TestNode;
namespace nv1 = kentra::node::v1;

// "<action> by <actor>" of every entry the coordinator finds for `resource`.
std::vector<std::string> WhoTouched(TestNode& node, const std::string& resource) {
  std::vector<std::string> out;
  nv1::ListAuditEntriesRequest request;
  request.set_resource(resource);
  request.set_page_size(200);
  for (int page = 0; page < 20; ++page) {
    nv1::ListAuditEntriesResponse response;
    grpc::Status s =
        node.NewStub()->ListAuditEntries(node.Context("coord").get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    for (const auto& e : response.audit_entries()) out.push_back(e.action() + " by " + e.actor());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  return out;
}

std::vector<std::string> Register(TestNode& node, int people) {
  std::vector<std::string> names;
  auto stub = node.NewStub();
  for (int i = 1; i <= people; ++i) {
    nv1::CreateBeneficiaryRequest create;
    *create.mutable_beneficiary() = SampleBeneficiary(i);
    nv1::Beneficiary b;
    grpc::Status s = stub->CreateBeneficiary(node.Context().get(), create, &b);
    EXPECT_TRUE(s.ok()) << s.error_message();
    names.push_back(b.name());
  }
  return names;
}

// The index keys under "ar:" that point at audit entry `name`.
std::vector<std::string> ResourceKeysOf(TestNode& node, const std::string& name) {
  const std::string seq = AuditKey(ParseAuditEntryName(name).value_or(0));
  std::vector<std::string> out;
  auto it = node.server().store()->NewIterator(kIndexes);
  for (it->Seek(kIdxAuditResource); it->Valid() && absl::StartsWith(it->key(), kIdxAuditResource);
       it->Next()) {
    if (absl::EndsWith(it->key(), seq)) out.emplace_back(it->key());
  }
  return out;
}

TEST(AuditIndexTest, APageOfFiftyTakesABlockEntryOrTwoAndIsFoundUnderEachRecordItReturned) {
  TestNode node;
  const std::vector<std::string> names = Register(node, 70);
  nv1::ListBeneficiariesRequest list;
  list.set_page_size(50);
  nv1::ListBeneficiariesResponse page;
  ASSERT_TRUE(node.NewStub()->ListBeneficiaries(node.Context("viewer").get(), list, &page).ok());
  ASSERT_EQ(page.beneficiaries_size(), 50);
  std::set<std::string> returned;
  for (const auto& b : page.beneficiaries()) returned.insert(b.name());

  auto lists = node.AuditEntriesOf("ListBeneficiaries");
  ASSERT_EQ(lists.size(), 1u);
  const auto keys = ResourceKeysOf(node, lists[0].name());
  EXPECT_GE(keys.size(), 1u);
  EXPECT_LE(keys.size(), 2u) << "70 ids span two blocks of 64";

  // Every one of the 70: the list shows under it exactly when it was on the page,
  // including those in the same block that were not.
  for (const std::string& name : names) {
    const auto who = WhoTouched(node, name);
    const bool listed =
        std::find(who.begin(), who.end(), "ListBeneficiaries by users/viewer") != who.end();
    EXPECT_EQ(listed, returned.count(name) > 0) << name;
    EXPECT_EQ(who.front(), "CreateBeneficiary by users/m.papadaki") << name;
  }
  EXPECT_TRUE(node.server().records()->CheckConsistency().ok());
}

TEST(AuditIndexTest, AVersion2StoreIsMigratedWhenTheNodeOpensIt) {
  TestNode node;
  const std::vector<std::string> names = Register(node, 3);
  nv1::GetBeneficiaryRequest get;
  get.set_name(names[1]);
  nv1::Beneficiary b;
  ASSERT_TRUE(node.NewStub()->GetBeneficiary(node.Context("psy").get(), get, &b).ok());
  nv1::ListBeneficiariesRequest list;
  nv1::ListBeneficiariesResponse page;
  ASSERT_TRUE(node.NewStub()->ListBeneficiaries(node.Context("viewer").get(), list, &page).ok());
  const auto before = WhoTouched(node, names[1]);
  ASSERT_EQ(before, (std::vector<std::string>{"CreateBeneficiary by users/m.papadaki",
                                              "GetBeneficiary by users/psy",
                                              "ListBeneficiaries by users/viewer"}));
  ASSERT_TRUE(
      node.server().records()->CheckConsistency().ok());  // also moves the journal into the store

  // Rewrite the index as version 2 kept it: one entry per record named.
  Store* store = node.server().store();
  WriteBatch v2;
  {  // the iterators must be gone before the store closes
    auto old = store->NewIterator(kIndexes);
    for (old->Seek(kIdxAuditResource);
         old->Valid() && absl::StartsWith(old->key(), kIdxAuditResource); old->Next()) {
      v2.Delete(kIndexes, old->key());
    }
    auto it = store->NewIterator(kAudit);
    for (it->Seek(""); it->Valid(); it->Next()) {
      nv1::AuditEntry e;
      ASSERT_TRUE(e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())));
      std::set<std::string> named(e.resources_read().begin(), e.resources_read().end());
      if (!e.resource().empty()) named.insert(e.resource());
      for (const auto& n : named)
        v2.Put(kIndexes, absl::StrCat(kIdxAuditResource, n, std::string(1, '\0'), it->key()), "");
    }
  }
  v2.Put(kMeta, kMetaSchemaVersion, "2");
  ASSERT_TRUE(store->Write(v2).ok());
  EXPECT_FALSE(node.server().records()->CheckConsistency().ok())
      << "the version-2 index differs from version 3's";

  node.Restart();
  auto version = node.server().store()->Get(kMeta, kMetaSchemaVersion);
  ASSERT_TRUE(version.ok() && version->has_value());
  EXPECT_EQ(**version, absl::StrCat(kSchemaVersion));
  EXPECT_TRUE(node.server().records()->CheckConsistency().ok());
  EXPECT_EQ(WhoTouched(node, names[1]), before);
}

}  // namespace
}  // namespace kentra::node
