-- Question: which client x day was never fetched, so a missing usage row there means "unknown",
-- not "no usage"? Covers every current client and every day from the first to the last covered day.
-- (A day with a usage_coverage row but no usage_daily row is a genuine zero-usage day.)
CREATE OR REPLACE VIEW coverage_gaps AS
WITH covered_range AS (
    SELECT min(usage_date) AS first_day, max(usage_date) AS last_day FROM usage_coverage
),
expected AS (
    SELECT c.client_id, CAST(d.day AS DATE) AS usage_date
    FROM clients AS c,
         covered_range AS r,
         generate_series(r.first_day, r.last_day, INTERVAL 1 DAY) AS d(day)
)
SELECT e.client_id, e.usage_date
FROM expected AS e
ANTI JOIN usage_coverage AS cov USING (client_id, usage_date);
