-- usage_daily: one row per client x UTC day with usage, the day's totals as the Partner API reports them.
-- Days a client had no usage are absent; usage_coverage tells "no usage" from "not fetched".
-- Counts and money are never negative: the transform refuses refunds and credits, every load checks
-- the declarations below before it inserts, and blocking asset checks check the table after.
-- never negative: quantity, paid_quantity, free_quantity, free_tier, free_entry_point, total_price
-- unique key: client_id, usage_date
CREATE TABLE IF NOT EXISTS usage_daily (
    client_id        VARCHAR        NOT NULL,
    usage_date       DATE           NOT NULL,
    currency         VARCHAR        NOT NULL,
    quantity         BIGINT,
    paid_quantity    BIGINT,
    free_quantity    BIGINT,
    free_tier        BIGINT,
    free_entry_point BIGINT,
    total_price      DECIMAL(38, 10),
    fetched_at       TIMESTAMPTZ     NOT NULL  -- when the response holding this figure came in
);
