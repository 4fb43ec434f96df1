-- transaction_lines.product_id stops being a foreign key, and loses its own index.
--
-- Why: a foreign key checks each inserted row with its own query, which also takes a FOR KEY SHARE
-- lock on the referenced row. Popular products are on most baskets, so every till's sale locked the
-- same few product rows, which PostgreSQL records as MultiXacts when several sessions hold them.
-- Measured on 200,000 lines of 20,000 sales (PostgreSQL 15, this machine): the lines took 2.85 s
-- with the key and its index, 1.25-1.36 s without either; the per-line product check alone was
-- 1.25 s of it.
--
-- What still holds: a line's product_id is only ever written from a lookup of products by GTIN
-- (pos-adapter) or from the catalog loaded before the sales (loaders), and no code updates or
-- deletes products: the catalog only grows (inserts are ON CONFLICT DO NOTHING). The line also
-- keeps its GTIN. The index served only the key's check on deleting a product; no query looks
-- lines up by product alone (the engine reads them by member). The key of a line to its
-- transaction stays.
ALTER TABLE transaction_lines DROP CONSTRAINT transaction_lines_product_id_fkey;
DROP INDEX transaction_lines_product;
