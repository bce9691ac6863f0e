-- Question: how many days does the partner's own prepaid balance last in each currency? At zero,
-- outbound messaging stops for every partner-paid client.
-- One row per currency with a partner balance snapshot or with partner-paid usage in the window.
-- Partner-paid clients are all clients that are not direct-paid (see low_balance_watch): their
-- latest balance snapshot is not > 0 (the API shows 0 for them), or they have none yet (counted
-- here, so that the watch errs on the side of warning). Each client is in exactly one of the two.
-- cost_7d is their cost in that currency over the 7 days ending at the latest day fetched for any
-- client (usage_coverage), days without usage counting as 0; avg_daily_cost_7d = cost_7d / 7,
-- rounded back to DECIMAL(38, 6) (DECIMAL / INTEGER is a DOUBLE in DuckDB); days_left =
-- total / avg is computed as total x 7 / cost_7d from the exact sums (NULL when no cost), and
-- below_threshold (days_left < PIPELINE_LOW_BALANCE_DAYS) compares the exact products.
CREATE OR REPLACE VIEW partner_balance_watch AS
WITH latest_partner_balance AS (
    SELECT *
    FROM partner_balance_snapshots
    QUALIFY row_number() OVER (PARTITION BY currency ORDER BY observed_at DESC) = 1
),
direct_paid AS (
    SELECT client_id
    FROM balance_snapshots
    QUALIFY row_number() OVER (PARTITION BY client_id ORDER BY observed_at DESC) = 1
        AND balance > 0
),
window_end AS (
    SELECT max(usage_date) AS last_day FROM usage_coverage
),
partner_paid_cost AS (
    SELECT
        u.currency,
        count(DISTINCT u.client_id) AS partner_paid_clients,
        sum(u.total_price)          AS cost_7d
    FROM usage_daily AS u, window_end AS w
    WHERE u.usage_date BETWEEN w.last_day - 6 AND w.last_day
      AND u.client_id NOT IN (SELECT client_id FROM direct_paid)
    GROUP BY ALL
)
SELECT
    currency,
    b.total,
    b.observed_at,
    coalesce(p.cost_7d, 0)                                           AS cost_7d,
    CAST(round(coalesce(p.cost_7d, 0) / 7, 6) AS DECIMAL(38, 6))     AS avg_daily_cost_7d,
    CASE WHEN p.cost_7d > 0 THEN round(b.total * 7 / p.cost_7d, 2) END AS days_left,
    coalesce(b.total * 7 < s.low_balance_days * p.cost_7d, false)    AS below_threshold,
    coalesce(p.partner_paid_clients, 0)                              AS partner_paid_clients,
    (SELECT last_day FROM window_end)                                AS window_end,
    s.low_balance_days
FROM latest_partner_balance AS b
FULL OUTER JOIN partner_paid_cost AS p USING (currency)
CROSS JOIN finance_settings_in_force AS s;
