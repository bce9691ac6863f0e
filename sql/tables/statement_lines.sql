-- statement_lines: the lines of each statement, as invoiced. kind: 'usage' (one per category),
-- 'number_fee' (one per channel live in the month), 'minimum_commitment' (the top-up to the
-- client's minimum), 'adjustment' (a correction of an earlier statement, see
-- statement_adjustments). amount is rounded to 2 decimals half away from zero. A usage line keeps
-- what it was priced on (pricing 'rate_card' or 'markup', paid_quantity, cost, markup_pct,
-- unit_price), so a later revision of its month is priced the same way.
CREATE TABLE IF NOT EXISTS statement_lines (
    statement_number VARCHAR         NOT NULL,
    line_no          INTEGER         NOT NULL,
    kind             VARCHAR         NOT NULL,
    category         VARCHAR,
    description      VARCHAR         NOT NULL,
    quantity         BIGINT,
    unit_price       DECIMAL(38, 10),
    amount           DECIMAL(38, 2)  NOT NULL,
    pricing          VARCHAR,
    paid_quantity    BIGINT,
    cost             DECIMAL(38, 10),
    markup_pct       DECIMAL(9, 4)
);
