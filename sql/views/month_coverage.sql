-- Question: is a calendar month fully fetched for the whole partner, so that totals across
-- clients (per currency) are whole-month figures?
-- One row per calendar month (UTC) with at least one fetched day. The clients expected in a month
-- are the current clients created before the month ended (created_at unknown counts as expected);
-- month_complete: every one of them has every day of the month in usage_coverage. Clients no
-- longer listed are not expected, so a client that left mid-month does not keep a month open.
CREATE OR REPLACE VIEW month_coverage AS
WITH months AS (
    SELECT DISTINCT month, days_in_month FROM client_month_coverage
),
expected AS (
    SELECT m.month, m.days_in_month, c.client_id
    FROM months AS m
    JOIN clients AS c
      ON c.created_at IS NULL
      OR c.created_at < CAST(m.month + INTERVAL 1 MONTH AS TIMESTAMP) AT TIME ZONE 'UTC'
)
SELECT
    m.month,
    m.days_in_month,
    count(e.client_id)                                         AS clients_expected,
    count(e.client_id) FILTER (WHERE cov.month_complete)       AS clients_complete,
    count(e.client_id) > 0
        AND count(e.client_id) = count(e.client_id) FILTER (WHERE cov.month_complete)
                                                               AS month_complete
FROM months AS m
LEFT JOIN expected AS e USING (month, days_in_month)
LEFT JOIN client_month_coverage AS cov USING (client_id, month)
GROUP BY ALL;
