-- statement_adjustments: corrections of closed statements. When the API revises a closed month,
-- its statement stays as issued; the exact difference per client, currency and category goes on
-- the client's next statement (statement_number) as an adjustment line pointing at the statement
-- it corrects (corrects_statement_number). found_at: when the close that issued it ran.
CREATE TABLE IF NOT EXISTS statement_adjustments (
    statement_number          VARCHAR                  NOT NULL,
    corrects_statement_number VARCHAR                  NOT NULL,
    category                  VARCHAR                  NOT NULL,
    amount                    DECIMAL(38, 2)           NOT NULL,
    found_at                  TIMESTAMP WITH TIME ZONE NOT NULL
);
