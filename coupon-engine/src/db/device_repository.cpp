#include "db/device_repository.h"

#include "aisle/common/hmac.h"

namespace aisle::engine {
namespace {

// Holders keep the text alive while the statement runs; nullptr is NULL.
struct Param {
  std::optional<std::string> text;
  const char* get() const { return text ? text->c_str() : nullptr; }
};
template <typename T>
Param num(const std::optional<T>& v) {
  return v ? Param{std::to_string(*v)} : Param{};
}
Param str(const std::optional<std::string>& v) { return Param{v}; }
// bytea in its text input form (\x + hex), so it can share the const char* path.
Param bytes(const std::optional<std::string>& v) { return v ? Param{"\\x" + toHex(*v)} : Param{}; }

template <typename T>
std::optional<T> opt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<T>();
}

}  // namespace

void DeviceRepository::prepare(pqxx::connection& c) {
  c.prepare("dev_next_id", "SELECT nextval(pg_get_serial_sequence('devices', 'device_id'))");
  c.prepare("dev_member_exists", "SELECT 1 FROM members WHERE member_id = $1");
  c.prepare("dev_insert",
            "INSERT INTO devices (member_id, device_id, kind, push_provider, push_token, eid_key_enc, eid_k, "
            "eid_time_offset_s, ibeacon_uuid, ibeacon_major, ibeacon_minor, altbeacon_id, external_ref, "
            "claim_code_sha256) VALUES ($1, $2, $3, $4, $5, $6::bytea, $7::smallint, $8::bigint, $9::uuid, "
            "$10::int, $11::int, $12, $13, $14)");
  c.prepare("dev_revoke",
            "UPDATE devices SET revoked_at = now() WHERE member_id = $1 AND device_id = $2 AND revoked_at IS NULL");
  c.prepare("dev_unclaimed_fob",
            "SELECT device_id, eid_key_enc, eid_k, eid_time_offset_s, ibeacon_uuid::text, ibeacon_major, "
            "ibeacon_minor, altbeacon_id, external_ref FROM devices WHERE member_id = 0 AND claim_code_sha256 = $1 "
            "AND revoked_at IS NULL FOR UPDATE");
  c.prepare("dev_delete_unclaimed", "DELETE FROM devices WHERE member_id = 0 AND device_id = $1");
  c.prepare("dev_fob_imported", "SELECT 1 FROM devices WHERE external_ref = $1 LIMIT 1");
  // Fobs are imported by several operators at once at worst: serialize on the fob's id.
  c.prepare("dev_lock_ref", "SELECT pg_advisory_xact_lock(hashtext('fob'), hashtext($1))");
  c.prepare("dev_consents", "SELECT purpose, granted FROM current_consents WHERE member_id = $1");
  c.prepare("dev_add_consent", "INSERT INTO consents (member_id, purpose, granted, source) VALUES ($1, $2, $3, $4)");
}

std::int64_t DeviceRepository::nextDeviceId(pqxx::transaction_base& tx) {
  return tx.exec_prepared1("dev_next_id")[0].as<std::int64_t>();
}

bool DeviceRepository::memberExists(pqxx::transaction_base& tx, std::int64_t memberId) {
  return !tx.exec_prepared("dev_member_exists", memberId).empty();
}

void DeviceRepository::insert(pqxx::transaction_base& tx, const DeviceRow& d) {
  const Param provider = str(d.pushProvider), token = str(d.pushToken), key = bytes(d.eidKeyEnc), k = num(d.eidK),
              offset = num(d.eidTimeOffsetS), uuid = str(d.ibeaconUuid), major = num(d.ibeaconMajor),
              minor = num(d.ibeaconMinor), alt = str(d.altbeaconId), ref = str(d.externalRef),
              claim = str(d.claimCodeSha256);
  if (d.externalRef) tx.exec_prepared("dev_lock_ref", *d.externalRef);
  tx.exec_prepared0("dev_insert", d.memberId, d.deviceId, d.kind, provider.get(), token.get(), key.get(), k.get(),
                    offset.get(), uuid.get(), major.get(), minor.get(), alt.get(), ref.get(), claim.get());
}

bool DeviceRepository::revoke(pqxx::transaction_base& tx, std::int64_t memberId, std::int64_t deviceId) {
  return tx.exec_prepared0("dev_revoke", memberId, deviceId).affected_rows() == 1;
}

std::optional<DeviceRow> DeviceRepository::unclaimedFobForUpdate(pqxx::transaction_base& tx,
                                                                 const std::string& claimSha256) {
  auto r = tx.exec_prepared("dev_unclaimed_fob", claimSha256);
  if (r.empty()) return std::nullopt;
  const auto& row = r[0];
  DeviceRow d;
  d.memberId = 0;
  d.deviceId = row[0].as<std::int64_t>();
  d.kind = "fob";
  if (!row[1].is_null()) d.eidKeyEnc = pqxx::binarystring(row[1]).str();
  d.eidK = opt<int>(row[2]);
  d.eidTimeOffsetS = opt<std::int64_t>(row[3]);
  d.ibeaconUuid = opt<std::string>(row[4]);
  d.ibeaconMajor = opt<int>(row[5]);
  d.ibeaconMinor = opt<int>(row[6]);
  d.altbeaconId = opt<std::string>(row[7]);
  d.externalRef = opt<std::string>(row[8]);
  return d;
}

void DeviceRepository::deleteUnclaimed(pqxx::transaction_base& tx, std::int64_t deviceId) {
  tx.exec_prepared0("dev_delete_unclaimed", deviceId);
}

bool DeviceRepository::fobImported(pqxx::transaction_base& tx, const std::string& externalRef) {
  tx.exec_prepared("dev_lock_ref", externalRef);
  return !tx.exec_prepared("dev_fob_imported", externalRef).empty();
}

std::map<std::string, bool> DeviceRepository::currentConsents(pqxx::transaction_base& tx, std::int64_t memberId) {
  std::map<std::string, bool> out;
  for (const auto& row : tx.exec_prepared("dev_consents", memberId)) out[row[0].as<std::string>()] = row[1].as<bool>();
  return out;
}

void DeviceRepository::addConsent(pqxx::transaction_base& tx, std::int64_t memberId, const std::string& purpose,
                                  bool granted, const std::string& source) {
  tx.exec_prepared0("dev_add_consent", memberId, purpose, granted, source);
}

}  // namespace aisle::engine
