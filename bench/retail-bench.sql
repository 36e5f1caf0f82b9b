-- The hand-written SQL equivalent of bench/retail-bench.yaml, for the sqlite3 shell.
-- It materialises the same membership (general segment and tactical tags per customer).
--
-- RFM scores use the engine's tie-respecting formula 1 + floor(5·L/N), with L = RANK() − 1:
-- NTILE(5) would split customers with equal values across tiles, and give different counts.
-- Money is added in whole cents (the demo's amounts have two decimals), so that totals are
-- exact, as strata's are: a float total() can differ in the last bit from order to order,
-- and at 10M customers that moved a few customers across an RFM cut or a beauty_spend tie.
DROP TABLE IF EXISTS bench_membership;
CREATE TABLE bench_membership AS
WITH agg AS (
  SELECT customer_id,
         count(*) AS n_orders,
         sum(CAST(round(amount * 100) AS INTEGER)) / 100.0 AS revenue,
         max(order_date) AS last_order,
         min(order_date) AS first_order,
         sum(order_date > date('2026-11-01', '-90 days')) AS recent_orders,
         coalesce(sum(CASE WHEN category IN ('skincare', 'makeup', 'fragrance', 'haircare')
                           THEN CAST(round(amount * 100) AS INTEGER) END), 0) / 100.0 AS beauty_spend,
         sum(amount >= 300) AS big_orders
  FROM orders
  WHERE order_date <= '2026-11-01'
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
                       / count(last_order) OVER () END AS r,
         1 + (5 * (RANK() OVER (ORDER BY n_orders) - 1)) / count(*) OVER () AS f,
         1 + (5 * (RANK() OVER (ORDER BY revenue) - 1)) / count(*) OVER () AS m
  FROM base
),
placed AS (
  SELECT *,
         CASE
           WHEN n_orders = 0 THEN 'prospects'
           WHEN r >= 4 AND f >= 4 AND m >= 4 THEN 'champions'
           WHEN f >= 4 THEN 'loyal'
           WHEN r >= 4 AND f <= 2 AND julianday('2026-11-01') - julianday(first_order) <= 180 THEN 'new_potential'
           WHEN r <= 2 AND f >= 3 AND m >= 3 THEN 'at_risk'
           WHEN r = 1 AND m >= 4 THEN 'cant_lose'
           WHEN r = 3 THEN 'sleeping'
           ELSE 'lost'
         END AS segment
  FROM scored
)
SELECT customer_id, segment,
       trim(
         CASE segment
           WHEN 'prospects' THEN
             CASE WHEN email_opt_in THEN 'prospects_opted_in;' ELSE '' END ||
             CASE WHEN signup_date > date('2026-11-01', '-30 days') THEN 'prospects_new;' ELSE '' END
           WHEN 'champions' THEN
             CASE WHEN beauty_spend > revenue * 0.5 THEN 'champions_beauty;' ELSE '' END ||
             CASE WHEN big_orders >= 3 THEN 'champions_big_spenders;' ELSE '' END ||
             CASE WHEN recent_orders >= 3 THEN 'champions_burst;' ELSE '' END
           WHEN 'loyal' THEN
             CASE WHEN loyalty_card THEN 'loyal_card;' ELSE '' END ||
             CASE WHEN r <= 2 THEN 'loyal_cooling;' ELSE '' END
           WHEN 'new_potential' THEN
             CASE WHEN revenue >= 200 THEN 'new_potential_big_first;' ELSE '' END
           WHEN 'at_risk' THEN
             CASE WHEN m = 5 THEN 'at_risk_vip;' ELSE '' END ||
             CASE WHEN email_opt_in THEN 'at_risk_reachable;' ELSE '' END
           WHEN 'cant_lose' THEN
             CASE WHEN beauty_spend > 0 THEN 'cant_lose_beauty;' ELSE '' END
           WHEN 'sleeping' THEN
             CASE WHEN n_orders = 1 THEN 'sleeping_one_order;' ELSE '' END
           ELSE
             CASE WHEN julianday('2026-11-01') - julianday(last_order) > 365 THEN 'lost_long_ago;' ELSE '' END ||
             CASE WHEN NOT email_opt_in THEN 'lost_opted_out;' ELSE '' END
         END, ';') AS tactical
FROM placed;
SELECT segment, count(*) FROM bench_membership GROUP BY segment ORDER BY segment;
