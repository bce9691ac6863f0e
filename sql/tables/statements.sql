-- statements: one row per client x closed month x currency, written once by `close` and never
-- changed. statement_number is YYYY-NNNNNN, gapless within the closed month's year; total is the
-- sum of the statement's rounded lines (subtotal: every line but adjustments). snapshot_id is the
-- warehouse snapshot the statement was built from; forced_reason is the reason given to
-- `close --force` for a month that was not complete or did not reconcile, else NULL.
CREATE TABLE IF NOT EXISTS statements (
    statement_number  VARCHAR                  NOT NULL,
    client_id         VARCHAR                  NOT NULL,
    client_name       VARCHAR,
    month             DATE                     NOT NULL,
    currency          VARCHAR                  NOT NULL,
    subtotal          DECIMAL(38, 2)           NOT NULL,
    adjustments_total DECIMAL(38, 2)           NOT NULL,
    total             DECIMAL(38, 2)           NOT NULL,
    snapshot_id       BIGINT,
    closed_at         TIMESTAMP WITH TIME ZONE NOT NULL,
    forced_reason     VARCHAR
);
