-- channels: current state, one row per channel of the latest successful full listing.
-- A channel missing from that listing is no longer here (channels_history keeps its past).
-- unique key: channel_id
CREATE TABLE IF NOT EXISTS channels (
    channel_id               VARCHAR                  NOT NULL,
    client_id                VARCHAR,
    app_id                   VARCHAR,
    phone_number             VARCHAR,
    phone_name               VARCHAR,
    hub_status               VARCHAR,
    status                   VARCHAR,
    account_mode             VARCHAR,
    current_quality_rating   VARCHAR,
    current_limit            VARCHAR,
    hosting_platform_type    VARCHAR,
    data_localization_region VARCHAR,
    tier                     VARCHAR,
    waba_account_id          VARCHAR,
    created_at               TIMESTAMP WITH TIME ZONE,
    billing_started_at       TIMESTAMP WITH TIME ZONE,
    cancelled_at             TIMESTAMP WITH TIME ZONE,
    terminated_at            TIMESTAMP WITH TIME ZONE,
    observed_at              TIMESTAMP WITH TIME ZONE NOT NULL
);
