-- The source (retail) database that the six built-in index plugins read (docs/reference.md §7.1).
-- `taskwheel seed` creates it; operators may point source.path at their own copy with this
-- shape. Conventions, which the plugins, the seeder and the tests all rely on:
--   * every table has chain_id; an export only ever reads the task's chain;
--   * column names are exactly docs/reference.md §7.1's, so a plain SQL query can check an export;
--   * date-times are TEXT 'YYYY-MM-DDTHH:MM:SSZ' (UTC, whole seconds), dates TEXT 'YYYY-MM-DD':
--     both sort as text, so range rules push down as plain comparisons;
--   * money is INTEGER minor units (1250 = 12.50; all seeded currencies have 2 decimals),
--     so nothing ever passes through a binary float;
--   * booleans are INTEGER 0/1; a missing value is NULL.

CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, chain_id INTEGER NOT NULL,
    entity_code TEXT, username TEXT, firstname TEXT, lastname TEXT, gender TEXT,
    birthday TEXT, country_code TEXT, store_id INTEGER, created_date TEXT, last_modified TEXT,
    spaaza_opted_in INTEGER, mailing_list_opted_in INTEGER, loyalty_status TEXT,
    rfm_recency INTEGER, rfm_frequency INTEGER, rfm_monetary INTEGER, wallet_balance INTEGER);
CREATE INDEX IF NOT EXISTS users_chain ON users(chain_id, id);

CREATE TABLE IF NOT EXISTS transactions (
    id INTEGER PRIMARY KEY, chain_id INTEGER NOT NULL,
    retailer_basket_code TEXT, timestamp TEXT, type TEXT, user_id INTEGER, store_code TEXT,
    currency TEXT, subtotal INTEGER, shipping_charge INTEGER, total_value INTEGER,
    payment_method TEXT, employee_code TEXT);
CREATE INDEX IF NOT EXISTS transactions_chain ON transactions(chain_id, id);
CREATE INDEX IF NOT EXISTS transactions_chain_time ON transactions(chain_id, timestamp);

-- The nested `items` list of a transaction, in line order (position).
CREATE TABLE IF NOT EXISTS transaction_items (
    transaction_id INTEGER NOT NULL, chain_id INTEGER NOT NULL, position INTEGER NOT NULL,
    retailer_product_code TEXT, barcode TEXT, name TEXT, quantity INTEGER,
    sale_price INTEGER, original_price INTEGER, basket_item_subtotal INTEGER,
    item_is_promotional INTEGER,
    PRIMARY KEY (transaction_id, position)) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS vouchers (
    id INTEGER PRIMARY KEY, chain_id INTEGER NOT NULL,
    user_id INTEGER, campaign_id INTEGER, campaign_name TEXT, type TEXT, status TEXT,
    amount INTEGER, amount_redeemed INTEGER, currency TEXT, created_date TEXT,
    date_time_claimed TEXT, date_time_redeemed TEXT, expiry_date TEXT,
    deleted INTEGER NOT NULL DEFAULT 0);  -- deleted vouchers are never exported
CREATE INDEX IF NOT EXISTS vouchers_chain ON vouchers(chain_id, id);

CREATE TABLE IF NOT EXISTS wallet_ledger (
    id INTEGER PRIMARY KEY, chain_id INTEGER NOT NULL,
    user_id INTEGER, timestamp TEXT, type TEXT, amount INTEGER, balance_after INTEGER,
    currency TEXT, campaign_id INTEGER, basket_id INTEGER, description TEXT);
CREATE INDEX IF NOT EXISTS wallet_ledger_chain ON wallet_ledger(chain_id, id);

CREATE TABLE IF NOT EXISTS products (
    id INTEGER PRIMARY KEY, chain_id INTEGER NOT NULL,
    owner_code TEXT, name TEXT, description TEXT, brand TEXT, category TEXT, price INTEGER,
    cost_price INTEGER, unit TEXT, is_promotional INTEGER, web_url TEXT, created_date TEXT);
CREATE INDEX IF NOT EXISTS products_chain ON products(chain_id, id);

CREATE TABLE IF NOT EXISTS product_variants (
    id INTEGER PRIMARY KEY, chain_id INTEGER NOT NULL,
    product_id INTEGER, owner_code TEXT, size TEXT, colour TEXT, price INTEGER, barcode TEXT,
    image_url TEXT, created_date TEXT);
CREATE INDEX IF NOT EXISTS product_variants_chain ON product_variants(chain_id, id);
