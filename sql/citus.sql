-- Distribute the schema on Citus (run once, after migrating, on the coordinator):
--   psql "$AISLE_DB" -f sql/citus.sql
-- Catalog tables are replicated to every node; member-owned tables are sharded by member_id and
-- co-located, so a member's rows (and the joins between them) live on one node.
SELECT create_reference_table('stores');
SELECT create_reference_table('categories');
SELECT create_reference_table('products');
SELECT create_reference_table('zones');
SELECT create_reference_table('zone_categories');
SELECT create_reference_table('gateways');
SELECT create_reference_table('campaigns');
SELECT create_reference_table('campaign_products');
SELECT create_reference_table('data_loads');

SELECT create_distributed_table('members', 'member_id');
SELECT create_distributed_table('cards', 'member_id', colocate_with => 'members');
SELECT create_distributed_table('consents', 'member_id', colocate_with => 'members');
SELECT create_distributed_table('devices', 'member_id', colocate_with => 'members');
SELECT create_distributed_table('transactions', 'member_id', colocate_with => 'members');
SELECT create_distributed_table('transaction_lines', 'member_id', colocate_with => 'members');
SELECT create_distributed_table('quarantined_transactions', 'member_id', colocate_with => 'members');
SELECT create_distributed_table('campaign_members', 'member_id', colocate_with => 'members');
SELECT create_distributed_table('coupons', 'member_id', colocate_with => 'members');
SELECT create_distributed_table('redemptions', 'member_id', colocate_with => 'members');
SELECT create_distributed_table('proximity_events', 'member_id', colocate_with => 'members');
SELECT create_distributed_table('outbox', 'member_id', colocate_with => 'members');
SELECT create_distributed_table('trigger_decisions', 'member_id', colocate_with => 'members');
SELECT create_distributed_table('member_product_models', 'member_id', colocate_with => 'members');
SELECT create_distributed_table('member_category_models', 'member_id', colocate_with => 'members');
SELECT create_distributed_table('member_profiles', 'member_id', colocate_with => 'members');
