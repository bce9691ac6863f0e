-- Question: what is each month's cost made of, category by category, per currency?
-- One row per calendar month x currency x category. Direction (business/user-initiated) and
-- pricing categories are two cuts of the same messages, so each client-day counts in one cut
-- only: its pricing categories when it has any, else its direction ones. The categories of a
-- month and currency then add up to its cost, and share_of_cost adds up to 1 over them.
-- share_of_cost is a ratio, not money: DECIMAL / DECIMAL is a DOUBLE in DuckDB, so it is divided
-- at the very last step and rounded to DECIMAL(18, 4). month_complete: see month_coverage.
CREATE OR REPLACE VIEW category_mix_monthly AS
WITH one_cut AS (
    SELECT *
    FROM usage_by_category AS u
    WHERE u.category_family = 'pricing'
       OR NOT EXISTS (
            SELECT 1
            FROM usage_by_category AS p
            WHERE p.client_id = u.client_id
              AND p.usage_date = u.usage_date
              AND p.category_family = 'pricing'
       )
),
monthly AS (
    SELECT
        CAST(date_trunc('month', usage_date) AS DATE) AS month,
        currency,
        category_family,
        category,
        count(DISTINCT client_id)                     AS clients,
        CAST(sum(quantity) AS BIGINT)                 AS quantity,
        CAST(sum(paid_quantity) AS BIGINT)            AS paid_quantity,
        sum(price)                                    AS cost
    FROM one_cut
    GROUP BY ALL
)
SELECT
    m.month,
    m.currency,
    m.category_family,
    m.category,
    m.clients,
    m.quantity,
    m.paid_quantity,
    m.cost,
    CAST(round(m.cost / nullif(sum(m.cost) OVER (PARTITION BY m.month, m.currency), 0), 4)
        AS DECIMAL(18, 4))                             AS share_of_cost,
    coalesce(mc.month_complete, false)                AS month_complete
FROM monthly AS m
LEFT JOIN month_coverage AS mc USING (month);
