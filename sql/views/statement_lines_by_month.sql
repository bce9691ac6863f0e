-- Question: what was invoiced for each closed month, by kind of line, category and currency?
-- One row per closed month x currency x kind x category (NULL for fees and commitments), from the
-- issued statements: adjustments count in the month of the statement that carries them.
CREATE OR REPLACE VIEW statement_lines_by_month AS
SELECT
    s.month,
    s.currency,
    l.kind,
    l.category,
    count(DISTINCT s.statement_number)  AS statements,
    CAST(sum(l.quantity) AS BIGINT)     AS quantity,
    sum(l.amount)                       AS amount
FROM statements AS s
JOIN statement_lines AS l USING (statement_number)
GROUP BY ALL;
