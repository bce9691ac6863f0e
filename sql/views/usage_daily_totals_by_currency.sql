-- Question: what did all clients together use and spend each UTC day, per currency?
-- One row per day x currency: amounts in different currencies are never added together.
CREATE OR REPLACE VIEW usage_daily_totals_by_currency AS
SELECT
    usage_date,
    currency,
    count(DISTINCT client_id) AS clients_with_usage,
    CAST(sum(quantity) AS BIGINT) AS quantity,
    CAST(sum(paid_quantity) AS BIGINT) AS paid_quantity,
    CAST(sum(free_quantity) AS BIGINT) AS free_quantity,
    CAST(sum(free_tier) AS BIGINT) AS free_tier,
    CAST(sum(free_entry_point) AS BIGINT) AS free_entry_point,
    sum(total_price)          AS total_price
FROM usage_daily
GROUP BY ALL;
