-- usage_by_category: one row per client x UTC day x category (the <category>_* columns of the API).
-- category_family is 'direction' (business_initiated, user_initiated) or 'pricing' (every other,
-- new ones included): the two families are two cuts of the same messages, never sum across them.
-- never negative: quantity, paid_quantity, price
-- unique key: client_id, usage_date, category
CREATE TABLE IF NOT EXISTS usage_by_category (
    client_id       VARCHAR         NOT NULL,
    usage_date      DATE            NOT NULL,
    currency        VARCHAR         NOT NULL,
    category        VARCHAR         NOT NULL,
    category_family VARCHAR         NOT NULL,
    quantity        BIGINT,
    paid_quantity   BIGINT,
    price           DECIMAL(38, 10),
    fetched_at      TIMESTAMPTZ     NOT NULL  -- when the response holding this figure came in
);
