#include "aisle/common/log.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace aisle {

const char* levelName(LogLevel level) {
  switch (level) {
    case LogLevel::Debug: return "DEBUG";
    case LogLevel::Info: return "INFO";
    case LogLevel::Warn: return "WARN";
    case LogLevel::Error: return "ERROR";
  }
  return "?";
}

bool parseLogLevel(std::string_view text, LogLevel& out) {
  if (text == "debug") out = LogLevel::Debug;
  else if (text == "info") out = LogLevel::Info;
  else if (text == "warn") out = LogLevel::Warn;
  else if (text == "error") out = LogLevel::Error;
  else return false;
  return true;
}

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Length of a track-1 (%B<pan>^<name>^<data>?) or track-2 (;<pan>=<data>?) run at s[i], or 0.
std::size_t trackDataAt(std::string_view s, std::size_t i) {
  if (s[i] == '%' && i + 1 < s.size() && (s[i + 1] == 'B' || s[i + 1] == 'b')) {
    const auto caret = s.find('^', i);
    if (caret == std::string_view::npos || caret - i > 22) return 0;
    const auto end = s.find('?', caret);
    return (end == std::string_view::npos ? s.size() : end + 1) - i;
  }
  if (s[i] == ';' && i + 1 < s.size() && isDigit(s[i + 1])) {
    std::size_t j = i + 1;
    while (j < s.size() && isDigit(s[j])) ++j;
    if (j < s.size() && (s[j] == '=' || s[j] == 'D') && j - i - 1 >= 12) {
      const auto end = s.find('?', j);
      return (end == std::string_view::npos ? s.size() : end + 1) - i;
    }
  }
  return 0;
}

}  // namespace

std::string maskSensitive(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    if (const std::size_t n = trackDataAt(s, i)) {
      out += "[track data removed]";
      i += n;
      continue;
    }
    if (isDigit(s[i]) && (i == 0 || !isDigit(s[i - 1]))) {
      // A digit run, allowing single spaces/dashes between groups ("4111 1111 1111 1111").
      std::size_t j = i;
      std::size_t digits = 0;
      std::size_t lastDigitEnd = i;
      while (j < s.size()) {
        if (isDigit(s[j])) {
          ++digits;
          lastDigitEnd = ++j;
        } else if ((s[j] == ' ' || s[j] == '-') && j + 1 < s.size() && isDigit(s[j + 1]) && digits > 0) {
          ++j;
        } else {
          break;
        }
      }
      if (digits >= 12 && digits <= 19) {
        std::string run;
        for (std::size_t k = i; k < lastDigitEnd; ++k)
          if (isDigit(s[k])) run.push_back(s[k]);
        out += std::string(run.size() - 4, '*') + run.substr(run.size() - 4);
        i = lastDigitEnd;
        continue;
      }
      // Not card-like (a year, a price, a 20+ digit id): copy the plain digit run unchanged.
      std::size_t k = i;
      while (k < s.size() && isDigit(s[k])) ++k;
      out.append(s.substr(i, k - i));
      i = k;
      continue;
    }
    out.push_back(s[i++]);
  }
  return out;
}

void StderrSink::write(std::string_view line) {
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fputc('\n', stderr);
}

void MemorySink::write(std::string_view line) {
  std::lock_guard lock(mu_);
  lines_.emplace_back(line);
}

std::vector<std::string> MemorySink::lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

Logger::Logger(std::string component, std::shared_ptr<LogSink> sink, LogLevel min)
    : component_(std::move(component)), sink_(std::move(sink)), min_(min) {}

Logger Logger::with(std::string_view key, std::string_view value) const {
  Logger copy = *this;
  copy.context_ += " " + std::string(key) + "=" + std::string(value);
  return copy;
}

void Logger::log(LogLevel level, std::string_view message) const {
  if (!enabled(level) || !sink_) return;
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[80];  // sized for any int the compiler can imagine in each field
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  sink_->write(maskSensitive(std::string(stamp) + " " + levelName(level) + " " + component_ +
                             context_ + ": " + std::string(message)));
}

Logger stderrLogger(std::string component) {
  LogLevel level = LogLevel::Info;
  if (const char* env = std::getenv("AISLE_LOG_LEVEL")) parseLogLevel(env, level);
  static auto sink = std::make_shared<StderrSink>();
  return Logger(std::move(component), sink, level);
}

}  // namespace aisle
