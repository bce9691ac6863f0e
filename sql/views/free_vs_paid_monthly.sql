-- Question: how much of the traffic is free, and through which door (free tier or free entry
-- point), month by month?
-- One row per calendar month x currency with usage (quantities are message or conversation
-- counts; currency is kept so the view lines up with the money views). free_share is a ratio:
-- free_quantity / quantity, divided last (a DOUBLE in DuckDB) and rounded to DECIMAL(18, 4).
-- month_complete: see month_coverage.
CREATE OR REPLACE VIEW free_vs_paid_monthly AS
WITH monthly AS (
    SELECT
        CAST(date_trunc('month', usage_date) AS DATE) AS month,
        currency,
        count(DISTINCT client_id)                     AS clients_with_usage,
        CAST(sum(quantity) AS BIGINT)                 AS quantity,
        CAST(sum(paid_quantity) AS BIGINT)            AS paid_quantity,
        CAST(sum(free_quantity) AS BIGINT)            AS free_quantity,
        CAST(sum(free_tier) AS BIGINT)                AS free_tier,
        CAST(sum(free_entry_point) AS BIGINT)         AS free_entry_point,
        sum(total_price)                              AS cost
    FROM usage_daily
    GROUP BY ALL
)
SELECT
    m.*,
    CAST(round(m.free_quantity / nullif(m.quantity, 0), 4) AS DECIMAL(18, 4)) AS free_share,
    coalesce(mc.month_complete, false)                                         AS month_complete
FROM monthly AS m
LEFT JOIN month_coverage AS mc USING (month);
