-- usage_load_clients: one row per client a load's batch committed, written in the same
-- transaction as the batch's usage rows: a client listed here has all of its days of the range in
-- the warehouse, as that batch fetched them.
-- unique key: load_id, client_id
CREATE TABLE IF NOT EXISTS usage_load_clients (
    load_id   VARCHAR                  NOT NULL,
    client_id VARCHAR                  NOT NULL,
    batch     INTEGER                  NOT NULL,
    saved_at  TIMESTAMP WITH TIME ZONE NOT NULL
);
