-- The source (retail) database in PostgreSQL (source.driver: postgresql; docs/sources.md): the
-- same tables and columns as the SQLite source (source_schema.sql), with PostgreSQL's types.
-- `taskwheel seed` creates it; operators may point source.dsn at their own database with
-- this shape (a read-only role is enough for exports). Conventions:
--   * every table has chain_id; an export only ever reads the task's chain;
--   * column names are exactly docs/reference.md §7.1's;
--   * date-times are timestamptz (exported in UTC, whole seconds: sub-second digits are
--     dropped), dates are date;
--   * money is bigint minor units (1250 = 12.50), so nothing ever passes through a float;
--   * booleans are boolean; a missing value is NULL; ids are bigint.
-- The plugins also accept integer/smallint for bigint, varchar/char(n) for text, timestamp
-- (read as UTC) for timestamptz and integers for boolean (docs/sources.md).

CREATE TABLE IF NOT EXISTS users (
    id bigint PRIMARY KEY, chain_id bigint NOT NULL,
    entity_code text, username text, firstname text, lastname text, gender text,
    birthday date, country_code text, store_id bigint, created_date timestamptz,
    last_modified timestamptz, spaaza_opted_in boolean, mailing_list_opted_in boolean,
    loyalty_status text, rfm_recency bigint, rfm_frequency bigint, rfm_monetary bigint,
    wallet_balance bigint);
CREATE INDEX IF NOT EXISTS users_chain ON users(chain_id, id);

CREATE TABLE IF NOT EXISTS transactions (
    id bigint PRIMARY KEY, chain_id bigint NOT NULL,
    retailer_basket_code text, timestamp timestamptz, type text, user_id bigint,
    store_code text, currency text, subtotal bigint, shipping_charge bigint,
    total_value bigint, payment_method text, employee_code text);
CREATE INDEX IF NOT EXISTS transactions_chain ON transactions(chain_id, id);
CREATE INDEX IF NOT EXISTS transactions_chain_time ON transactions(chain_id, timestamp);

-- The nested `items` list of a transaction, in line order (position).
CREATE TABLE IF NOT EXISTS transaction_items (
    transaction_id bigint NOT NULL, chain_id bigint NOT NULL, position integer NOT NULL,
    retailer_product_code text, barcode text, name text, quantity bigint,
    sale_price bigint, original_price bigint, basket_item_subtotal bigint,
    item_is_promotional boolean,
    PRIMARY KEY (transaction_id, position));

CREATE TABLE IF NOT EXISTS vouchers (
    id bigint PRIMARY KEY, chain_id bigint NOT NULL,
    user_id bigint, campaign_id bigint, campaign_name text, type text, status text,
    amount bigint, amount_redeemed bigint, currency text, created_date timestamptz,
    date_time_claimed timestamptz, date_time_redeemed timestamptz, expiry_date date,
    deleted boolean NOT NULL DEFAULT false);  -- deleted vouchers are never exported
CREATE INDEX IF NOT EXISTS vouchers_chain ON vouchers(chain_id, id);

CREATE TABLE IF NOT EXISTS wallet_ledger (
    id bigint PRIMARY KEY, chain_id bigint NOT NULL,
    user_id bigint, timestamp timestamptz, type text, amount bigint, balance_after bigint,
    currency text, campaign_id bigint, basket_id bigint, description text);
CREATE INDEX IF NOT EXISTS wallet_ledger_chain ON wallet_ledger(chain_id, id);

CREATE TABLE IF NOT EXISTS products (
    id bigint PRIMARY KEY, chain_id bigint NOT NULL,
    owner_code text, name text, description text, brand text, category text, price bigint,
    cost_price bigint, unit text, is_promotional boolean, web_url text,
    created_date timestamptz);
CREATE INDEX IF NOT EXISTS products_chain ON products(chain_id, id);

CREATE TABLE IF NOT EXISTS product_variants (
    id bigint PRIMARY KEY, chain_id bigint NOT NULL,
    product_id bigint, owner_code text, size text, colour text, price bigint, barcode text,
    image_url text, created_date timestamptz);
CREATE INDEX IF NOT EXISTS product_variants_chain ON product_variants(chain_id, id);
