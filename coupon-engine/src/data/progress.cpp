#include <chrono>
#include <cstdio>
#include <ostream>
#include <string>

#include "aisle/engine/loader.h"

namespace aisle::engine {
namespace {

using Steady = std::chrono::steady_clock;
// Short phases get only their closing line in logs; 10% steps are for the long ones.
constexpr std::int64_t kQuietBelow = 50000;

std::string rate(double perSecond) {
  char buf[32];
  if (perSecond >= 1e6)
    std::snprintf(buf, sizeof buf, "%.1fM/s", perSecond / 1e6);
  else if (perSecond >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1fk/s", perSecond / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f/s", perSecond);
  return buf;
}

// Wall-clock time here only paints a progress display; no logic depends on it.
class StreamProgress final : public Progress {
 public:
  StreamProgress(std::ostream& err, bool terminal) : err_(err), terminal_(terminal) {}
  ~StreamProgress() override { finish(); }

  void phase(std::string_view name, std::int64_t total) override {
    finish();
    name_ = std::string(name);
    total_ = total;
    done_ = 0;
    nextPercent_ = 10;
    started_ = lastPaint_ = Steady::now();
    active_ = true;
    if (terminal_) paint();
  }

  void advance(std::int64_t n) override {
    if (!active_) return;
    done_ += n;
    const auto now = Steady::now();
    if (terminal_) {
      if (now - lastPaint_ > std::chrono::milliseconds(100)) {
        lastPaint_ = now;
        paint();
      }
    } else if (total_ >= kQuietBelow && done_ * 100 >= nextPercent_ * total_ &&
               nextPercent_ < 100) {
      // A log file gets a line per 10% step, not a stream of carriage returns.
      err_ << "  " << name_ << ": " << withThousands(done_) << "/" << withThousands(total_) << " ("
           << nextPercent_ << "%)\n";
      while (done_ * 100 >= nextPercent_ * total_) nextPercent_ += 10;
    }
  }

  void finish() override {
    if (!active_) return;
    active_ = false;
    const double s = std::chrono::duration<double>(Steady::now() - started_).count();
    if (terminal_) {
      paint();
      err_ << "\n";
    } else {
      err_ << "  " << name_ << ": " << withThousands(done_) << " done in " << format(s) << " s ("
           << rate(s > 0 ? static_cast<double>(done_) / s : 0) << ")\n";
    }
    err_.flush();
  }

 private:
  static std::string format(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", s);
    return buf;
  }

  void paint() {
    const double s = std::chrono::duration<double>(Steady::now() - started_).count();
    constexpr int kWidth = 30;
    std::string bar;
    if (total_ > 0) {
      const auto filled = static_cast<int>(std::min<std::int64_t>(kWidth, done_ * kWidth / total_));
      bar = "[" + std::string(static_cast<std::size_t>(filled), '#') +
            std::string(static_cast<std::size_t>(kWidth - filled), '.') + "] ";
      bar += std::to_string(std::min<std::int64_t>(100, done_ * 100 / total_)) + "% ";
    }
    err_ << "\r\033[K  " << name_ << " " << bar << withThousands(done_)
         << (total_ > 0 ? "/" + withThousands(total_) : std::string()) << "  "
         << rate(s > 0 ? static_cast<double>(done_) / s : 0) << std::flush;
  }

  std::ostream& err_;
  bool terminal_;
  bool active_ = false;
  std::string name_;
  std::int64_t total_ = 0, done_ = 0, nextPercent_ = 10;
  Steady::time_point started_, lastPaint_;
};

class SilentProgress final : public Progress {
 public:
  void phase(std::string_view, std::int64_t) override {}
  void advance(std::int64_t) override {}
  void finish() override {}
};

}  // namespace

std::unique_ptr<Progress> makeProgress(std::ostream& err, bool terminal) {
  return std::make_unique<StreamProgress>(err, terminal);
}
std::unique_ptr<Progress> makeSilentProgress() {
  return std::make_unique<SilentProgress>();
}

std::string withThousands(std::int64_t n) {
  std::string s = std::to_string(n < 0 ? -n : n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<std::size_t>(i), ",");
  return (n < 0 ? "-" : "") + s;
}

}  // namespace aisle::engine
