#include "aisle/pos/time_zone.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "aisle/common/parse.h"

namespace aisle::pos {
namespace {

using namespace std::chrono;

bool digitsAt(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return false;
  for (std::size_t i = pos; i < pos + n; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

int num(std::string_view s, std::size_t pos, std::size_t n) {
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

// Years outside this range are a broken POS clock or a hostile message, not a sale.
constexpr int kMinYear = 1900;
constexpr int kMaxYear = 2200;

Result<std::int64_t> civilDays(int y, int m, int d, std::string_view text) {
  if (y < kMinYear || y > kMaxYear) return fail("date '" + std::string(text) + "' has an implausible year");
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return fail("date '" + std::string(text) + "' does not exist");
  return static_cast<std::int64_t>(sys_days{ymd}.time_since_epoch().count());
}

std::uint32_t be32(std::string_view b, std::size_t pos) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(b[pos])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(b[pos + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(b[pos + 2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[pos + 3]));
}

std::int64_t be64(std::string_view b, std::size_t pos) {
  return static_cast<std::int64_t>((static_cast<std::uint64_t>(be32(b, pos)) << 32) | be32(b, pos + 4));
}

bool validZoneName(const std::string& n) {
  if (n.empty() || n.size() > 64 || n.front() == '/' || n.find("..") != std::string::npos) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' ||
           c == '_' || c == '-' || c == '+';
  });
}

}  // namespace

Result<std::int64_t> parseDate(std::string_view text) {
  const std::string_view t = trim(text);
  if (t.size() != 10 || !digitsAt(t, 0, 4) || t[4] != '-' || !digitsAt(t, 5, 2) || t[7] != '-' ||
      !digitsAt(t, 8, 2)) {
    return fail("date '" + std::string(t.substr(0, 40)) + "' is not YYYY-MM-DD");
  }
  return civilDays(num(t, 0, 4), num(t, 5, 2), num(t, 8, 2), t);
}

std::string formatDate(std::int64_t days) {
  const year_month_day ymd{sys_days{std::chrono::days{days}}};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

Result<Timestamp> parseTimestamp(std::string_view text) {
  const std::string_view t = trim(text);
  const std::string shown(t.substr(0, 40));
  auto bad = [&] { return fail("timestamp '" + shown + "' is not ISO 8601 (YYYY-MM-DDThh:mm:ss)"); };
  if (t.size() < 19 || !digitsAt(t, 0, 4) || t[4] != '-' || !digitsAt(t, 5, 2) || t[7] != '-' ||
      !digitsAt(t, 8, 2) || (t[10] != 'T' && t[10] != ' ') || !digitsAt(t, 11, 2) || t[13] != ':' ||
      !digitsAt(t, 14, 2) || t[16] != ':' || !digitsAt(t, 17, 2)) {
    return bad();
  }
  auto days = civilDays(num(t, 0, 4), num(t, 5, 2), num(t, 8, 2), shown);
  if (!days) return days.error();
  const int hh = num(t, 11, 2), mi = num(t, 14, 2);
  int ss = num(t, 17, 2);
  if (hh > 23 || mi > 59 || ss > 60) return fail("timestamp '" + shown + "' has an impossible time of day");
  if (ss == 60) ss = 59;  // a leap second: POS clocks do not have them, keep the sale in its minute
  std::size_t pos = 19;
  int millis = 0;
  if (pos < t.size() && (t[pos] == '.' || t[pos] == ',')) {
    ++pos;
    const std::size_t start = pos;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') ++pos;
    const std::size_t n = pos - start;
    if (n == 0 || n > 12) return bad();
    for (std::size_t i = 0; i < 3; ++i) millis = millis * 10 + (i < n ? t[start + i] - '0' : 0);
  }
  Timestamp out;
  out.localMs = ((*days * 86400) + hh * 3600 + mi * 60 + ss) * 1000 + millis;
  if (pos == t.size()) return out;
  if (t[pos] == 'Z' || t[pos] == 'z') {
    if (pos + 1 != t.size()) return bad();
    out.offsetSeconds = 0;
    return out;
  }
  if (t[pos] != '+' && t[pos] != '-') return bad();
  const int sign = t[pos] == '-' ? -1 : 1;
  ++pos;
  int oh = 0, om = 0;
  if (t.size() - pos == 5 && digitsAt(t, pos, 2) && t[pos + 2] == ':' && digitsAt(t, pos + 3, 2)) {
    oh = num(t, pos, 2);
    om = num(t, pos + 3, 2);
  } else if (t.size() - pos == 4 && digitsAt(t, pos, 4)) {
    oh = num(t, pos, 2);
    om = num(t, pos + 2, 2);
  } else if (t.size() - pos == 2 && digitsAt(t, pos, 2)) {
    oh = num(t, pos, 2);
  } else {
    return bad();
  }
  if (oh > 14 || om > 59) return fail("timestamp '" + shown + "' has an impossible UTC offset");
  out.offsetSeconds = sign * (oh * 3600 + om * 60);
  return out;
}

TimeZone TimeZone::fixed(int offsetSeconds, std::string name) {
  TimeZone z;
  z.name_ = std::move(name);
  z.initialOffset_ = offsetSeconds;
  return z;
}

Result<TimeZone> TimeZone::fromTzif(std::string_view b, std::string name) {
  // RFC 8536. Version 2+ files repeat the data with 64-bit times after the version 1 block; we read
  // that block. The footer's POSIX rule (times after the last transition) is not interpreted: the
  // last offset continues, which tzdata's "fat" files (Debian) make correct until 2037.
  auto header = [&](std::size_t at, std::uint32_t (&c)[6]) -> bool {
    if (at + 44 > b.size() || b.substr(at, 4) != "TZif") return false;
    for (int i = 0; i < 6; ++i) c[i] = be32(b, at + 20 + 4 * static_cast<std::size_t>(i));
    return true;
  };
  std::uint32_t c[6];
  if (!header(0, c)) return fail("time zone " + name + ": not TZif data");
  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  for (auto v : c)
    if (v > 100000) return fail("time zone " + name + ": implausible TZif counts");
  auto blockSize = [&](const std::uint32_t (&k)[6], std::size_t timeSize) {
    return k[3] * timeSize + k[3] + k[4] * 6u + k[5] + k[2] * (timeSize + 4) + k[1] + k[0];
  };
  std::size_t at = 44;
  std::size_t timeSize = 4;
  const char version = b[4];
  if (version >= '2') {
    const std::size_t second = 44 + blockSize(c, 4);
    if (!header(second, c)) return fail("time zone " + name + ": truncated TZif data");
    for (auto v : c)
      if (v > 100000) return fail("time zone " + name + ": implausible TZif counts");
    at = second + 44;
    timeSize = 8;
  }
  if (at + blockSize(c, timeSize) > b.size()) return fail("time zone " + name + ": truncated TZif data");
  if (c[4] == 0) return fail("time zone " + name + ": no local time types");
  TimeZone z;
  z.name_ = std::move(name);
  const std::size_t timecnt = c[3], typecnt = c[4];
  const std::size_t idxAt = at + timecnt * timeSize;
  const std::size_t typesAt = idxAt + timecnt;
  std::vector<int> typeOffsets(typecnt);
  for (std::size_t i = 0; i < typecnt; ++i) {
    typeOffsets[i] = static_cast<std::int32_t>(be32(b, typesAt + i * 6));
    if (typeOffsets[i] < -25 * 3600 || typeOffsets[i] > 26 * 3600)
      return fail("time zone " + z.name_ + ": implausible UTC offset");
  }
  z.initialOffset_ = typeOffsets[0];
  for (std::size_t i = 0; i < timecnt; ++i) {
    const std::int64_t when = timeSize == 8 ? be64(b, at + i * 8)
                                            : static_cast<std::int32_t>(be32(b, at + i * 4));
    const auto idx = static_cast<unsigned char>(b[idxAt + i]);
    if (idx >= typecnt) return fail("time zone " + z.name_ + ": transition to an unknown type");
    if (!z.transitions_.empty() && when <= z.transitions_.back())
      return fail("time zone " + z.name_ + ": transitions out of order");
    z.transitions_.push_back(when);
    z.offsets_.push_back(typeOffsets[idx]);
  }
  return z;
}

int TimeZone::offsetAt(std::int64_t utcSeconds) const {
  const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utcSeconds);
  if (it == transitions_.begin()) return initialOffset_;
  return offsets_[static_cast<std::size_t>(it - transitions_.begin()) - 1];
}

std::int64_t TimeZone::localToUtc(std::int64_t local) const {
  // Around any single transition, the offsets a day before and a day after are the two candidates.
  const int before = offsetAt(local - 86400);
  const int after = offsetAt(local + 86400);
  for (int o : {before, after}) {
    if (offsetAt(local - o) == o) return local - o;
  }
  return local - before;
}

Result<std::shared_ptr<const TimeZone>> TimeZoneDatabase::get(const std::string& name) {
  if (!validZoneName(name)) return fail("'" + name.substr(0, 64) + "' is not a time zone name");
  std::lock_guard lock(mu_);
  if (auto it = cache_.find(name); it != cache_.end()) return it->second;
  std::ifstream in(root_ + "/" + name, std::ios::binary);
  if (!in) return fail("unknown time zone '" + name + "' (not in " + root_ + ")");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto z = TimeZone::fromTzif(bytes, name);
  if (!z) return z.error();
  auto shared = std::make_shared<const TimeZone>(std::move(*z));
  cache_.emplace(name, shared);
  return shared;
}

}  // namespace aisle::pos
