-- Question: how much did each client use and spend per calendar month (UTC)?
-- One row per client x month x currency: amounts in different currencies are never added together.
CREATE OR REPLACE VIEW usage_monthly_by_client AS
SELECT
    u.client_id,
    c.name                                  AS client_name,
    CAST(date_trunc('month', u.usage_date) AS DATE) AS month,
    u.currency,
    count(*)                                AS days_with_usage,
    CAST(sum(u.quantity) AS BIGINT) AS quantity,
    CAST(sum(u.paid_quantity) AS BIGINT) AS paid_quantity,
    CAST(sum(u.free_quantity) AS BIGINT) AS free_quantity,
    CAST(sum(u.free_tier) AS BIGINT) AS free_tier,
    CAST(sum(u.free_entry_point) AS BIGINT) AS free_entry_point,
    sum(u.total_price)                      AS total_price
FROM usage_daily AS u
LEFT JOIN clients AS c USING (client_id)
GROUP BY ALL;
