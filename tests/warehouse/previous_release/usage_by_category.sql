-- usage_by_category: one row per client x UTC day x category (the <category>_* columns of the API).
-- category_family is 'direction' (business_initiated, user_initiated) or 'pricing' (every other,
-- new ones included): the two families are two cuts of the same messages, never sum across them.
CREATE TABLE IF NOT EXISTS usage_by_category (
    client_id       VARCHAR         NOT NULL,
    usage_date      DATE            NOT NULL,
    currency        VARCHAR         NOT NULL,
    category        VARCHAR         NOT NULL,
    category_family VARCHAR         NOT NULL,
    quantity        BIGINT          CHECK (quantity >= 0),
    paid_quantity   BIGINT          CHECK (paid_quantity >= 0),
    price           DECIMAL(38, 10) CHECK (price >= 0),
    fetched_at      TIMESTAMPTZ     NOT NULL, -- when the response holding this figure came in
    PRIMARY KEY (client_id, usage_date, category)
);
