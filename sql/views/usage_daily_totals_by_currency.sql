-- Question: what did all clients together use and spend each UTC day, per currency?
-- One row per day x currency: amounts in different currencies are never added together.
CREATE OR REPLACE VIEW usage_daily_totals_by_currency AS
SELECT
    usage_date,
    currency,
    count(DISTINCT client_id) AS clients_with_usage,
    sum(quantity)             AS quantity,
    sum(paid_quantity)        AS paid_quantity,
    sum(free_quantity)        AS free_quantity,
    sum(free_tier)            AS free_tier,
    sum(free_entry_point)     AS free_entry_point,
    sum(total_price)          AS total_price
FROM usage_daily
GROUP BY ALL;
