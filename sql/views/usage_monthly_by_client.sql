-- Question: how much did each client use and spend per calendar month (UTC)?
-- One row per client x month x currency: amounts in different currencies are never added together.
-- month_complete: every day of the month was fetched (client_month_coverage); a month still
-- running never is, so its figures are a month to date. Oldest month first.
CREATE OR REPLACE VIEW usage_monthly_by_client AS
WITH monthly AS (
    SELECT
        client_id,
        CAST(date_trunc('month', usage_date) AS DATE) AS month,
        currency,
        count(*)                              AS days_with_usage,
        CAST(sum(quantity) AS BIGINT)         AS quantity,
        CAST(sum(paid_quantity) AS BIGINT)    AS paid_quantity,
        CAST(sum(free_quantity) AS BIGINT)    AS free_quantity,
        CAST(sum(free_tier) AS BIGINT)        AS free_tier,
        CAST(sum(free_entry_point) AS BIGINT) AS free_entry_point,
        sum(total_price)                      AS total_price
    FROM usage_daily
    GROUP BY ALL
)
SELECT
    m.client_id,
    c.name                                AS client_name,
    m.month,
    m.currency,
    m.days_with_usage,
    m.quantity,
    m.paid_quantity,
    m.free_quantity,
    m.free_tier,
    m.free_entry_point,
    m.total_price,
    coalesce(k.month_complete, false)     AS month_complete
FROM monthly AS m
LEFT JOIN clients AS c USING (client_id)
LEFT JOIN client_month_coverage AS k USING (client_id, month)
ORDER BY m.month, m.client_id, m.currency;
