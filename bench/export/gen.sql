-- Synthetic source rows for bench/export/run.sh when no seeded database is given: :rows
-- users and :rows transactions (0-4 items each, 2 on average) of chain 1764, plus a few rows
-- of chain 1765 so the chain filter has something to skip. Values exercise quoting (commas,
-- quotes), nulls, negative money, dates and date-times. The schema comes first (.read).
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
BEGIN;
INSERT INTO users
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $rows)
SELECT x, 1764, 'EC' || x, 'user' || x, 'First' || (x % 1000),
       CASE WHEN x % 10 = 0 THEN 'O''Brien, "Jr"' ELSE 'Lastname' || (x % 777) END,
       CASE x % 3 WHEN 0 THEN 'F' WHEN 1 THEN 'M' END,
       date('1950-01-01', '+' || (x % 20000) || ' days'), 'NL', x % 50,
       strftime('%Y-%m-%dT%H:%M:%SZ', 1600000000 + x * 37, 'unixepoch'),
       strftime('%Y-%m-%dT%H:%M:%SZ', 1700000000 + x * 11, 'unixepoch'),
       x % 2, (x / 2) % 2, CASE x % 4 WHEN 0 THEN 'gold' WHEN 1 THEN 'silver' ELSE 'bronze' END,
       x % 5 + 1, x % 7 + 1, x % 11 + 1, (x * 7919) % 100000 - 20000
FROM c;
INSERT INTO transactions
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $rows)
SELECT x, 1764, 'B-' || x, strftime('%Y-%m-%dT%H:%M:%SZ', 1700000000 + x * 13, 'unixepoch'),
       CASE WHEN x % 20 = 0 THEN 'return' ELSE 'sale' END, x % 100000 + 1, 'S' || (x % 40),
       'EUR', (x * 31) % 50000, CASE WHEN x % 3 = 0 THEN 495 END, (x * 31) % 50000 + 495,
       CASE x % 3 WHEN 0 THEN 'card' WHEN 1 THEN 'cash' END, 'EMP' || (x % 90)
FROM c;
INSERT INTO transaction_items
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $rows),
     p(n) AS (VALUES (1), (2), (3), (4))
SELECT x, 1764, n, 'SKU-' || ((x * n) % 5000), '87100' || ((x * n) % 100000),
       CASE WHEN n = 2 THEN 'Mug, "large"' ELSE 'Product ' || ((x * n) % 5000) END,
       n, 995 * n, 1200 * n, 995 * n * n, (x + n) % 2
FROM c JOIN p ON n <= x % 5;
INSERT INTO users VALUES (NULL, 1765, 'X', 'other', 'O', 'T', 'M', '1990-01-01', 'BE', 1,
       '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z', 0, 0, 'gold', 1, 1, 1, 100);
COMMIT;
ANALYZE;
