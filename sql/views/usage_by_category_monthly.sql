-- Question: which conversation / message categories drive usage and cost each month?
-- One row per month x currency x category. Compare categories only within one category_family:
-- 'direction' and 'pricing' are two cuts of the same messages, so summing across families double-counts.
CREATE OR REPLACE VIEW usage_by_category_monthly AS
SELECT
    CAST(date_trunc('month', usage_date) AS DATE) AS month,
    currency,
    category_family,
    category,
    count(DISTINCT client_id) AS clients,
    CAST(sum(quantity) AS BIGINT) AS quantity,
    CAST(sum(paid_quantity) AS BIGINT) AS paid_quantity,
    sum(price)                AS price
FROM usage_by_category
GROUP BY ALL;
