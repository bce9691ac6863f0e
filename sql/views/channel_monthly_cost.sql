-- Question: what does each phone number (channel) cost per month, and what share of its
-- client's cost is that?
-- One row per client x channel (app_id) x calendar month x currency in usage_daily_by_channel
-- (filled when PIPELINE_CHANNEL_USAGE=on), the 'unattributed' remainder included as its own row.
-- client_cost is the client's whole month in usage_daily, so a client's shares add up to 1 when
-- channel usage was fetched for all its days that month, and to less when it was not.
-- share_of_client_cost is a ratio: divided last (a DOUBLE in DuckDB), rounded to DECIMAL(18, 4),
-- wide enough for an API whose channels cost more than their client (usage_daily_by_channel keeps
-- that as a negative remainder): the view and its export must not fail on it.
-- month_complete: every day of the month fetched for the client.
CREATE OR REPLACE VIEW channel_monthly_cost AS
WITH per_channel AS (
    SELECT
        client_id,
        app_id,
        CAST(date_trunc('month', usage_date) AS DATE) AS month,
        currency,
        any_value(channel_id)                         AS channel_id,
        CAST(sum(quantity) AS BIGINT)                 AS quantity,
        CAST(sum(paid_quantity) AS BIGINT)            AS paid_quantity,
        CAST(sum(free_quantity) AS BIGINT)            AS free_quantity,
        sum(total_price)                              AS cost,
        count(*)                                      AS days_with_usage
    FROM usage_daily_by_channel
    GROUP BY client_id, app_id, month, currency
),
per_client AS (
    SELECT
        client_id,
        CAST(date_trunc('month', usage_date) AS DATE) AS month,
        currency,
        sum(total_price)                              AS client_cost
    FROM usage_daily
    GROUP BY ALL
)
SELECT
    p.client_id,
    c.name                                                                   AS client_name,
    p.app_id,
    p.channel_id,
    ch.phone_number,
    ch.phone_name,
    p.month,
    p.currency,
    p.quantity,
    p.paid_quantity,
    p.free_quantity,
    p.cost,
    k.client_cost,
    CAST(round(p.cost / nullif(k.client_cost, 0), 4) AS DECIMAL(18, 4))       AS share_of_client_cost,
    p.days_with_usage,
    coalesce(cov.month_complete, false)                                      AS month_complete
FROM per_channel AS p
LEFT JOIN per_client AS k USING (client_id, month, currency)
LEFT JOIN clients AS c USING (client_id)
LEFT JOIN channels AS ch ON ch.channel_id = p.channel_id
LEFT JOIN client_month_coverage AS cov USING (client_id, month);
