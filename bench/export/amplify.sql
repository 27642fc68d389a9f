-- Grow a `taskwheel seed` database (chain 1764) to at least $rows rows in each of the six
-- indexes, for bench/export/run.sh with SEED=1: the seeder's proportions (per 10 users: 100
-- transactions, 30 vouchers, 66 ledger entries, 1 product, 3 variants) would need 3.4M users
-- for 1M product variants. Each table's rows are copied with new ids (id + k * max(id)) until
-- it holds $rows, so every index exports the seeder's realistic values (UTF-8 names, quotes,
-- formula-like cells, nulls) at 1M+ rows. Transactions copy their items with them.
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
BEGIN;
CREATE TEMP TABLE k(k INTEGER PRIMARY KEY);
INSERT INTO k WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000)
SELECT x FROM c;

CREATE TEMP TABLE m AS SELECT
  (SELECT max(id) FROM users) AS users, (SELECT count(*) FROM users) AS n_users,
  (SELECT max(id) FROM transactions) AS tx, (SELECT count(*) FROM transactions) AS n_tx,
  (SELECT max(id) FROM vouchers) AS vouchers, (SELECT count(*) FROM vouchers) AS n_vouchers,
  (SELECT max(id) FROM wallet_ledger) AS ledger, (SELECT count(*) FROM wallet_ledger) AS n_ledger,
  (SELECT max(id) FROM products) AS products, (SELECT count(*) FROM products) AS n_products,
  (SELECT max(id) FROM product_variants) AS variants,
  (SELECT count(*) FROM product_variants) AS n_variants;

INSERT INTO users
SELECT u.id + k.k * m.users, u.chain_id, u.entity_code, u.username, u.firstname, u.lastname,
       u.gender, u.birthday, u.country_code, u.store_id, u.created_date, u.last_modified,
       u.spaaza_opted_in, u.mailing_list_opted_in, u.loyalty_status, u.rfm_recency,
       u.rfm_frequency, u.rfm_monetary, u.wallet_balance
FROM m, k, users u WHERE u.id <= m.users AND k.k * m.n_users < $rows
ORDER BY k.k, u.id LIMIT max(0, $rows - (SELECT n_users FROM m));

INSERT INTO transactions
SELECT t.id + k.k * m.tx, t.chain_id, t.retailer_basket_code, t.timestamp, t.type, t.user_id,
       t.store_code, t.currency, t.subtotal, t.shipping_charge, t.total_value, t.payment_method,
       t.employee_code
FROM m, k, transactions t WHERE t.id <= m.tx AND k.k * m.n_tx < $rows
ORDER BY k.k, t.id LIMIT max(0, $rows - (SELECT n_tx FROM m));
INSERT INTO transaction_items
SELECT i.transaction_id + k.k * m.tx, i.chain_id, i.position, i.retailer_product_code, i.barcode,
       i.name, i.quantity, i.sale_price, i.original_price, i.basket_item_subtotal,
       i.item_is_promotional
FROM m, k, transaction_items i
WHERE k.k * m.n_tx < $rows AND i.transaction_id + k.k * m.tx IN (SELECT id FROM transactions);

INSERT INTO vouchers
SELECT v.id + k.k * m.vouchers, v.chain_id, v.user_id, v.campaign_id, v.campaign_name, v.type,
       v.status, v.amount, v.amount_redeemed, v.currency, v.created_date, v.date_time_claimed,
       v.date_time_redeemed, v.expiry_date, v.deleted
FROM m, k, vouchers v WHERE v.id <= m.vouchers AND k.k * m.n_vouchers < $rows
ORDER BY k.k, v.id LIMIT max(0, $rows - (SELECT n_vouchers FROM m));

INSERT INTO wallet_ledger
SELECT w.id + k.k * m.ledger, w.chain_id, w.user_id, w.timestamp, w.type, w.amount,
       w.balance_after, w.currency, w.campaign_id, w.basket_id, w.description
FROM m, k, wallet_ledger w WHERE w.id <= m.ledger AND k.k * m.n_ledger < $rows
ORDER BY k.k, w.id LIMIT max(0, $rows - (SELECT n_ledger FROM m));

INSERT INTO products
SELECT p.id + k.k * m.products, p.chain_id, p.owner_code, p.name, p.description, p.brand,
       p.category, p.price, p.cost_price, p.unit, p.is_promotional, p.web_url, p.created_date
FROM m, k, products p WHERE p.id <= m.products AND k.k * m.n_products < $rows
ORDER BY k.k, p.id LIMIT max(0, $rows - (SELECT n_products FROM m));

INSERT INTO product_variants
SELECT v.id + k.k * m.variants, v.chain_id, v.product_id, v.owner_code, v.size, v.colour,
       v.price, v.barcode, v.image_url, v.created_date
FROM m, k, product_variants v WHERE v.id <= m.variants AND k.k * m.n_variants < $rows
ORDER BY k.k, v.id LIMIT max(0, $rows - (SELECT n_variants FROM m));
COMMIT;
ANALYZE;
