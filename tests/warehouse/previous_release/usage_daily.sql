-- usage_daily: one row per client x UTC day with usage, the day's totals as the Partner API reports them.
-- Days a client had no usage are absent; usage_coverage tells "no usage" from "not fetched".
-- Counts and money are never negative (the transform refuses refunds and credits; the CHECKs are
-- the last guard, also on each run's journal, which is built from this DDL).
CREATE TABLE IF NOT EXISTS usage_daily (
    client_id        VARCHAR        NOT NULL,
    usage_date       DATE           NOT NULL,
    currency         VARCHAR        NOT NULL,
    quantity         BIGINT         CHECK (quantity >= 0),
    paid_quantity    BIGINT         CHECK (paid_quantity >= 0),
    free_quantity    BIGINT         CHECK (free_quantity >= 0),
    free_tier        BIGINT         CHECK (free_tier >= 0),
    free_entry_point BIGINT         CHECK (free_entry_point >= 0),
    total_price      DECIMAL(38, 10) CHECK (total_price >= 0),
    fetched_at       TIMESTAMPTZ     NOT NULL, -- when the response holding this figure came in
    PRIMARY KEY (client_id, usage_date)
);
