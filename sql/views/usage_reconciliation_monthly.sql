-- Question: do our daily figures add up to the API's own month figures, and which months are final?
-- One row per client x calendar month x currency where either side has data: the sum of the days in
-- usage_daily against usage_monthly_api (the balance endpoint with granularity=month, fetched for
-- whole calendar months). A side without a row counts as 0 (no usage on that side), and
-- api_fetched_at is NULL when the API side has no row.
-- status: 'month_not_fetched' no day of the month fetched for the client (usage_coverage);
--         'incomplete'  some but not all days fetched;
--         'match'       every day fetched and difference = 0;
--         'mismatch'    every day fetched and difference <> 0 (e.g. the API revised days after
--                       they were loaded: fetching those days again brings it back to 'match').
CREATE OR REPLACE VIEW usage_reconciliation_monthly AS
WITH daily AS (
    SELECT
        client_id,
        CAST(date_trunc('month', usage_date) AS DATE) AS month,
        currency,
        CAST(sum(quantity) AS BIGINT)                 AS quantity,
        sum(total_price)                              AS total_price
    FROM usage_daily
    GROUP BY ALL
),
sides AS (
    SELECT
        client_id,
        month,
        currency,
        coalesce(d.total_price, 0) AS daily_total_price,
        coalesce(a.total_price, 0) AS api_month_total_price,
        coalesce(d.quantity, 0)    AS daily_quantity,
        coalesce(a.quantity, 0)    AS api_month_quantity,
        a.fetched_at               AS api_fetched_at
    FROM daily AS d
    FULL OUTER JOIN usage_monthly_api AS a USING (client_id, month, currency)
)
SELECT
    s.client_id,
    s.month,
    s.currency,
    s.daily_total_price,
    s.api_month_total_price,
    s.daily_total_price - s.api_month_total_price         AS difference,
    coalesce(cov.days_covered, 0)                         AS days_covered,
    CASE
        WHEN cov.days_covered IS NULL THEN 'month_not_fetched'
        WHEN NOT cov.month_complete THEN 'incomplete'
        WHEN s.daily_total_price = s.api_month_total_price THEN 'match'
        ELSE 'mismatch'
    END                                                   AS status,
    coalesce(cov.month_complete, false)                   AS month_complete,
    day(last_day(s.month))                                AS days_in_month,
    s.daily_quantity,
    s.api_month_quantity,
    s.daily_quantity - s.api_month_quantity               AS quantity_difference,
    s.api_fetched_at
FROM sides AS s
LEFT JOIN client_month_coverage AS cov USING (client_id, month);
