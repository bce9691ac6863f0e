-- raw_balance_responses: append-only log of balance responses exactly as received, so any load can
-- be replayed without calling the API again. The key only stops a re-run from logging a fetch twice.
CREATE TABLE IF NOT EXISTS raw_balance_responses (
    client_id     VARCHAR                  NOT NULL,
    window_start  DATE                     NOT NULL,
    window_end    DATE                     NOT NULL,
    granularity   VARCHAR                  NOT NULL,
    fetched_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    response_text VARCHAR                  NOT NULL,
    PRIMARY KEY (client_id, window_start, window_end, granularity, fetched_at)
);
