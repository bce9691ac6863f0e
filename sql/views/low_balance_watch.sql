-- Question: which prepaid (direct-paid) clients run out of balance soon?
-- One row per direct-paid client: its latest balance snapshot shows a balance > 0 (partner-paid
-- clients show 0). avg_daily_cost_7d is the cost in the balance's currency of the 7 days ending at
-- the client's latest fetched day (usage_coverage), / 7: days without usage count as 0, and so do
-- days of those 7 not fetched (days_fetched_7d says how many were).
-- DECIMAL / INTEGER gives a DOUBLE in DuckDB, so the average (an estimate nobody is invoiced) is
-- rounded back to DECIMAL(38, 6); days_left = balance / avg_daily_cost_7d is computed as
-- balance x 7 / cost_7d from the exact sums (NULL when the average is 0), and below_threshold
-- (days_left < PIPELINE_LOW_BALANCE_DAYS) compares balance x 7 with threshold x cost_7d, exactly.
CREATE OR REPLACE VIEW low_balance_watch AS
WITH latest_balance AS (
    SELECT *
    FROM balance_snapshots
    QUALIFY row_number() OVER (PARTITION BY client_id ORDER BY observed_at DESC) = 1
),
latest_day AS (
    SELECT client_id, max(usage_date) AS last_day FROM usage_coverage GROUP BY client_id
),
recent AS (
    SELECT
        b.client_id,
        d.last_day,
        coalesce(sum(u.total_price), 0) AS cost_7d
    FROM latest_balance AS b
    LEFT JOIN latest_day AS d USING (client_id)
    LEFT JOIN usage_daily AS u
      ON u.client_id = b.client_id
     AND u.currency = b.currency
     AND u.usage_date BETWEEN d.last_day - 6 AND d.last_day
    WHERE b.balance > 0
    GROUP BY ALL
),
fetched AS (
    SELECT d.client_id, count(*) AS days_fetched_7d
    FROM latest_day AS d
    JOIN usage_coverage AS cov
      ON cov.client_id = d.client_id AND cov.usage_date BETWEEN d.last_day - 6 AND d.last_day
    GROUP BY ALL
)
SELECT
    b.client_id,
    c.name                                                           AS client_name,
    b.currency,
    b.balance,
    b.observed_at,
    CAST(round(r.cost_7d / 7, 6) AS DECIMAL(38, 6))                  AS avg_daily_cost_7d,
    CASE WHEN r.cost_7d > 0 THEN round(b.balance * 7 / r.cost_7d, 2) END AS days_left,
    coalesce(b.balance * 7 < s.low_balance_days * r.cost_7d, false)  AS below_threshold,
    b.last_renewal_date,
    b.last_renewal_amount,
    r.cost_7d,
    r.last_day                                                       AS last_fetched_day,
    coalesce(f.days_fetched_7d, 0)                                   AS days_fetched_7d,
    s.low_balance_days
FROM latest_balance AS b
JOIN recent AS r USING (client_id)
LEFT JOIN fetched AS f USING (client_id)
LEFT JOIN clients AS c USING (client_id)
CROSS JOIN finance_settings_in_force AS s;
