-- redemptions.store_id and redemptions.campaign_id stop being foreign keys, as products did in 0002.
--
-- Why: every sale the tills send carries its loyalty rewards (two a sale in the NCR sample), and each
-- redemption row checked its store and its campaign with a query of its own, locking the same store
-- and campaign rows for every sale. Measured on 80,000 rows (PostgreSQL 15, this machine, in psql):
-- 1.20 s with all four keys, 0.54 s without these two, 0.23 s without any: the two checks were 8 us
-- a row, more than the row itself. In the benches (3 runs each, interleaved with the commit before):
-- the database's CPU a sale at 10 sales a POST 0.183 ms instead of 0.192, and the import 12-15% more
-- sales a second.
--
-- What still holds: nothing deletes stores or campaigns (marketers end a campaign by its status and
-- dates), and every writer of redemptions takes these ids from rows it has just read: the
-- pos-adapter from its store cache and a lookup of campaigns by external_ref, the engine's loader
-- from the campaigns of the same load (it refuses a campaign id not among them). The member's key
-- stays (erasure cascades through it), and so does the coupon's.
ALTER TABLE redemptions DROP CONSTRAINT redemptions_store_id_fkey;
ALTER TABLE redemptions DROP CONSTRAINT redemptions_campaign_id_fkey;
