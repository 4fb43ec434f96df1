#pragma once
// One logger per component with levels and context (`store=12 gw=pi-3`). Every line passes through
// maskSensitive(): loyalty/payment card numbers are masked and track data never reaches a log.
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aisle {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };
const char* levelName(LogLevel level);
bool parseLogLevel(std::string_view text, LogLevel& out);

// Masks runs of 12-19 digits (optionally grouped by spaces or dashes) to their last four digits and
// replaces anything shaped like magnetic-stripe track 1 (%B...^...^...?) or track 2 (;digits=digits?)
// data with "[track data removed]".
std::string maskSensitive(std::string_view text);

class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void write(std::string_view line) = 0;
};

class StderrSink final : public LogSink {
 public:
  void write(std::string_view line) override;

 private:
  std::mutex mu_;
};

// Keeps lines in memory: tests read them, e.g. to prove a card number never appears.
class MemorySink final : public LogSink {
 public:
  void write(std::string_view line) override;
  std::vector<std::string> lines() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

class Logger {
 public:
  Logger(std::string component, std::shared_ptr<LogSink> sink, LogLevel min = LogLevel::Info);
  // A copy that adds `key=value` to every line.
  Logger with(std::string_view key, std::string_view value) const;

  void log(LogLevel level, std::string_view message) const;
  void debug(std::string_view m) const { log(LogLevel::Debug, m); }
  void info(std::string_view m) const { log(LogLevel::Info, m); }
  void warn(std::string_view m) const { log(LogLevel::Warn, m); }
  void error(std::string_view m) const { log(LogLevel::Error, m); }
  bool enabled(LogLevel level) const { return level >= min_; }

 private:
  std::string component_;
  std::string context_;
  std::shared_ptr<LogSink> sink_;
  LogLevel min_;
};

// A logger to stderr at the level in AISLE_LOG_LEVEL (default info).
Logger stderrLogger(std::string component);

}  // namespace aisle
