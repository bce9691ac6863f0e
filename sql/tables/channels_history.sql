-- channels_history: one row per observed change of any channel column except observed_at
-- (first sighting included), and one when a trusted listing no longer has the channel
-- (removed = true, with its last known columns). Same columns, same order as channels, then removed.
-- unique key: channel_id, observed_at
CREATE TABLE IF NOT EXISTS channels_history (
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
    observed_at              TIMESTAMP WITH TIME ZONE NOT NULL,
    removed                  BOOLEAN                  DEFAULT false
);
