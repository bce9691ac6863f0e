-- raw_balance_fetches: append-only log of every /info/balance answer the pipeline received, one row
-- per fetch. The bodies themselves, byte for byte, live in parquet landing files under
-- PIPELINE_RAW_DIR (body_file, relative to it), each distinct body stored once per request key:
-- a re-fetch that returns the same bytes adds a row here (its fetch time) but no body.
-- app_id is '' for the client's own (unfiltered) answers, else the channel's app_id.
-- never negative: body_bytes
CREATE TABLE IF NOT EXISTS raw_balance_fetches (
    client_id    VARCHAR                  NOT NULL,
    granularity  VARCHAR                  NOT NULL,
    app_id       VARCHAR                  NOT NULL,
    window_start DATE                     NOT NULL,
    window_end   DATE                     NOT NULL,
    fetched_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    body_sha256  VARCHAR                  NOT NULL,
    body_bytes   BIGINT                   NOT NULL,
    body_file    VARCHAR                  NOT NULL
);
