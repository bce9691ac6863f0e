-- clients: current state, one row per client of the latest successful full listing.
-- A client missing from that listing is no longer here (clients_history keeps its past).
-- unique key: client_id
CREATE TABLE IF NOT EXISTS clients (
    client_id         VARCHAR                  NOT NULL,
    name              VARCHAR,
    status            VARCHAR,
    organisation      VARCHAR,
    max_channels      BIGINT,
    created_at        TIMESTAMP WITH TIME ZONE,
    modified_at       TIMESTAMP WITH TIME ZONE,
    partner_payload   VARCHAR,
    business_vertical VARCHAR,
    timezone          VARCHAR,
    country           VARCHAR,
    language          VARCHAR,
    email             VARCHAR,
    observed_at       TIMESTAMP WITH TIME ZONE NOT NULL
);
