/*
 * Word tables for the seeder. Mostly ordinary retail data, deliberately mixed with what exports
 * must survive: non-ASCII UTF-8 (é, ü, ø, ł, 中文), apostrophes, commas, quotes, newlines, and
 * text starting with '=', '+', '-', '@' or a tab (spreadsheet formula injection, docs/reference.md §7.2).
 * The "odd" tables are the awkward ones; the generators use them for a small, fixed share of
 * rows so that even a small seed contains each of them.
 */
#include "seed/seed_int.h"

#define LIST(a)                         \
    {                                   \
        (a), sizeof(a) / sizeof((a)[0]) \
    }

const struct tw_seed_name tw_seed_first_names[] = {
    { "Emma", "emma" },
    { "Noah", "noah" },
    { "Sophie", "sophie" },
    { "Daan", "daan" },
    { "Julia", "julia" },
    { "Lucas", "lucas" },
    { "Mila", "mila" },
    { "Sem", "sem" },
    { "Tess", "tess" },
    { "Finn", "finn" },
    { "Anna", "anna" },
    { "Pieter", "pieter" },
    { "Eva", "eva" },
    { "Thomas", "thomas" },
    { "Laura", "laura" },
    { "James", "james" },
    { "Charlotte", "charlotte" },
    { "Oliver", "oliver" },
    { "Amelia", "amelia" },
    { "Mohammed", "mohammed" },
    { "Fatima", "fatima" },
    { "Youssef", "youssef" },
    { "Aisha", "aisha" },
    { "Marco", "marco" },
    { "Giulia", "giulia" },
    { "Luca", "luca" },
    { "Sofia", "sofia" },
    { "Hans", "hans" },
    { "Greta", "greta" },
    { "Pierre", "pierre" },
    { "Camille", "camille" },
    { "Ana", "ana" },
    { "Diego", "diego" },
    { "Kenji", "kenji" },
    { "Yuki", "yuki" },
    { "Priya", "priya" },
    { "Arjun", "arjun" },
    { "Zoë", "zoe" },
    { "Jürgen", "juergen" },
    { "José", "jose" },
    { "Émilie", "emilie" },
    { "Søren", "soren" },
    { "Łukasz", "lukasz" },
    { "Björn", "bjorn" },
    { "Siobhán", "siobhan" },
    { "Ünal", "unal" },
    { "伟", "wei" },
    { "芳", "fang" },
};
const size_t tw_seed_n_first_names = sizeof(tw_seed_first_names) / sizeof(tw_seed_first_names[0]);

const struct tw_seed_name tw_seed_last_names[] = {
    { "de Jong", "dejong" },
    { "Jansen", "jansen" },
    { "de Vries", "devries" },
    { "van den Berg", "vandenberg" },
    { "Bakker", "bakker" },
    { "Visser", "visser" },
    { "Smit", "smit" },
    { "Meijer", "meijer" },
    { "Dijkstra", "dijkstra" },
    { "Hendriks", "hendriks" },
    { "Peeters", "peeters" },
    { "Maes", "maes" },
    { "Smith", "smith" },
    { "Jones", "jones" },
    { "Williams", "williams" },
    { "Brown", "brown" },
    { "Taylor", "taylor" },
    { "Patel", "patel" },
    { "Rossi", "rossi" },
    { "Bianchi", "bianchi" },
    { "Dubois", "dubois" },
    { "Kowalski", "kowalski" },
    { "Andersson", "andersson" },
    { "Nielsen", "nielsen" },
    { "Kim", "kim" },
    { "Sato", "sato" },
    { "El Amrani", "elamrani" },
    { "Novák", "novak" },
    { "Müller", "mueller" },
    { "Schröder", "schroeder" },
    { "García", "garcia" },
    { "Fernández", "fernandez" },
    { "Lefèvre", "lefevre" },
    { "Nowak", "nowak" },
    { "O'Brien", "obrien" },
    { "Ó Súilleabháin", "osuilleabhain" },
    { "Yılmaz", "yilmaz" },
    { "Öztürk", "ozturk" },
    { "Nguyễn", "nguyen" },
    { "王", "wang" },
    { "李", "li" },
    { "张", "zhang" },
};
const size_t tw_seed_n_last_names = sizeof(tw_seed_last_names) / sizeof(tw_seed_last_names[0]);

/* Paired by index: user k of the odd ones gets first[k] and last[k]. */
const struct tw_seed_name tw_seed_odd_first[] = {
    { "=HYPERLINK(\"http://example.com\",\"x\")", "formula" },
    { "+31 Anna", "plus" },
    { "-Bob", "minus" },
    { "@Carla", "at" },
    { "\tDirk", "tab" },
    { "Anne, Marie", "comma" },
    { "Jean \"JJ\"", "quote" },
    { "Line\nBreak", "newline" },
    { "Zoë-Chloé", "zoechloe" },
    { "明", "ming" },
};
const struct tw_seed_name tw_seed_odd_last[] = {
    { "Formula", "formula" },
    { "=1+2", "onetwo" },
    { "+Plus", "plus" },
    { "-Minus", "minus" },
    { "@home", "home" },
    { "Smith, Jr.", "smith" },
    { "O'Neil \"the Quiet\"", "oneil" },
    { "Two\r\nLines", "lines" },
    { "Ünlü Straße", "unlu" },
    { "中文名字", "zhongwen" },
};
const size_t tw_seed_n_odd_names = sizeof(tw_seed_odd_first) / sizeof(tw_seed_odd_first[0]);

/* size sets: 0 clothing, 1 shoes, 2 weights, 3 none (size NULL) */
static const char *const sizes_clothing[] = { "XS", "S", "M", "L", "XL" };
static const char *const sizes_shoes[] = { "38", "39", "40", "41", "42", "43", "44", "45" };
static const char *const sizes_weight[] = { "250g", "500g", "1kg" };
const struct tw_seed_list tw_seed_size_sets[] = {
    LIST(sizes_clothing),
    LIST(sizes_shoes),
    LIST(sizes_weight),
    { NULL, 0 },
};

const struct tw_seed_noun tw_seed_nouns[] = {
    { "T-Shirt", "apparel", "piece", 0 },   { "Hoodie", "apparel", "piece", 0 },
    { "Jeans", "apparel", "piece", 0 },     { "Rain Jacket", "apparel", "piece", 0 },
    { "Socks", "apparel", "pair", 0 },      { "Sneakers", "footwear", "pair", 1 },
    { "Boots", "footwear", "pair", 1 },     { "Backpack", "accessories", "piece", 3 },
    { "Scarf", "accessories", "piece", 3 }, { "Coffee Beans", "food", "kg", 2 },
    { "Green Tea", "food", "kg", 2 },       { "Chocolate Bar", "food", "piece", 3 },
    { "Water Bottle", "home", "piece", 3 }, { "Candle", "home", "piece", 3 },
    { "Yoga Mat", "sport", "piece", 3 },    { "Running Shorts", "sport", "piece", 0 },
};
const size_t tw_seed_n_nouns = sizeof(tw_seed_nouns) / sizeof(tw_seed_nouns[0]);

static const char *const brands[] = {
    "Nordlys",    "Vélo",      "Kaffa", "Urban Fox", "Bärenstark",
    "Maison Léa", "Tidewater", "Kōzan", "Greenleaf", "Atlas & Co",
};
static const char *const adjectives[] = {
    "Classic", "Slim",        "Organic",  "Everyday", "Premium",
    "Vintage", "Lightweight", "Recycled", "Cosy",     "Sport",
};
static const char *const colours[] = {
    "Black", "White", "Navy", "Olive", "Bordeaux", "Sand", "Grey", "Crème", "Forest Green",
};
static const char *const odd_products[] = {
    "=SUM(A1:A9) Mug", "+Plus Size Tee",   "-20% Bundle", "@Home Slippers", "Socks, 3-pack",
    "\"Gift\" Box",    "Café Crème Beans", "Müsli Bar",   "中文 T恤",       "Two-line\nLabel",
};
static const char *const odd_descriptions[] = {
    "Soft \"brushed\" cotton, machine washable at 30°C.",
    "Line one.\nLine two.\r\nLine three.",
    "=cmd|' /C calc'!A0",
    "+31 (0)20 123 4567 for questions",
    "-",
    "@brand on Instagram, for updates",
    "Crème brûlée scent; très doux, naïve façade",
    "Größe fällt klein aus. Übergrößen erhältlich.",
    "舒适的棉质T恤，适合日常穿着。",
    "Tab\tseparated, 'single' and \"double\" quotes",
};
/* Weighted by repetition: most members live near the stores. */
static const char *const countries[] = {
    "NL", "NL", "NL", "NL", "NL", "DE", "DE", "DE", "GB", "GB", "GB", "BE", "BE",
    "FR", "FR", "ES", "IT", "US", "US", "IE", "AT", "SE", "DK", "PL", "CN", "TR",
};
static const char *const cities[] = {
    "AMS", "RTM", "UTR", "LON", "MAN", "PAR", "BER", "MAD", "NYC", "BRU",
};
static const char *const payments[] = {
    "card", "card", "card", "card", "cash", "cash", "ideal", "paypal", "gift_card", "apple_pay",
};
/* Campaign k has campaign_id 101 + k in every chain. */
static const char *const campaigns[] = {
    "Welcome bonus",
    "Birthday treat",
    "Spring Sale, 20% off",
    "\"Double points\" weekend",
    "=Loyalty+Cashback",
    "-5 off your next visit",
    "@Instagram followers",
    "Rentrée: café offert",
    "Größer sparen",
    "春节特惠",
    "Black Friday\nEarly access",
    "+10 points",
};
static const char *const odd_ledger[] = {
    "=Adjustment by support",
    "Correction, see ticket #42",
    "Refund \"goodwill\"",
    "Remboursement reçu, merci",
    "退款",
    "Manual\nadjustment",
    "+Bonus",
    "-Reversal",
    "@support",
};
/* All have two decimals, so money is always INTEGER cents (schema convention). */
static const char *const currencies[] = { "EUR", "GBP", "USD" };

const struct tw_seed_list tw_seed_brands = LIST(brands);
const struct tw_seed_list tw_seed_adjectives = LIST(adjectives);
const struct tw_seed_list tw_seed_colours = LIST(colours);
const struct tw_seed_list tw_seed_odd_products = LIST(odd_products);
const struct tw_seed_list tw_seed_odd_descriptions = LIST(odd_descriptions);
const struct tw_seed_list tw_seed_countries = LIST(countries);
const struct tw_seed_list tw_seed_cities = LIST(cities);
const struct tw_seed_list tw_seed_payments = LIST(payments);
const struct tw_seed_list tw_seed_campaigns = LIST(campaigns);
const struct tw_seed_list tw_seed_odd_ledger = LIST(odd_ledger);
const struct tw_seed_list tw_seed_currencies = LIST(currencies);
