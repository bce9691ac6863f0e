-- Question: whose cost grew or fell since last month, and who are the top clients of a month?
-- One row per client x calendar month x currency where the client had usage that month or the
-- month before, for months fetched for the client (so a client that stopped shows its drop to 0).
-- previous_month_cost is NULL when no day of the month before was fetched for the client.
-- rank_in_month: 1 = the highest cost of that month and currency (ties share a rank).
-- cost_change_pct is a ratio, not money: DECIMAL / DECIMAL is a DOUBLE in DuckDB, so it is
-- divided last and rounded to DECIMAL(18, 2); NULL when the month before cost nothing.
-- month_complete / previous_month_complete: every day of that month fetched for the client.
CREATE OR REPLACE VIEW client_cost_change_monthly AS
WITH monthly AS (
    SELECT
        client_id,
        CAST(date_trunc('month', usage_date) AS DATE) AS month,
        currency,
        sum(total_price)                              AS cost
    FROM usage_daily
    GROUP BY ALL
),
pairs AS (
    SELECT client_id, month, currency FROM monthly
    UNION
    SELECT client_id, CAST(month + INTERVAL 1 MONTH AS DATE), currency FROM monthly
),
compared AS (
    SELECT
        p.client_id,
        p.month,
        p.currency,
        coalesce(cur.cost, 0)                                  AS cost,
        CASE WHEN prev_cov.client_id IS NOT NULL THEN coalesce(prev.cost, 0) END
                                                               AS previous_month_cost,
        cov.month_complete,
        coalesce(prev_cov.month_complete, false)               AS previous_month_complete
    FROM pairs AS p
    JOIN client_month_coverage AS cov USING (client_id, month)
    LEFT JOIN monthly AS cur USING (client_id, month, currency)
    LEFT JOIN monthly AS prev
      ON prev.client_id = p.client_id
     AND prev.currency = p.currency
     AND prev.month = CAST(p.month - INTERVAL 1 MONTH AS DATE)
    LEFT JOIN client_month_coverage AS prev_cov
      ON prev_cov.client_id = p.client_id
     AND prev_cov.month = CAST(p.month - INTERVAL 1 MONTH AS DATE)
)
SELECT
    x.client_id,
    c.name                                                          AS client_name,
    x.month,
    x.currency,
    x.cost,
    x.previous_month_cost,
    x.cost - x.previous_month_cost                                  AS cost_change,
    CAST(round((x.cost - x.previous_month_cost) / nullif(x.previous_month_cost, 0) * 100, 2)
        AS DECIMAL(18, 2))                                          AS cost_change_pct,
    rank() OVER (PARTITION BY x.month, x.currency ORDER BY x.cost DESC) AS rank_in_month,
    x.month_complete,
    x.previous_month_complete
FROM compared AS x
LEFT JOIN clients AS c USING (client_id);
