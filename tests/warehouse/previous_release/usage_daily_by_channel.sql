-- usage_daily_by_channel: one row per client x channel (app_id) x UTC day with usage, fetched with
-- the balance endpoint's app_id filter when PIPELINE_CHANNEL_USAGE=on. A client-day's rows add up
-- exactly to its usage_daily row: what no listed channel explains is an explicit row with
-- app_id 'unattributed' (channel_id NULL), never dropped.
CREATE TABLE IF NOT EXISTS usage_daily_by_channel (
    client_id     VARCHAR                  NOT NULL,
    app_id        VARCHAR                  NOT NULL,
    channel_id    VARCHAR,
    usage_date    DATE                     NOT NULL,
    currency      VARCHAR                  NOT NULL,
    quantity      BIGINT                   NOT NULL,
    paid_quantity BIGINT                   NOT NULL,
    free_quantity BIGINT                   NOT NULL,
    total_price   DECIMAL(38, 10)          NOT NULL,
    fetched_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (client_id, app_id, usage_date)
);
