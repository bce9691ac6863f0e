-- usage_loads: one row per run (or replay) of a day range that commits usage batch by batch.
-- finished_at stays NULL until every client of the range was loaded: `--resume` continues the
-- latest unfinished load of the same kind and range, skipping the clients usage_load_clients lists.
-- unique key: load_id
CREATE TABLE IF NOT EXISTS usage_loads (
    load_id       VARCHAR                  NOT NULL,
    kind          VARCHAR                  NOT NULL, -- run or replay
    start_date    DATE                     NOT NULL,
    end_date      DATE                     NOT NULL,
    channel_usage BOOLEAN                  NOT NULL, -- PIPELINE_CHANNEL_USAGE of its batches
    started_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    finished_at   TIMESTAMP WITH TIME ZONE
);
