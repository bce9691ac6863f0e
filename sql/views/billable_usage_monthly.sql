-- Question: which messages and cost does each client's month hold per category, counted once?
-- One row per client x month x currency x category. The direction and pricing families are two
-- cuts of the same messages: on a client-day that fills both, only the pricing categories count,
-- so a month's categories add up to its usage_daily cost.
CREATE OR REPLACE VIEW billable_usage_monthly AS
WITH counted AS (
    SELECT *
    FROM usage_by_category
    QUALIFY category_family = 'pricing'
        OR count(*) FILTER (WHERE category_family = 'pricing')
           OVER (PARTITION BY client_id, usage_date) = 0
)
SELECT
    client_id,
    CAST(date_trunc('month', usage_date) AS DATE) AS month,
    currency,
    category,
    CAST(sum(quantity) AS BIGINT)                 AS quantity,
    CAST(sum(paid_quantity) AS BIGINT)            AS paid_quantity,
    sum(price)                                    AS cost
FROM counted
GROUP BY ALL;
