#pragma once
// Civil dates and times as POS systems write them, and IANA time zones read from TZif data.
// libstdc++ 12 has std::chrono calendars but no time-zone database, so the TZif reader is ours:
// TimeZone::fromTzif is pure (bytes in, zone out); TimeZoneDatabase is the file-reading adapter.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aisle/common/result.h"

namespace aisle::pos {

// "YYYY-MM-DD" -> days since 1970-01-01 (calendar-checked: 2017-02-30 is an error).
Result<std::int64_t> parseDate(std::string_view text);
std::string formatDate(std::int64_t daysSinceEpoch);

struct Timestamp {
  std::int64_t localMs = 0;                 // the civil time written, counted as if it were UTC
  std::optional<int> offsetSeconds;         // from "Z" or "+01:00"; absent when zone-less
  std::int64_t utcMs() const { return localMs - std::int64_t{offsetSeconds.value_or(0)} * 1000; }
};

// ISO 8601 as POS systems send it: "2017-10-01T02:01:31", "2016-08-22T15:21:54.4833703+01:00",
// "...Z", "+0100", a space instead of 'T'. Fractions beyond milliseconds are truncated.
Result<Timestamp> parseTimestamp(std::string_view text);

class TimeZone {
 public:
  static Result<TimeZone> fromTzif(std::string_view bytes, std::string name);
  static TimeZone fixed(int offsetSeconds, std::string name);
  const std::string& name() const { return name_; }
  int offsetAt(std::int64_t utcSeconds) const;
  // Civil seconds (as if UTC) -> UTC seconds. In a fall-back overlap the earlier instant wins; a time
  // inside a spring-forward gap is read with the offset before the gap (so 01:30 becomes 02:30 BST).
  std::int64_t localToUtc(std::int64_t localSeconds) const;

 private:
  std::string name_;
  std::vector<std::int64_t> transitions_;  // UTC seconds, ascending
  std::vector<int> offsets_;               // offset in force from transitions_[i]
  int initialOffset_ = 0;                  // before the first transition
};

// Loads zones by IANA name from a zoneinfo directory, once each (thread-safe).
class TimeZoneDatabase {
 public:
  explicit TimeZoneDatabase(std::string root = "/usr/share/zoneinfo") : root_(std::move(root)) {}
  Result<std::shared_ptr<const TimeZone>> get(const std::string& name);

 private:
  std::string root_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const TimeZone>> cache_;
};

}  // namespace aisle::pos
