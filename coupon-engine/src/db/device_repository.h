#pragma once
// Every statement of device registration, fob import and claim, and consent changes.
// Prepared once per connection (prepare() is given to PgSession::onConnect).
// Nullable parameters travel as `const char*` (nullptr is SQL NULL in libpqxx 6.4) with casts in SQL.
#include <pqxx/pqxx>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace aisle::engine {

struct DeviceRow {
  std::int64_t memberId = 0;
  std::int64_t deviceId = 0;
  std::string kind;
  std::optional<std::string> pushProvider;
  std::optional<std::string> pushToken;
  std::optional<std::string> eidKeyEnc;  // sealed identity key (AAD "device:<member>:<device>")
  std::optional<int> eidK;
  std::optional<std::int64_t> eidTimeOffsetS;
  std::optional<std::string> ibeaconUuid;
  std::optional<int> ibeaconMajor;
  std::optional<int> ibeaconMinor;
  std::optional<std::string> altbeaconId;
  std::optional<std::string> externalRef;      // the fob's id from fwconfig
  std::optional<std::string> claimCodeSha256;  // unclaimed fobs only
};

class DeviceRepository {
 public:
  static void prepare(pqxx::connection& c);

  static std::int64_t nextDeviceId(pqxx::transaction_base& tx);
  static bool memberExists(pqxx::transaction_base& tx, std::int64_t memberId);
  static void insert(pqxx::transaction_base& tx, const DeviceRow& d);
  // Sets revoked_at; false when the member has no such live device.
  static bool revoke(pqxx::transaction_base& tx, std::int64_t memberId, std::int64_t deviceId);
  // An imported fob still held by member 0, locked until the transaction ends.
  static std::optional<DeviceRow> unclaimedFobForUpdate(pqxx::transaction_base& tx, const std::string& claimSha256);
  static void deleteUnclaimed(pqxx::transaction_base& tx, std::int64_t deviceId);
  static bool fobImported(pqxx::transaction_base& tx, const std::string& externalRef);
  static std::map<std::string, bool> currentConsents(pqxx::transaction_base& tx, std::int64_t memberId);
  static void addConsent(pqxx::transaction_base& tx, std::int64_t memberId, const std::string& purpose, bool granted,
                         const std::string& source);
};

}  // namespace aisle::engine
