-- Question: on which days did a client cost far more than its own recent normal?
-- One row per client x UTC day x currency that is a spike. The client's normal is the median of
-- its daily cost over the 28 fetched days before that day (usage_coverage; fetched days without
-- usage count as 0, days never fetched are left out). "Far" means all of:
--   * the day's cost is more than 3 times that median,
--   * and at least 10.00 (in the currency) above it, so small clients' noise is not a spike,
--   * with at least 14 fetched days behind the median.
-- spike_ratio = cost / median is a ratio, divided last (a DOUBLE in DuckDB) and rounded to
-- DECIMAL(18, 2); NULL when the median is 0. month_complete: the day's month for the client.
CREATE OR REPLACE VIEW cost_spikes AS
WITH client_currencies AS (
    SELECT DISTINCT client_id, currency FROM usage_daily
),
client_days AS (
    SELECT
        cov.client_id,
        cov.usage_date,
        cc.currency,
        coalesce(u.total_price, CAST(0 AS DECIMAL(38, 10))) AS cost
    FROM usage_coverage AS cov
    JOIN client_currencies AS cc USING (client_id)
    LEFT JOIN usage_daily AS u USING (client_id, usage_date, currency)
),
with_normal AS (
    SELECT
        *,
        median(cost) OVER prior_28 AS median_cost_28d,
        count(*) OVER prior_28     AS baseline_days
    FROM client_days
    WINDOW prior_28 AS (
        PARTITION BY client_id, currency ORDER BY usage_date
        ROWS BETWEEN 28 PRECEDING AND 1 PRECEDING
    )
)
SELECT
    w.client_id,
    c.name                                                                 AS client_name,
    w.usage_date,
    w.currency,
    w.cost,
    w.median_cost_28d,
    w.cost - w.median_cost_28d                                             AS excess_cost,
    CAST(round(w.cost / nullif(w.median_cost_28d, 0), 2) AS DECIMAL(18, 2)) AS spike_ratio,
    w.baseline_days,
    CAST(date_trunc('month', w.usage_date) AS DATE)                        AS month,
    coalesce(cov.month_complete, false)                                    AS month_complete
FROM with_normal AS w
LEFT JOIN clients AS c USING (client_id)
LEFT JOIN client_month_coverage AS cov
  ON cov.client_id = w.client_id AND cov.month = CAST(date_trunc('month', w.usage_date) AS DATE)
WHERE w.baseline_days >= 14
  AND w.cost > 3 * w.median_cost_28d
  AND w.cost - w.median_cost_28d >= 10;
