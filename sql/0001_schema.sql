-- aisleone schema v1.
--
-- Citus rule (DESIGN.md): every member-owned table carries member_id, and member_id is part of its
-- primary key and of every unique constraint, so the schema distributes unchanged by member_id
-- (sql/citus.sql). Catalog tables (stores, zones, gateways, products, categories, campaigns) become
-- reference tables. Lookups by another key (card number at the till, coupon code, natural key of a
-- transaction) use plain, non-unique indexes; their uniqueness is enforced by the writing
-- repository under an advisory lock on that key.
--
-- Money is integer minor units (bigint, *_minor); quantities are NUMERIC. Never float.

-- ---------------------------------------------------------------- catalog (reference tables)

CREATE TABLE stores (
  store_id      bigint PRIMARY KEY,
  org_id        text NOT NULL DEFAULT 'default',
  external_ref  text,                     -- the POS's RetailStoreID
  name          text NOT NULL,
  time_zone     text NOT NULL,            -- IANA name; zone-less POS times are local to it
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, external_ref)
);

CREATE TABLE categories (
  category_id             bigint PRIMARY KEY,
  name                    text NOT NULL UNIQUE,
  department              text,
  default_replenish_days  integer CHECK (default_replenish_days > 0)
);

CREATE TABLE products (
  product_id       bigint PRIMARY KEY,
  gtin             char(14) UNIQUE CHECK (gtin ~ '^[0-9]{14}$'),
  name             text NOT NULL,
  brand            text,
  category_id      bigint REFERENCES categories,
  department       text,
  size             text,
  price_minor      bigint CHECK (price_minor >= 0),
  manufacturer_id  bigint
);
CREATE INDEX products_category ON products (category_id);

CREATE TABLE zones (
  zone_id   bigint PRIMARY KEY,
  store_id  bigint NOT NULL REFERENCES stores,
  name      text NOT NULL,
  kind      text NOT NULL DEFAULT 'aisle' CHECK (kind IN ('entrance', 'aisle', 'checkout', 'other')),
  UNIQUE (store_id, name)
);

CREATE TABLE zone_categories (
  zone_id      bigint NOT NULL REFERENCES zones ON DELETE CASCADE,
  category_id  bigint NOT NULL REFERENCES categories,
  PRIMARY KEY (zone_id, category_id)
);

CREATE TABLE gateways (
  gateway_id   text PRIMARY KEY,
  store_id     bigint NOT NULL REFERENCES stores,
  role         text NOT NULL CHECK (role IN ('scanner', 'hub', 'both')),
  key_id       text NOT NULL UNIQUE,        -- HMAC key id used on the uplink
  key_secret_enc bytea,                     -- the shared secret, encrypted with the master key
  last_seen_at timestamptz,
  health       jsonb
);

CREATE TABLE campaigns (
  campaign_id         bigint PRIMARY KEY,
  external_ref        text UNIQUE,
  name                text NOT NULL,
  type                text NOT NULL CHECK (type IN ('percent_off', 'amount_off', 'buy_x_get_y', 'points', 'external')),
  target_kind         text NOT NULL CHECK (target_kind IN ('product', 'brand', 'category', 'products', 'basket')),
  target_ref          text,                -- product id, brand or category id, per target_kind
  percent_off         numeric(5,2) CHECK (percent_off > 0 AND percent_off <= 100),
  amount_off_minor    bigint CHECK (amount_off_minor > 0),
  buy_qty             integer CHECK (buy_qty > 0),
  get_qty             integer CHECK (get_qty > 0),
  points              integer CHECK (points > 0),
  valid_from          timestamptz NOT NULL,
  valid_to            timestamptz NOT NULL,
  budget_minor        bigint CHECK (budget_minor >= 0),      -- NULL: no money cap
  budget_count        integer CHECK (budget_count >= 0),     -- NULL: no count cap
  committed_minor     bigint NOT NULL DEFAULT 0,             -- value of coupons issued so far
  issued_count        integer NOT NULL DEFAULT 0,
  per_member_limit    integer NOT NULL DEFAULT 1 CHECK (per_member_limit > 0),
  holdout_pct         numeric(5,2) NOT NULL DEFAULT 0 CHECK (holdout_pct >= 0 AND holdout_pct < 100),
  eligibility         jsonb NOT NULL DEFAULT '{}',           -- segments, stores, consent purposes
  status              text NOT NULL DEFAULT 'active' CHECK (status IN ('draft', 'active', 'paused', 'ended')),
  created_at          timestamptz NOT NULL DEFAULT now(),
  CHECK (valid_to > valid_from),
  CHECK (budget_minor IS NULL OR committed_minor <= budget_minor),
  CHECK (budget_count IS NULL OR issued_count <= budget_count)
);

-- Which products a campaign's coupon (by its own UPC, as manufacturers print them) applies to.
CREATE TABLE campaign_products (
  campaign_id  bigint NOT NULL REFERENCES campaigns ON DELETE CASCADE,
  coupon_upc   text NOT NULL,
  product_id   bigint NOT NULL REFERENCES products,
  PRIMARY KEY (campaign_id, coupon_upc, product_id)
);
CREATE INDEX campaign_products_product ON campaign_products (product_id);

-- ---------------------------------------------------------------- members (distributed by member_id)

CREATE TABLE members (
  member_id     bigint PRIMARY KEY,
  household_id  bigint,
  external_ref  text,
  demographics  jsonb NOT NULL DEFAULT '{}',
  home_store_id bigint REFERENCES stores,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX members_household ON members (household_id);
CREATE INDEX members_external_ref ON members (external_ref);

CREATE TABLE cards (
  member_id   bigint NOT NULL REFERENCES members ON DELETE CASCADE,
  number      text NOT NULL CHECK (number ~ '^[0-9]{6,20}$'),  -- normalized, leading zeros kept
  status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked', 'lost', 'replaced')),
  issued_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (member_id, number)
);
CREATE INDEX cards_number ON cards (number);  -- the swipe lookup

-- Consent history: one row per change; the current state per purpose is the latest row.
CREATE TABLE consents (
  member_id    bigint NOT NULL REFERENCES members ON DELETE CASCADE,
  consent_id   bigserial,
  purpose      text NOT NULL CHECK (purpose IN ('marketing', 'proximity', 'push')),
  granted      boolean NOT NULL,
  recorded_at  timestamptz NOT NULL DEFAULT now(),
  source       text NOT NULL DEFAULT 'unknown',   -- app, store, web, import
  PRIMARY KEY (member_id, consent_id)
);
CREATE INDEX consents_latest ON consents (member_id, purpose, recorded_at DESC, consent_id DESC);

CREATE VIEW current_consents AS
  SELECT DISTINCT ON (member_id, purpose) member_id, purpose, granted, recorded_at
  FROM consents ORDER BY member_id, purpose, recorded_at DESC, consent_id DESC;

CREATE TABLE devices (
  member_id         bigint NOT NULL REFERENCES members ON DELETE CASCADE,
  device_id         bigserial,
  kind              text NOT NULL CHECK (kind IN ('android', 'ios', 'fob', 'other')),
  push_provider     text CHECK (push_provider IN ('fcm', 'webhook', 'sse')),
  push_token        text,
  -- Eddystone-EID: the 16-byte identity key, AES-256-GCM encrypted with the master key.
  eid_key_enc       bytea,
  eid_key_nonce     bytea,
  eid_k             smallint CHECK (eid_k BETWEEN 0 AND 15),
  eid_time_offset_s bigint,                 -- beacon clock at registration minus server clock
  ibeacon_uuid      uuid,
  ibeacon_major     integer CHECK (ibeacon_major BETWEEN 0 AND 65535),
  ibeacon_minor     integer CHECK (ibeacon_minor BETWEEN 0 AND 65535),
  altbeacon_id      text,
  external_ref      text,                   -- the fob's id from aisleone-fwconfig provision
  claim_code_sha256 text,                   -- a shopper claims an imported fob with its code
  registered_at     timestamptz NOT NULL DEFAULT now(),
  revoked_at        timestamptz,
  PRIMARY KEY (member_id, device_id)
);
CREATE INDEX devices_ibeacon ON devices (ibeacon_uuid, ibeacon_major, ibeacon_minor) WHERE ibeacon_uuid IS NOT NULL;
CREATE INDEX devices_altbeacon ON devices (altbeacon_id) WHERE altbeacon_id IS NOT NULL;
CREATE INDEX devices_external_ref ON devices (external_ref) WHERE external_ref IS NOT NULL;
CREATE INDEX devices_claim ON devices (claim_code_sha256) WHERE claim_code_sha256 IS NOT NULL;

-- ---------------------------------------------------------------- purchases

-- member_id 0 is the anonymous member: purchases without a (known) loyalty card.
CREATE TABLE transactions (
  member_id       bigint NOT NULL REFERENCES members,
  transaction_id  bigserial,
  org_id          text NOT NULL,
  store_id        bigint NOT NULL REFERENCES stores,
  workstation_id  text NOT NULL,
  business_day    date NOT NULL,
  sequence_no     text NOT NULL,
  occurred_at     timestamptz NOT NULL,    -- when the sale ended, as an instant
  card_number     text,                    -- the loyalty card presented (never a payment card)
  content_hash    bytea NOT NULL,          -- sha256 of the normalized content: same key + other hash = conflict
  is_training     boolean NOT NULL DEFAULT false,
  is_cancelled    boolean NOT NULL DEFAULT false,
  is_suspended    boolean NOT NULL DEFAULT false,
  is_post_voided  boolean NOT NULL DEFAULT false,
  total_minor     bigint NOT NULL DEFAULT 0,
  currency        char(3) NOT NULL DEFAULT 'USD',
  source          text NOT NULL,           -- poslog, json, import:completejourney, ...
  raw_payload     text,
  received_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (member_id, transaction_id),
  UNIQUE (member_id, org_id, store_id, workstation_id, business_day, sequence_no)
);
CREATE INDEX transactions_natural_key ON transactions (org_id, store_id, workstation_id, business_day, sequence_no);
CREATE INDEX transactions_member_time ON transactions (member_id, occurred_at);

CREATE TABLE transaction_lines (
  member_id        bigint NOT NULL,
  transaction_id   bigint NOT NULL,
  line_no          integer NOT NULL,
  product_id       bigint REFERENCES products,
  gtin             char(14),
  item_code        text,                     -- the POS's own item id when it is not a GTIN (PLU, SKU)
  quantity         numeric(12,3) NOT NULL,   -- decimal: weighed items; negative on returns
  unit_price_minor bigint,
  amount_minor     bigint NOT NULL,          -- extended amount actually paid for the line
  discount_minor   bigint NOT NULL DEFAULT 0,
  coupon_discount_minor bigint NOT NULL DEFAULT 0,
  is_voided        boolean NOT NULL DEFAULT false,
  is_return        boolean NOT NULL DEFAULT false,
  PRIMARY KEY (member_id, transaction_id, line_no),
  FOREIGN KEY (member_id, transaction_id) REFERENCES transactions ON DELETE CASCADE
);
CREATE INDEX transaction_lines_product ON transaction_lines (product_id);

-- POSLog with the same natural key but different content: kept aside for a person to look at.
CREATE TABLE quarantined_transactions (
  member_id       bigint NOT NULL,
  quarantine_id   bigserial,
  org_id          text NOT NULL,
  store_id        bigint NOT NULL,
  workstation_id  text NOT NULL,
  business_day    date NOT NULL,
  sequence_no     text NOT NULL,
  content_hash    bytea NOT NULL,
  reason          text NOT NULL,
  raw_payload     text,
  received_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (member_id, quarantine_id)
);
-- Every new sale looks here for its parked post-void: by natural key, not a scan of all quarantine.
CREATE INDEX quarantined_transactions_key ON quarantined_transactions (org_id, store_id, workstation_id, business_day, sequence_no);

-- ---------------------------------------------------------------- coupons

CREATE TABLE campaign_members (       -- who a campaign was addressed to (targeting lists)
  member_id    bigint NOT NULL REFERENCES members ON DELETE CASCADE,
  campaign_id  bigint NOT NULL REFERENCES campaigns ON DELETE CASCADE,
  is_holdout   boolean NOT NULL DEFAULT false,
  added_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (member_id, campaign_id)
);

CREATE TABLE coupons (
  member_id     bigint NOT NULL REFERENCES members ON DELETE CASCADE,
  coupon_id     bigserial,
  campaign_id   bigint NOT NULL REFERENCES campaigns,
  code          text NOT NULL CHECK (length(code) >= 13),  -- >= 64 random bits, base32
  state         text NOT NULL DEFAULT 'issued'
                CHECK (state IN ('issued', 'delivered', 'redeemed', 'expired', 'reversed')),
  product_id    bigint REFERENCES products,      -- the product the offer was chosen for, if any
  category_id   bigint REFERENCES categories,
  value_minor   bigint,                          -- expected face value (budget accounting)
  reason        text NOT NULL,                   -- shown to the shopper and the marketer
  store_id      bigint REFERENCES stores,        -- NULL: valid in every store
  valid_from    timestamptz NOT NULL,
  valid_to      timestamptz NOT NULL,
  issued_at     timestamptz NOT NULL DEFAULT now(),
  delivered_at  timestamptz,
  redeemed_at   timestamptz,
  batch_run     text,
  PRIMARY KEY (member_id, coupon_id),
  UNIQUE (member_id, code),
  CHECK (valid_to > valid_from)
);
CREATE INDEX coupons_code ON coupons (code);
CREATE INDEX coupons_active ON coupons (member_id, valid_to) WHERE state IN ('issued', 'delivered');
CREATE INDEX coupons_campaign ON coupons (campaign_id);
-- A batch issues a member at most one coupon per campaign and product: re-runs cannot duplicate.
CREATE UNIQUE INDEX coupons_batch_once ON coupons (member_id, campaign_id, coalesce(product_id, 0), batch_run);

CREATE TABLE redemptions (
  member_id       bigint NOT NULL REFERENCES members ON DELETE CASCADE,
  redemption_id   bigserial,
  coupon_id       bigint,                  -- our coupon; NULL for external (manufacturer) coupons
  campaign_id     bigint REFERENCES campaigns,
  coupon_upc      text,                    -- external coupon as scanned at the till
  promotion_id    text,                    -- the POS's loyalty promotion / reward id
  transaction_id  bigint,
  store_id        bigint REFERENCES stores,
  redeemed_at     timestamptz NOT NULL,
  amount_minor    bigint NOT NULL DEFAULT 0,
  status          text NOT NULL DEFAULT 'accepted' CHECK (status IN ('accepted', 'reversed', 'exception')),
  note            text,
  PRIMARY KEY (member_id, redemption_id),
  FOREIGN KEY (member_id, coupon_id) REFERENCES coupons ON DELETE CASCADE
);
-- Single use: at most one accepted redemption per coupon.
CREATE UNIQUE INDEX redemptions_single_use ON redemptions (member_id, coupon_id)
  WHERE coupon_id IS NOT NULL AND status = 'accepted';

-- ---------------------------------------------------------------- proximity and delivery

-- Resolved zone events (raw beacon ids are never stored: only members' own devices resolve).
-- Partitioned by day; a retention job drops old partitions.
CREATE TABLE proximity_events (
  member_id    bigint NOT NULL,
  event_id     text NOT NULL,                -- from the gateway: dedupe key across retries
  occurred_at  timestamptz NOT NULL,
  type         text NOT NULL CHECK (type IN ('enter', 'dwell', 'exit', 'sighting')),
  store_id     bigint NOT NULL,
  zone_id      bigint,
  gateway_id   text,
  device_id    bigint,
  confidence   real,
  received_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (member_id, event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);
CREATE TABLE proximity_events_default PARTITION OF proximity_events DEFAULT;

-- Creates the daily partitions covering [from_day, from_day + days).
CREATE FUNCTION ensure_proximity_partitions(from_day date, days integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  d date;
  made integer := 0;
  part text;
BEGIN
  FOR i IN 0 .. days - 1 LOOP
    d := from_day + i;
    part := 'proximity_events_' || to_char(d, 'YYYYMMDD');
    IF to_regclass(part) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF proximity_events FOR VALUES FROM (%L) TO (%L)',
                     part, d::timestamptz, (d + 1)::timestamptz);
      made := made + 1;
    END IF;
  END LOOP;
  RETURN made;
END $$;

-- Drops daily partitions that end before the cutoff; returns how many.
CREATE FUNCTION drop_proximity_partitions_before(cutoff date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  dropped integer := 0;
BEGIN
  FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'proximity_events'::regclass AND c.relname ~ '^proximity_events_[0-9]{8}$'
  LOOP
    IF to_date(right(r.relname, 8), 'YYYYMMDD') < cutoff THEN
      EXECUTE format('DROP TABLE %I', r.relname);
      dropped := dropped + 1;
    END IF;
  END LOOP;
  RETURN dropped;
END $$;

-- Transactional outbox: a push is written in the same transaction as the decision, then sent.
CREATE TABLE outbox (
  member_id        bigint NOT NULL REFERENCES members ON DELETE CASCADE,
  outbox_id        bigserial,
  dedupe_key       text NOT NULL,           -- one push per decision, even when re-decided
  provider         text NOT NULL CHECK (provider IN ('fcm', 'webhook', 'sse')),
  payload          jsonb NOT NULL,
  coupon_id        bigint,
  state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'dead')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  sent_at          timestamptz,
  PRIMARY KEY (member_id, outbox_id),
  UNIQUE (member_id, dedupe_key)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';

-- Every proximity/push decision with its reason, including why nothing was sent.
CREATE TABLE trigger_decisions (
  member_id    bigint NOT NULL REFERENCES members ON DELETE CASCADE,
  decision_id  bigserial,
  event_id     text,
  store_id     bigint,
  zone_id      bigint,
  decided_at   timestamptz NOT NULL DEFAULT now(),
  action       text NOT NULL CHECK (action IN ('push', 'none')),
  reason       text NOT NULL,
  coupon_id    bigint,
  PRIMARY KEY (member_id, decision_id)
);
CREATE INDEX trigger_decisions_recent ON trigger_decisions (member_id, decided_at) WHERE action = 'push';

-- ---------------------------------------------------------------- per-member models

-- Model rows are derived and rewritten by every batch, so they carry no foreign keys to the catalog:
-- those checks cost most of the batch's write time, and a row for a vanished product is harmless.
CREATE TABLE member_product_models (
  member_id            bigint NOT NULL REFERENCES members ON DELETE CASCADE,
  product_id           bigint NOT NULL,
  purchases            integer NOT NULL,
  last_purchased_at    timestamptz NOT NULL,
  interval_days        real,                 -- expected days between purchases (per unit bought)
  expected_next_at     timestamptz,
  confidence           real,
  affinity             real,                 -- next-basket score
  explanation          text,
  computed_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (member_id, product_id)
);

CREATE TABLE member_category_models (
  member_id            bigint NOT NULL REFERENCES members ON DELETE CASCADE,
  category_id          bigint NOT NULL,
  purchases            integer NOT NULL,
  last_purchased_at    timestamptz NOT NULL,
  interval_days        real,
  expected_next_at     timestamptz,
  confidence           real,
  computed_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (member_id, category_id)
);

CREATE TABLE member_profiles (
  member_id         bigint NOT NULL REFERENCES members ON DELETE CASCADE,
  segment           text,
  recency_days      integer,
  frequency         integer,
  monetary_minor    bigint,
  ltv_minor         bigint,
  last_purchase_at  timestamptz,
  modeled_through   bigint,                  -- highest transaction_id seen: incremental batch
  computed_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (member_id)
);

-- Loader bookkeeping: which data-set files were loaded, with their checksum.
CREATE TABLE data_loads (
  source      text NOT NULL,
  file        text NOT NULL,
  sha256      text NOT NULL,
  rows        bigint NOT NULL,
  loaded_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, file)
);

INSERT INTO members (member_id, external_ref) VALUES (0, 'anonymous');
