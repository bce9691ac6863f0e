-- Question: what do we invoice each client for a month, with our markup?
-- One row per client x calendar month (UTC) x currency with usage. cost is the sum of the month's
-- usage_daily.total_price; markup_pct is the client's row in client_markups with the latest
-- valid_from on or before the month (no valid_from: since always), else the default in
-- finance_settings_in_force. billable_amount = cost x (1 + markup_pct / 100), rounded to 2
-- decimals half away from zero: DuckDB's ROUND on a DECIMAL rounds half away from zero, and the
-- formula is written as cost x (100 + markup_pct) x 0.01 because DECIMAL / DECIMAL gives a DOUBLE,
-- which could move a cent, while DECIMAL x DECIMAL stays exact.
-- month_complete: every day of the month fetched for the client; otherwise the figures may grow.
CREATE OR REPLACE VIEW client_monthly_statement AS
WITH monthly AS (
    SELECT
        client_id,
        CAST(date_trunc('month', usage_date) AS DATE) AS month,
        currency,
        CAST(sum(quantity) AS BIGINT)                 AS quantity,
        CAST(sum(paid_quantity) AS BIGINT)            AS paid_quantity,
        CAST(sum(free_quantity) AS BIGINT)            AS free_quantity,
        sum(total_price)                              AS cost,
        count(*)                                      AS days_with_usage
    FROM usage_daily
    GROUP BY ALL
),
client_markup AS (
    SELECT m.client_id, m.month, m.currency, k.markup_pct, k.valid_from
    FROM monthly AS m
    JOIN client_markups AS k
      ON k.client_id = m.client_id AND (k.valid_from IS NULL OR k.valid_from <= m.month)
    QUALIFY row_number() OVER (
        PARTITION BY m.client_id, m.month, m.currency ORDER BY k.valid_from DESC NULLS LAST
    ) = 1
),
priced AS (
    SELECT
        m.*,
        coalesce(k.markup_pct, s.default_markup_pct)                   AS markup_pct,
        CASE WHEN k.markup_pct IS NULL THEN 'default' ELSE 'client' END AS markup_source,
        k.valid_from                                                   AS markup_valid_from
    FROM monthly AS m
    LEFT JOIN client_markup AS k USING (client_id, month, currency)
    CROSS JOIN finance_settings_in_force AS s
)
SELECT
    p.client_id,
    c.name                                                  AS client_name,
    p.month,
    p.currency,
    p.quantity,
    p.paid_quantity,
    p.free_quantity,
    p.cost,
    p.markup_pct,
    round(p.cost * (100 + p.markup_pct) * 0.01, 2)          AS billable_amount,
    coalesce(cov.days_covered, 0)                           AS days_covered,
    coalesce(cov.month_complete, false)                     AS month_complete,
    day(last_day(p.month))                                  AS days_in_month,
    p.days_with_usage,
    p.markup_source,
    p.markup_valid_from
FROM priced AS p
LEFT JOIN clients AS c USING (client_id)
LEFT JOIN client_month_coverage AS cov USING (client_id, month);
