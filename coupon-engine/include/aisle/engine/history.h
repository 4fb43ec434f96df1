#pragma once
// Purchase histories as compact arrays: members and items are remapped to dense indices, baskets
// are offset ranges into one item array (CSR). Models read these arrays only, so they stay free of
// I/O and of per-basket allocations.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "aisle/common/result.h"

namespace aisle::engine {

using ItemIndex = std::uint32_t;
using MemberIndex = std::uint32_t;

// External item id (the data set's own integer) <-> dense index in order of first appearance.
class ItemDictionary {
 public:
  ItemIndex intern(std::int64_t external);
  // Returns size() when the item was never seen.
  ItemIndex find(std::int64_t external) const;
  std::int64_t external(ItemIndex item) const { return external_[item]; }
  std::size_t size() const { return external_.size(); }

 private:
  std::unordered_map<std::int64_t, ItemIndex> index_;
  std::vector<std::int64_t> external_;
};

class MemberDictionary {
 public:
  MemberIndex intern(std::string_view external);
  // Returns size() when the member was never seen.
  MemberIndex find(std::string_view external) const;
  const std::string& external(MemberIndex member) const { return external_[member]; }
  std::size_t size() const { return external_.size(); }

 private:
  std::unordered_map<std::string, MemberIndex> index_;
  std::vector<std::string> external_;
};

// Baskets of every member, oldest first. Items inside a basket are unique and sorted.
class BasketLog {
 public:
  // Appends a basket of `member` (items deduplicated); a member's baskets come oldest first,
  // members may interleave.
  void add(MemberIndex member, std::span<const ItemIndex> items);
  // Called once after the last add(): groups baskets by member; members without baskets (up to
  // memberCount) get an empty range.
  void finish(std::size_t memberCount);

  std::size_t memberCount() const { return memberFirst_.empty() ? 0 : memberFirst_.size() - 1; }
  std::size_t basketCount() const { return itemFirst_.size() - 1; }
  std::uint32_t firstBasket(MemberIndex m) const { return memberFirst_[m]; }
  std::uint32_t endBasket(MemberIndex m) const { return memberFirst_[m + 1]; }
  std::uint32_t basketsOf(MemberIndex m) const { return endBasket(m) - firstBasket(m); }
  std::span<const ItemIndex> basket(std::uint32_t b) const {
    return {items_.data() + itemFirst_[b], items_.data() + itemFirst_[b + 1]};
  }
  std::size_t itemCount() const { return items_.size(); }

 private:
  std::vector<std::uint32_t> memberFirst_{0};  // size members + 1 after finish()
  std::vector<std::uint32_t> itemFirst_{0};
  std::vector<ItemIndex> items_;
  std::vector<MemberIndex> owner_;  // member of each basket, only while building
};

// The next-basket data set: history baskets of every member and the future (target) basket of those
// that have one, sharing one member and item dictionary.
struct BasketDataset {
  MemberDictionary members;
  ItemDictionary items;
  BasketLog history;
  BasketLog future;  // at most one basket per member
  std::span<const ItemIndex> target(MemberIndex m) const {
    if (m >= future.memberCount() || future.basketsOf(m) == 0) return {};
    return future.basket(future.firstBasket(m));
  }
};

// The user splits of "A Next Basket Recommendation Reality Check" (72/8/20 of the members).
struct Keyset {
  std::int64_t itemNum = 0;
  std::vector<std::string> train, val, test;
  const std::vector<std::string>* split(std::string_view name) const;
};

// `{member: [[-1], basket, ..., [-1]], ...}`: the [-1] sentinels of the paper's files are dropped.
// Parses into `log`, interning members and items in the given dictionaries.
Status parseBasketJson(std::string_view text, MemberDictionary& members, ItemDictionary& items,
                       BasketLog& log);
Result<Keyset> parseKeyset(std::string_view text);

// Reads the history and future files of the paper's format into one data set.
Result<BasketDataset> loadBasketDataset(const std::string& historyPath,
                                        const std::string& futurePath);

// One purchase line of a loyalty data set: member, day number (any monotone day count), product.
struct PurchaseLine {
  std::string member;
  std::int32_t day = 0;
  std::int64_t item = 0;
};

// Time split of dated purchases: each member's lines of one day form a basket; the member's last
// day is the future basket, earlier days the history. Members with a single day have no history and
// are left out.
BasketDataset timeSplit(std::vector<PurchaseLine> lines);

// The groceries-members CSV `Member_number,Date,itemDescription`, dates day first (dd-mm-yyyy or
// d/m/yyyy); product names are mapped to integer ids in `productNames` (index = id).
Result<std::vector<PurchaseLine>> parseGroceriesCsv(std::string_view text,
                                                    std::vector<std::string>& productNames);

// A deterministic 72/8/20 member split (stable hash of the member id), for data sets without one.
Keyset hashKeyset(const BasketDataset& data, std::uint64_t seed);

Result<std::string> readFileContents(const std::string& path);

}  // namespace aisle::engine
