-- Question: where do a day's categories not add up to that day's totals?
-- Each category_family filled on a client x day (direction, pricing) must sum to usage_daily's
-- quantity, paid_quantity and total_price; one row per client x day x family that does not
-- (a family without a usage_daily row counts as a mismatch against NULL totals).
CREATE OR REPLACE VIEW usage_family_mismatches AS
WITH family_sums AS (
    SELECT
        client_id,
        usage_date,
        category_family,
        CAST(sum(quantity) AS BIGINT) AS quantity,
        CAST(sum(paid_quantity) AS BIGINT) AS paid_quantity,
        sum(price)         AS price
    FROM usage_by_category
    GROUP BY ALL
)
SELECT
    f.client_id,
    f.usage_date,
    f.category_family,
    u.quantity           AS daily_quantity,
    f.quantity           AS family_quantity,
    u.paid_quantity      AS daily_paid_quantity,
    f.paid_quantity      AS family_paid_quantity,
    u.total_price        AS daily_total_price,
    f.price              AS family_price
FROM family_sums AS f
LEFT JOIN usage_daily AS u USING (client_id, usage_date)
WHERE u.client_id IS NULL
   OR coalesce(u.quantity, 0) <> coalesce(f.quantity, 0)
   OR coalesce(u.paid_quantity, 0) <> coalesce(f.paid_quantity, 0)
   OR coalesce(u.total_price, 0) <> coalesce(f.price, 0);
