-- bench/retail-bench.sql in DuckDB's SQL, run by bench/duckdb/query.mjs on the customers and
-- orders tables it has loaded. It materialises the same membership (general segment and
-- tactical tags per customer) in an in-memory table, then counts every segment and tag.
--
-- Differences from the SQLite version, each to give exactly strata's counts:
-- - amounts are DECIMAL(18, 9) and their sums DECIMAL(38, 9), added exactly, as strata adds
--   them (docs/language.md, "Sums are exact"); a float sum could flip a revenue tie;
-- - RFM scores use the same tie-respecting formula 1 + floor(5·L/N), with L = RANK() − 1
--   (NTILE(5) would split customers with equal values across tiles): `//` is DuckDB's
--   integer division, since `/` divides as floating point there;
-- - days are counted with date_diff; a date minus an integer is that many days earlier.
CREATE OR REPLACE TABLE bench_membership AS
WITH agg AS (
  SELECT customer_id,
         count(*) AS n_orders,
         sum(amount) AS revenue,
         max(order_date) AS last_order,
         min(order_date) AS first_order,
         count(*) FILTER (WHERE order_date > DATE '2026-11-01' - 90) AS recent_orders,
         sum(amount) FILTER (WHERE category IN ('skincare', 'makeup', 'fragrance', 'haircare')) AS beauty_spend,
         count(*) FILTER (WHERE amount >= 300) AS big_orders
  FROM orders
  WHERE order_date <= DATE '2026-11-01'
  GROUP BY customer_id
),
base AS (
  SELECT c.customer_id, c.email_opt_in, c.loyalty_card, c.signup_date,
         coalesce(a.n_orders, 0) AS n_orders, coalesce(a.revenue, 0) AS revenue,
         a.last_order, a.first_order, coalesce(a.recent_orders, 0) AS recent_orders,
         coalesce(a.beauty_spend, 0) AS beauty_spend, coalesce(a.big_orders, 0) AS big_orders
  FROM customers c LEFT JOIN agg a USING (customer_id)
),
scored AS (
  SELECT *,
         CASE WHEN last_order IS NULL THEN NULL
              ELSE 1 + (5 * (RANK() OVER (PARTITION BY last_order IS NULL ORDER BY last_order) - 1))
                       // count(last_order) OVER () END AS r,
         1 + (5 * (RANK() OVER (ORDER BY n_orders) - 1)) // count(*) OVER () AS f,
         1 + (5 * (RANK() OVER (ORDER BY revenue) - 1)) // count(*) OVER () AS m
  FROM base
),
placed AS (
  SELECT *,
         CASE
           WHEN n_orders = 0 THEN 'prospects'
           WHEN r >= 4 AND f >= 4 AND m >= 4 THEN 'champions'
           WHEN f >= 4 THEN 'loyal'
           WHEN r >= 4 AND f <= 2 AND date_diff('day', first_order, DATE '2026-11-01') <= 180 THEN 'new_potential'
           WHEN r <= 2 AND f >= 3 AND m >= 3 THEN 'at_risk'
           WHEN r = 1 AND m >= 4 THEN 'cant_lose'
           WHEN r = 3 THEN 'sleeping'
           ELSE 'lost'
         END AS segment
  FROM scored
)
-- concat_ws leaves out the tags whose CASE gives null (no ELSE).
SELECT customer_id, segment,
       CASE segment
         WHEN 'prospects' THEN concat_ws(';',
           CASE WHEN email_opt_in THEN 'prospects_opted_in' END,
           CASE WHEN signup_date > DATE '2026-11-01' - 30 THEN 'prospects_new' END)
         WHEN 'champions' THEN concat_ws(';',
           CASE WHEN beauty_spend > revenue * 0.5 THEN 'champions_beauty' END,
           CASE WHEN big_orders >= 3 THEN 'champions_big_spenders' END,
           CASE WHEN recent_orders >= 3 THEN 'champions_burst' END)
         WHEN 'loyal' THEN concat_ws(';',
           CASE WHEN loyalty_card THEN 'loyal_card' END,
           CASE WHEN r <= 2 THEN 'loyal_cooling' END)
         WHEN 'new_potential' THEN concat_ws(';',
           CASE WHEN revenue >= 200 THEN 'new_potential_big_first' END)
         WHEN 'at_risk' THEN concat_ws(';',
           CASE WHEN m = 5 THEN 'at_risk_vip' END,
           CASE WHEN email_opt_in THEN 'at_risk_reachable' END)
         WHEN 'cant_lose' THEN concat_ws(';',
           CASE WHEN beauty_spend > 0 THEN 'cant_lose_beauty' END)
         WHEN 'sleeping' THEN concat_ws(';',
           CASE WHEN n_orders = 1 THEN 'sleeping_one_order' END)
         ELSE concat_ws(';',
           CASE WHEN date_diff('day', last_order, DATE '2026-11-01') > 365 THEN 'lost_long_ago' END,
           CASE WHEN NOT email_opt_in THEN 'lost_opted_out' END)
       END AS tactical
FROM placed;

-- Every general segment's and every tactical tag's size, compared with strata's report.
SELECT segment, count(*) AS customers FROM bench_membership GROUP BY segment
UNION ALL
SELECT tag, count(*) FROM (SELECT unnest(string_split(tactical, ';')) AS tag FROM bench_membership)
WHERE tag != '' GROUP BY tag;
