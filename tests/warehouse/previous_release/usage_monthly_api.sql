-- usage_monthly_api: one row per client x calendar month x currency, the Partner API's own
-- MONTH-granularity figure for whole calendar months (first to last day) touched by a run.
-- Reconciled against the sum of usage_daily in usage_reconciliation_monthly.
CREATE TABLE IF NOT EXISTS usage_monthly_api (
    client_id     VARCHAR                  NOT NULL,
    month         DATE                     NOT NULL, -- first day of the month (UTC)
    currency      VARCHAR                  NOT NULL,
    quantity      BIGINT                   NOT NULL CHECK (quantity >= 0),
    paid_quantity BIGINT                   NOT NULL CHECK (paid_quantity >= 0),
    total_price   DECIMAL(38, 10)          NOT NULL CHECK (total_price >= 0),
    fetched_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (client_id, month, currency)
);
