-- Question: where does each current client stand right now?
-- One row per current client (x usage currency, normally one): its listing data, its usage over the
-- last 30 covered days (ending at the latest day the pipeline fetched, not at today's date, so the
-- figures are complete) and its latest balance snapshot. A client without usage there has NULL usage.
CREATE OR REPLACE VIEW client_usage_latest AS
WITH latest_day AS (
    SELECT max(usage_date) AS last_day FROM usage_coverage
),
recent_usage AS (
    SELECT
        u.client_id,
        u.currency,
        CAST(sum(u.quantity) AS BIGINT) AS quantity_30d,
        CAST(sum(u.paid_quantity) AS BIGINT) AS paid_quantity_30d,
        sum(u.total_price)   AS total_price_30d
    FROM usage_daily AS u, latest_day AS d
    WHERE u.usage_date > d.last_day - INTERVAL 30 DAY AND u.usage_date <= d.last_day
    GROUP BY ALL
),
latest_balance AS (
    SELECT *
    FROM balance_snapshots
    QUALIFY row_number() OVER (PARTITION BY client_id ORDER BY observed_at DESC) = 1
)
SELECT
    c.client_id,
    c.name,
    c.status,
    c.organisation,
    c.max_channels,
    c.created_at,
    c.observed_at                    AS listed_at,
    (SELECT last_day FROM latest_day) AS usage_window_end,
    r.currency                       AS usage_currency,
    r.quantity_30d,
    r.paid_quantity_30d,
    r.total_price_30d,
    b.observed_at                    AS balance_observed_at,
    b.currency                       AS balance_currency,
    b.balance,
    b.last_renewal_date,
    b.last_renewal_amount,
    b.estimated_template_cost
FROM clients AS c
LEFT JOIN recent_usage AS r USING (client_id)
LEFT JOIN latest_balance AS b USING (client_id);
