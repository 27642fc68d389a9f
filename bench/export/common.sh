# Shared by bench/export/run.sh and bench/segment/run.sh (sourced; needs $work set):
# the sqlite3 SELECTs that produce exactly taskwheel's columns, and measure().
b2s() { echo "case when $1 is null then null when $1 then 'true' else 'false' end"; }
m2s() { echo "printf('%.2f', $1 / 100.0)"; }

users_sql="SELECT id, entity_code, username, firstname, lastname, gender, birthday, country_code,
 store_id, created_date, last_modified, $(b2s spaaza_opted_in) AS spaaza_opted_in,
 $(b2s mailing_list_opted_in) AS mailing_list_opted_in, loyalty_status, rfm_recency,
 rfm_frequency, rfm_monetary, $(m2s wallet_balance) AS wallet_balance
 FROM users WHERE chain_id = 1764 ORDER BY id;"
tx_cols="SELECT t.id, t.retailer_basket_code, t.timestamp, t.type, t.user_id, t.store_code,
 t.currency, $(m2s t.subtotal) AS subtotal, $(m2s t.shipping_charge) AS shipping_charge,
 $(m2s t.total_value) AS total_value, t.payment_method, t.employee_code,
 i.retailer_product_code AS item_retailer_product_code, i.barcode AS item_barcode,
 i.name AS item_name, i.quantity AS item_quantity, $(m2s i.sale_price) AS item_sale_price,
 $(m2s i.original_price) AS item_original_price, $(m2s i.basket_item_subtotal) AS item_subtotal,
 $(b2s i.item_is_promotional) AS item_is_promotional
 FROM transactions t LEFT JOIN transaction_items i
   ON i.transaction_id = t.id AND i.chain_id = t.chain_id"
tx_sql="$tx_cols WHERE t.chain_id = 1764 ORDER BY t.id, i.position;"

# measure LABEL OUTFILE CMD...: prints "label wall_s rss_mb bytes"
measure() {
    label=$1; out=$2; shift 2
    /usr/bin/time -v -o "$work/time.txt" "$@" > "$work/stdout.txt"
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, a, ":"); s = 0;
        for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s }' "$work/time.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$work/time.txt")
    size=$(stat -c %s $out) # may be a glob (one file)
    printf '%-38s %8.2f s %9s MB %14s bytes\n' "$label" "$wall" "$rss" "$size"
    echo "$wall"
}


# The other four indexes (bench/export/run.sh with SEED=1, whose database has all six).
vouchers_sql="SELECT id, user_id, campaign_id, campaign_name, type, status,
 $(m2s amount) AS amount, $(m2s amount_redeemed) AS amount_redeemed, currency, created_date,
 date_time_claimed, date_time_redeemed, expiry_date
 FROM vouchers WHERE chain_id = 1764 AND NOT deleted ORDER BY id;"
wallet_ledger_sql="SELECT id, user_id, timestamp, type, $(m2s amount) AS amount,
 $(m2s balance_after) AS balance_after, currency, campaign_id, basket_id, description
 FROM wallet_ledger WHERE chain_id = 1764 ORDER BY id;"
products_sql="SELECT id, owner_code, name, description, brand, category, $(m2s price) AS price,
 $(m2s cost_price) AS cost_price, unit, $(b2s is_promotional) AS is_promotional, web_url,
 created_date
 FROM products WHERE chain_id = 1764 ORDER BY id;"
product_variants_sql="SELECT id, product_id, owner_code, size, colour, $(m2s price) AS price,
 barcode, image_url, created_date
 FROM product_variants WHERE chain_id = 1764 ORDER BY id;"

# index_sql INDEX: the sqlite3 SELECT for an index name as the engine spells it.
index_sql() {
    case $1 in
    users) echo "$users_sql" ;;
    transactions) echo "$tx_sql" ;;
    vouchers) echo "$vouchers_sql" ;;
    wallet-ledger) echo "$wallet_ledger_sql" ;;
    products) echo "$products_sql" ;;
    product-variants) echo "$product_variants_sql" ;;
    esac
}

# floor_sql INDEX: the same rows and columns as the plugin reads them (no printf, no CASE),
# for bench_export_floor: stepping and converting to text only.
floor_sql() {
    case $1 in
    users) cols="entity_code, username, firstname, lastname, gender, birthday, country_code,
 store_id, created_date, last_modified, spaaza_opted_in, mailing_list_opted_in, loyalty_status,
 rfm_recency, rfm_frequency, rfm_monetary, wallet_balance" t=users ;;
    vouchers) cols="user_id, campaign_id, campaign_name, type, status, amount, amount_redeemed,
 currency, created_date, date_time_claimed, date_time_redeemed, expiry_date" t=vouchers ;;
    wallet-ledger) cols="user_id, timestamp, type, amount, balance_after, currency, campaign_id,
 basket_id, description" t=wallet_ledger ;;
    products) cols="owner_code, name, description, brand, category, price, cost_price, unit,
 is_promotional, web_url, created_date" t=products ;;
    product-variants) cols="product_id, owner_code, size, colour, price, barcode, image_url,
 created_date" t=product_variants ;;
    transactions)
        echo "SELECT t.id, t.chain_id, t.retailer_basket_code, t.timestamp, t.type, t.user_id,
 t.store_code, t.currency, t.subtotal, t.shipping_charge, t.total_value, t.payment_method,
 t.employee_code, i.retailer_product_code, i.barcode, i.name, i.quantity, i.sale_price,
 i.original_price, i.basket_item_subtotal, i.item_is_promotional
 FROM transactions t LEFT JOIN transaction_items i
   ON i.transaction_id = t.id AND i.chain_id = t.chain_id
 WHERE t.chain_id = 1764 ORDER BY t.id, i.position;"
        return ;;
    esac
    filter=""; [ "$1" = vouchers ] && filter=" AND NOT t.deleted"
    echo "SELECT t.id, t.chain_id, $(echo "$cols" | sed 's/\([a-z_]*\)\(,\|$\)/t.\1\2/g')
 FROM $t t WHERE t.chain_id = 1764$filter ORDER BY t.id;"
}
