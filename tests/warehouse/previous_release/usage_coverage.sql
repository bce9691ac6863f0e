-- usage_coverage: one row per client x UTC day the pipeline fetched successfully, with or without
-- usage. A day in range without a row here was never fetched (or its fetch failed).
CREATE TABLE IF NOT EXISTS usage_coverage (
    client_id  VARCHAR                  NOT NULL,
    usage_date DATE                     NOT NULL,
    fetched_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (client_id, usage_date)
);
