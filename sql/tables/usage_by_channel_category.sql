-- usage_by_channel_category: one row per client x channel (app_id) x UTC day x category, the
-- channel-level cut of usage_by_category (same families, same rule: never sum across families).
-- The 'unattributed' app_id carries what no listed channel explains.
-- unique key: client_id, app_id, usage_date, category
CREATE TABLE IF NOT EXISTS usage_by_channel_category (
    client_id       VARCHAR                  NOT NULL,
    app_id          VARCHAR                  NOT NULL,
    usage_date      DATE                     NOT NULL,
    currency        VARCHAR                  NOT NULL,
    category        VARCHAR                  NOT NULL,
    category_family VARCHAR                  NOT NULL,
    quantity        BIGINT                   NOT NULL,
    paid_quantity   BIGINT                   NOT NULL,
    price           DECIMAL(38, 10)          NOT NULL,
    fetched_at      TIMESTAMP WITH TIME ZONE NOT NULL
);
