#pragma once
// The personalization batch: for every member with new purchases, recompute the models
// (replenishment per product and category, next-basket affinity, segment, lifetime value), write
// them, choose offers and issue coupons within the campaigns' budgets. See coupon-engine/OFFERS.md.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aisle/common/clock.h"
#include "aisle/common/result.h"
#include "aisle/engine/loader.h"
#include "aisle/engine/offers.h"

namespace aisle::engine {

// A campaign as written in a campaign file; category targets may be given by name.
struct CampaignSpec {
  Campaign campaign;
  std::string categoryName;  // set for `target = { category = "NAME" }`: resolved in the database
  std::string status = "active";
};

// TOML: [[campaign]] tables (see coupon-engine/examples/campaigns.toml). Errors name file:line.
Result<std::vector<CampaignSpec>> parseCampaignFile(const std::string& path);
Result<std::vector<CampaignSpec>> parseCampaignToml(const std::string& text,
                                                    const std::string& sourceName);

// Unguessable coupon codes.
class CodeSource {
 public:
  virtual ~CodeSource() = default;
  virtual std::string next() = 0;
};
// 80 bits from the OS CSPRNG (getrandom), RFC 4648 base32 without padding: 16 characters.
std::unique_ptr<CodeSource> makeOsRandomCodes();
std::string base32(const unsigned char* bytes, std::size_t n);

struct BatchOptions {
  std::string campaignsFile;           // empty: use the campaigns already in the database
  std::optional<std::int64_t> asOfMs;  // the run's "now"; default: the clock
  bool all = false;                    // recompute every member, not only those with new purchases
  std::size_t chunkMembers = 1000;
  // Writer threads, each with its own connection (the database does most of the work).
  unsigned threads = 2;
  // Population statistics (intervals, next-basket fit) use at most this many members, spread
  // evenly over the id range: enough for stable medians, bounded time at 1M members.
  std::size_t populationMembers = 200'000;
  std::size_t calibrationMembers = 20'000;  // held-out last baskets for the affinity calibration
  std::size_t affinityDepth = 50;           // next-basket list length per member
  OfferParams offers;
  std::string batchRun;  // label written to coupons.batch_run; default: run time
  Progress* progress = nullptr;
};

struct BatchReport {
  std::int64_t members = 0, recomputed = 0, lines = 0;
  std::int64_t productModels = 0, categoryModels = 0;
  std::int64_t couponsIssued = 0, holdouts = 0, budgetRefused = 0;
  std::int64_t issuedValueMinor = 0;
  std::int64_t campaigns = 0;
  double readSeconds = 0, fitSeconds = 0, memberSeconds = 0, seconds = 0;
  // Where the member phase's time goes, summed over the workers (so up to threads x memberSeconds):
  // models and offers computed, model rows written, coupons and budgets written and committed.
  double computeSeconds = 0, modelWriteSeconds = 0, couponWriteSeconds = 0;
  std::vector<double> affinityByRank;  // calibrated hit rate per rank (first 10 shown)
  double affinityTail = 0;
  double credibility = 0;  // the estimated shrinkage constant k of product intervals
  std::string toJson() const;
};

Result<BatchReport> runBatch(const std::string& conninfo, const BatchOptions& options,
                             const Clock& clock, CodeSource& codes);

}  // namespace aisle::engine
