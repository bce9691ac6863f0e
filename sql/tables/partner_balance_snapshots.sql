-- partner_balance_snapshots: one row per partner top-up currency x observation of
-- GET /partners/{id}/balance (one record per currency; the body may be one object or a list).
-- Partner-paid clients draw their messaging from this balance: at zero, outbound messaging stops.
-- unique key: observed_at, currency
CREATE TABLE IF NOT EXISTS partner_balance_snapshots (
    observed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    currency    VARCHAR                  NOT NULL,
    total       DECIMAL(38, 10)          NOT NULL
);
