#include "aisle/engine/history.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace aisle::engine {

ItemIndex ItemDictionary::intern(std::int64_t external) {
  auto [it, inserted] = index_.try_emplace(external, static_cast<ItemIndex>(external_.size()));
  if (inserted) external_.push_back(external);
  return it->second;
}

ItemIndex ItemDictionary::find(std::int64_t external) const {
  auto it = index_.find(external);
  return it == index_.end() ? static_cast<ItemIndex>(external_.size()) : it->second;
}

MemberIndex MemberDictionary::intern(std::string_view external) {
  auto [it, inserted] =
      index_.try_emplace(std::string(external), static_cast<MemberIndex>(external_.size()));
  if (inserted) external_.emplace_back(external);
  return it->second;
}

MemberIndex MemberDictionary::find(std::string_view external) const {
  auto it = index_.find(std::string(external));
  return it == index_.end() ? static_cast<MemberIndex>(external_.size()) : it->second;
}

void BasketLog::add(MemberIndex member, std::span<const ItemIndex> items) {
  const std::size_t start = items_.size();
  items_.insert(items_.end(), items.begin(), items.end());
  auto first = items_.begin() + static_cast<std::ptrdiff_t>(start);
  std::sort(first, items_.end());
  items_.erase(std::unique(first, items_.end()), items_.end());
  itemFirst_.push_back(static_cast<std::uint32_t>(items_.size()));
  owner_.push_back(member);
}

void BasketLog::finish(std::size_t memberCount) {
  for (MemberIndex m : owner_) memberCount = std::max<std::size_t>(memberCount, m + 1);
  // Files list members in any order: a stable counting sort by member keeps each member's baskets
  // in file order (oldest first) and makes every member's baskets contiguous.
  std::vector<std::uint32_t> count(memberCount + 1, 0);
  for (MemberIndex m : owner_) ++count[m + 1];
  for (std::size_t m = 0; m < memberCount; ++m) count[m + 1] += count[m];
  std::vector<std::uint32_t> order(owner_.size());
  {
    std::vector<std::uint32_t> next(count.begin(), count.end() - 1);
    for (std::uint32_t b = 0; b < owner_.size(); ++b) order[next[owner_[b]]++] = b;
  }
  std::vector<std::uint32_t> itemFirst{0};
  std::vector<ItemIndex> items;
  itemFirst.reserve(itemFirst_.size());
  items.reserve(items_.size());
  for (std::uint32_t b : order) {
    items.insert(items.end(), items_.begin() + itemFirst_[b], items_.begin() + itemFirst_[b + 1]);
    itemFirst.push_back(static_cast<std::uint32_t>(items.size()));
  }
  itemFirst_ = std::move(itemFirst);
  items_ = std::move(items);
  memberFirst_ = std::move(count);
  owner_.clear();
  owner_.shrink_to_fit();
}

const std::vector<std::string>* Keyset::split(std::string_view name) const {
  if (name == "train") return &train;
  if (name == "val") return &val;
  if (name == "test") return &test;
  return nullptr;
}

Result<std::string> readFileContents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot open " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return fail("cannot read " + path);
  return std::move(buf).str();
}

Result<BasketDataset> loadBasketDataset(const std::string& historyPath,
                                        const std::string& futurePath) {
  BasketDataset data;
  {
    auto text = readFileContents(historyPath);
    if (!text) return text.error();
    auto st = parseBasketJson(*text, data.members, data.items, data.history);
    if (!st) return fail(historyPath + ": " + st.message());
  }
  {
    auto text = readFileContents(futurePath);
    if (!text) return text.error();
    auto st = parseBasketJson(*text, data.members, data.items, data.future);
    if (!st) return fail(futurePath + ": " + st.message());
  }
  data.history.finish(data.members.size());
  data.future.finish(data.members.size());
  return data;
}

BasketDataset timeSplit(std::vector<PurchaseLine> lines) {
  std::stable_sort(lines.begin(), lines.end(), [](const PurchaseLine& a, const PurchaseLine& b) {
    return a.member != b.member ? a.member < b.member : a.day < b.day;
  });
  BasketDataset data;
  std::vector<ItemIndex> basket;
  std::size_t i = 0;
  while (i < lines.size()) {
    std::size_t memberEnd = i;
    while (memberEnd < lines.size() && lines[memberEnd].member == lines[i].member) ++memberEnd;
    const std::int32_t lastDay = lines[memberEnd - 1].day;
    if (lines[i].day != lastDay) {
      const MemberIndex m = data.members.intern(lines[i].member);
      for (std::size_t j = i; j < memberEnd;) {
        std::size_t dayEnd = j;
        basket.clear();
        while (dayEnd < memberEnd && lines[dayEnd].day == lines[j].day) {
          basket.push_back(data.items.intern(lines[dayEnd].item));
          ++dayEnd;
        }
        (lines[j].day == lastDay ? data.future : data.history).add(m, basket);
        j = dayEnd;
      }
    }
    i = memberEnd;
  }
  data.history.finish(data.members.size());
  data.future.finish(data.members.size());
  return data;
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int32_t daysFromCivil(int y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int>(doe) - 719468;
}

bool parseDigits(std::string_view s, int& out) {
  if (s.empty()) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

}  // namespace

Result<std::vector<PurchaseLine>> parseGroceriesCsv(std::string_view text,
                                                    std::vector<std::string>& productNames) {
  std::vector<PurchaseLine> lines;
  std::unordered_map<std::string, std::int64_t> productIds;
  for (std::size_t i = 0; i < productNames.size(); ++i)
    productIds.emplace(productNames[i], static_cast<std::int64_t>(i));
  std::size_t lineNo = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (lineNo == 1 && line.rfind("Member_number", 0) == 0) continue;
    const std::size_t c1 = line.find(',');
    const std::size_t c2 = c1 == std::string_view::npos ? c1 : line.find(',', c1 + 1);
    if (c2 == std::string_view::npos)
      return fail("line " + std::to_string(lineNo) + ": expected 3 fields");
    const std::string_view member = line.substr(0, c1);
    const std::string_view date = line.substr(c1 + 1, c2 - c1 - 1);
    const std::string_view product = line.substr(c2 + 1);
    // Day first throughout; the file mixes "27-05-2015" with "2/5/2015" (a spreadsheet rewrote the
    // dates whose day could pass for a month).
    int d = 0, m = 0, y = 0;
    const std::size_t s1 = date.find_first_of("-/");
    const std::size_t s2 = s1 == std::string_view::npos ? s1 : date.find(date[s1], s1 + 1);
    if (s2 == std::string_view::npos || s1 > 2 || s2 - s1 - 1 > 2 || date.size() - s2 - 1 != 4 ||
        !parseDigits(date.substr(0, s1), d) || !parseDigits(date.substr(s1 + 1, s2 - s1 - 1), m) ||
        !parseDigits(date.substr(s2 + 1), y) || m < 1 || m > 12 || d < 1 || d > 31) {
      return fail("line " + std::to_string(lineNo) + ": date '" + std::string(date) +
                  "' is not day-month-year (27-05-2015 or 2/5/2015)");
    }
    if (member.empty() || product.empty())
      return fail("line " + std::to_string(lineNo) + ": empty member or product");
    auto [it, inserted] = productIds.try_emplace(std::string(product),
                                                 static_cast<std::int64_t>(productNames.size()));
    if (inserted) productNames.emplace_back(product);
    lines.push_back({std::string(member),
                     daysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)),
                     it->second});
  }
  return lines;
}

Keyset hashKeyset(const BasketDataset& data, std::uint64_t seed) {
  Keyset k;
  k.itemNum = static_cast<std::int64_t>(data.items.size());
  for (MemberIndex m = 0; m < data.members.size(); ++m) {
    if (data.target(m).empty()) continue;
    // FNV-1a then a splitmix finaliser: stable across platforms and library versions.
    std::uint64_t h = 1469598103934665603ULL ^ seed;
    for (char c : data.members.external(m))
      h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    const std::uint64_t bucket = h % 100;
    (bucket < 72 ? k.train : bucket < 80 ? k.val : k.test).push_back(data.members.external(m));
  }
  return k;
}

}  // namespace aisle::engine
