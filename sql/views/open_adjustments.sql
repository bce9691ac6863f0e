-- Question: which corrections of closed statements have been found but are on no statement yet?
-- One row per closed statement x category whose usage the API has revised since the close: the
-- category's amount priced now as the statement priced it (its rate card price or its markup; a
-- category new to the month as the draft prices it), less what the statement invoiced and what
-- earlier adjustments already corrected. `close` puts these on the client's next statement.
CREATE OR REPLACE VIEW open_adjustments AS
WITH invoiced AS (
    SELECT l.statement_number, l.category, l.pricing, l.unit_price, l.markup_pct, l.amount
    FROM statement_lines AS l
    WHERE l.kind = 'usage'
),
drafted AS (
    SELECT s.statement_number, d.category, d.paid_quantity, d.cost, d.amount
    FROM statements AS s
    JOIN statement_draft_lines AS d
      ON d.client_id = s.client_id AND d.month = s.month AND d.currency = s.currency
     AND d.kind = 'usage'
),
both_sides AS (
    SELECT
        coalesce(i.statement_number, d.statement_number) AS statement_number,
        coalesce(i.category, d.category)                 AS category,
        coalesce(i.amount, 0)                            AS invoiced,
        CASE
            WHEN d.category IS NULL THEN 0
            WHEN i.pricing = 'rate_card' THEN round(d.paid_quantity * i.unit_price, 2)
            WHEN i.pricing = 'markup' THEN round(d.cost * (100 + i.markup_pct) * 0.01, 2)
            ELSE d.amount
        END                                              AS amount_now
    FROM invoiced AS i
    FULL OUTER JOIN drafted AS d
      ON d.statement_number = i.statement_number AND d.category = i.category
),
corrected AS (
    SELECT corrects_statement_number AS statement_number, category, sum(amount) AS amount
    FROM statement_adjustments
    GROUP BY ALL
)
SELECT
    b.statement_number                                   AS corrects_statement_number,
    s.client_id,
    s.month,
    s.currency,
    b.category,
    CAST(b.amount_now - b.invoiced - coalesce(k.amount, 0) AS DECIMAL(38, 2)) AS amount
FROM both_sides AS b
JOIN statements AS s USING (statement_number)
LEFT JOIN corrected AS k USING (statement_number, category)
WHERE b.amount_now - b.invoiced - coalesce(k.amount, 0) <> 0;
