-- Question: what would each client's statement for a month say if it were closed now?
-- One row per line of a client x month x currency: 'usage' per category (a rate card price per
-- paid message where PIPELINE_PRICING has one for the category and month, else the month's cost
-- with the client's markup from client_monthly_statement), 'number_fee' per channel live in the
-- month (created before its end, not cancelled or terminated before its start, as the latest
-- channels_history row says), and 'minimum_commitment': the top-up to the client's
-- minimum_monthly when its usage lines fall short. Each amount is rounded to 2 decimals half away
-- from zero (ROUND on a DECIMAL); a statement's total is the sum of its lines, so it can differ by
-- cents from client_monthly_statement.billable_amount, which rounds the month's total once.
CREATE OR REPLACE VIEW statement_draft_lines AS
WITH months AS (
    SELECT DISTINCT CAST(date_trunc('month', usage_date) AS DATE) AS month FROM usage_coverage
),
price_in_force AS (
    SELECT r.client_id, r.category, r.unit_price, r.currency, m.month
    FROM rate_cards AS r
    JOIN months AS m ON r.valid_from IS NULL OR r.valid_from <= m.month
    QUALIFY row_number() OVER (
        PARTITION BY r.client_id, r.category, m.month ORDER BY r.valid_from DESC NULLS LAST
    ) = 1
),
usage_lines AS (
    SELECT
        u.client_id,
        u.month,
        u.currency,
        'usage'                                                          AS kind,
        u.category,
        CASE
            WHEN p.unit_price IS NULL THEN u.category || ' (cost + '
                || regexp_replace(CAST(s.markup_pct AS VARCHAR), '\.?0+$', '') || '%)'
            ELSE u.category || ' (per paid message)'
        END                                                              AS description,
        -- what is billed: paid messages at a rate card price, else every message, for reference
        CASE WHEN p.unit_price IS NULL THEN u.quantity ELSE u.paid_quantity END AS quantity,
        u.paid_quantity,
        u.cost,
        s.markup_pct,
        CASE WHEN p.unit_price IS NULL THEN 'markup' ELSE 'rate_card' END AS pricing,
        CAST(p.unit_price AS DECIMAL(38, 10))                            AS unit_price,
        CASE
            WHEN p.unit_price IS NULL THEN round(u.cost * (100 + s.markup_pct) * 0.01, 2)
            ELSE round(u.paid_quantity * p.unit_price, 2)
        END                                                              AS amount
    FROM billable_usage_monthly AS u
    JOIN client_monthly_statement AS s USING (client_id, month, currency)
    LEFT JOIN price_in_force AS p
      ON p.client_id = u.client_id AND p.category = u.category AND p.month = u.month
     AND p.currency = u.currency
),
channel_state AS (
    SELECT
        channel_id,
        arg_max(client_id, observed_at)                            AS client_id,
        arg_max(phone_number, observed_at)                         AS phone_number,
        arg_max(created_at, observed_at)                           AS created_at,
        arg_max(coalesce(cancelled_at, terminated_at), observed_at) AS ended_at
    FROM channels_history
    GROUP BY channel_id
),
fee_lines AS (
    SELECT
        f.client_id,
        f.month,
        f.currency,
        'number_fee'                               AS kind,
        NULL                                       AS category,
        'number fee ' || coalesce(c.phone_number, c.channel_id) AS description,
        1                                          AS quantity,
        NULL                                       AS paid_quantity,
        NULL                                       AS cost,
        NULL                                       AS markup_pct,
        'rate_card'                                AS pricing,
        CAST(f.unit_price AS DECIMAL(38, 10))      AS unit_price,
        round(f.unit_price, 2)                     AS amount
    FROM price_in_force AS f
    JOIN channel_state AS c
      ON c.client_id = f.client_id
     AND c.created_at < f.month + INTERVAL 1 MONTH
     AND (c.ended_at IS NULL OR c.ended_at >= f.month)
    WHERE f.category = 'number_fee'
),
usage_totals AS (
    SELECT client_id, month, currency, sum(amount) AS amount
    FROM usage_lines
    GROUP BY ALL
),
minimum_lines AS (
    SELECT
        m.client_id,
        m.month,
        m.currency,
        'minimum_commitment'                                 AS kind,
        NULL                                                 AS category,
        'minimum monthly commitment ' || CAST(round(m.unit_price, 2) AS VARCHAR) AS description,
        NULL                                                 AS quantity,
        NULL                                                 AS paid_quantity,
        NULL                                                 AS cost,
        NULL                                                 AS markup_pct,
        'rate_card'                                          AS pricing,
        CAST(m.unit_price AS DECIMAL(38, 10))                AS unit_price,
        round(m.unit_price, 2) - coalesce(t.amount, 0)       AS amount
    FROM price_in_force AS m
    LEFT JOIN usage_totals AS t USING (client_id, month, currency)
    WHERE m.category = 'minimum_monthly' AND round(m.unit_price, 2) > coalesce(t.amount, 0)
)
SELECT * FROM usage_lines
UNION ALL BY NAME SELECT * FROM fee_lines
UNION ALL BY NAME SELECT * FROM minimum_lines;
