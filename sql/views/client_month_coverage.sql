-- Question: which client-months were fetched for every day, so that their sums are whole-month
-- figures rather than partial ones?
-- One row per client x calendar month (UTC, month = its first day) with at least one fetched day
-- in usage_coverage. month_complete: every day of the month fetched (a month still running never is).
CREATE OR REPLACE VIEW client_month_coverage AS
WITH fetched AS (
    SELECT client_id, CAST(date_trunc('month', usage_date) AS DATE) AS month, count(*) AS days_covered
    FROM usage_coverage
    GROUP BY ALL
)
SELECT
    client_id,
    month,
    days_covered,
    day(last_day(month))                 AS days_in_month,
    days_covered = day(last_day(month))  AS month_complete
FROM fetched;
