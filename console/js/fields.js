// The filterable fields of the six shipped indexes and their segment field_type (reference
// §7.1; generated from the plugins' field tables). Only a hint for the form: the service
// checks every rule against the index actually loaded and names the field when it disagrees.
export const INDEX_FIELDS = {
  users: {
    id: 'number', entity_code: 'keyword', username: 'keyword', firstname: 'text', lastname: 'text',
    gender: 'keyword', birthday: 'date', country_code: 'keyword', store_id: 'number',
    created_date: 'date', last_modified: 'date', spaaza_opted_in: 'boolean',
    mailing_list_opted_in: 'boolean', loyalty_status: 'keyword', rfm_recency: 'number',
    rfm_frequency: 'number', rfm_monetary: 'number', wallet_balance: 'number',
  },
  transactions: {
    id: 'number', retailer_basket_code: 'keyword', timestamp: 'date', type: 'keyword',
    user_id: 'number', store_code: 'keyword', currency: 'keyword', subtotal: 'number',
    shipping_charge: 'number', total_value: 'number', payment_method: 'keyword',
    employee_code: 'keyword',
    'items.retailer_product_code': 'keyword', 'items.barcode': 'keyword', 'items.name': 'text',
    'items.quantity': 'number', 'items.sale_price': 'number', 'items.original_price': 'number',
    'items.basket_item_subtotal': 'number', 'items.item_is_promotional': 'boolean',
  },
  vouchers: {
    id: 'number', user_id: 'number', campaign_id: 'number', campaign_name: 'text', type: 'keyword',
    status: 'keyword', amount: 'number', amount_redeemed: 'number', currency: 'keyword',
    created_date: 'date', date_time_claimed: 'date', date_time_redeemed: 'date', expiry_date: 'date',
  },
  'wallet-ledger': {
    id: 'number', user_id: 'number', timestamp: 'date', type: 'keyword', amount: 'number',
    balance_after: 'number', currency: 'keyword', campaign_id: 'number', basket_id: 'number',
    description: 'text',
  },
  products: {
    id: 'number', owner_code: 'keyword', name: 'text', description: 'text', brand: 'keyword',
    category: 'keyword', price: 'number', cost_price: 'number', unit: 'keyword',
    is_promotional: 'boolean', web_url: 'keyword', created_date: 'date',
  },
  'product-variants': {
    id: 'number', product_id: 'number', owner_code: 'keyword', size: 'keyword', colour: 'keyword',
    price: 'number', barcode: 'keyword', image_url: 'keyword', created_date: 'date',
  },
};

export const INDEXES = Object.keys(INDEX_FIELDS);
export const FORMATS = ['csv', 'json', 'ndjson', 'tsv'];
