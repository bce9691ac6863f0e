-- Question: how does the partner's daily cost move, per currency, smoothed and month to date?
-- One row per UTC day x currency, for every day from the first to the last fetched day (any
-- client) and every currency with usage: days without usage have cost 0, and so do days nobody
-- fetched (clients_fetched = 0 says so). avg_cost_7d is the cost of the 7 days ending that day
-- / 7 (NULL for the first 6 days); DECIMAL / INTEGER gives a DOUBLE in DuckDB, so it is rounded
-- back to DECIMAL(38, 6): an average to read a trend by, not an amount anybody is invoiced.
-- cost_month_to_date is exact. month_complete: see month_coverage.
CREATE OR REPLACE VIEW daily_cost_by_currency AS
WITH days AS (
    SELECT CAST(d.day AS DATE) AS usage_date
    FROM (SELECT min(usage_date) AS first_day, max(usage_date) AS last_day FROM usage_coverage) AS r,
         generate_series(r.first_day, r.last_day, INTERVAL 1 DAY) AS d(day)
),
spine AS (
    SELECT d.usage_date, c.currency
    FROM days AS d, (SELECT DISTINCT currency FROM usage_daily) AS c
),
daily AS (
    SELECT
        usage_date,
        currency,
        count(*)                      AS clients_with_usage,
        CAST(sum(quantity) AS BIGINT) AS quantity,
        sum(total_price)              AS cost
    FROM usage_daily
    GROUP BY ALL
),
fetched AS (
    SELECT usage_date, count(*) AS clients_fetched FROM usage_coverage GROUP BY ALL
),
filled AS (
    SELECT
        s.usage_date,
        s.currency,
        CAST(date_trunc('month', s.usage_date) AS DATE) AS month,
        coalesce(d.clients_with_usage, 0)               AS clients_with_usage,
        coalesce(f.clients_fetched, 0)                  AS clients_fetched,
        coalesce(d.quantity, 0)                         AS quantity,
        coalesce(d.cost, CAST(0 AS DECIMAL(38, 10)))    AS cost
    FROM spine AS s
    LEFT JOIN daily AS d USING (usage_date, currency)
    LEFT JOIN fetched AS f USING (usage_date)
)
SELECT
    x.usage_date,
    x.currency,
    x.month,
    x.clients_with_usage,
    x.clients_fetched,
    x.quantity,
    x.cost,
    CASE WHEN count(*) OVER last_7 = 7
        THEN CAST(round(sum(x.cost) OVER last_7 / 7, 6) AS DECIMAL(38, 6))
    END                                                 AS avg_cost_7d,
    sum(x.cost) OVER (
        PARTITION BY x.currency, x.month ORDER BY x.usage_date
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    )                                                   AS cost_month_to_date,
    coalesce(mc.month_complete, false)                  AS month_complete
FROM filled AS x
LEFT JOIN month_coverage AS mc USING (month)
WINDOW last_7 AS (PARTITION BY x.currency ORDER BY x.usage_date ROWS BETWEEN 6 PRECEDING AND CURRENT ROW);
