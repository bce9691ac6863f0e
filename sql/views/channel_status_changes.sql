-- Question: when did a channel change state (e.g. from live to cancelled), as the pipeline observed it?
-- One row per change of status or hub_status between two consecutive channels_history rows of a channel;
-- a channel's first sighting is not a change. observed_at is when the pipeline saw it, not when it happened.
CREATE OR REPLACE VIEW channel_status_changes AS
WITH sightings AS (
    SELECT
        channel_id,
        client_id,
        observed_at,
        status,
        hub_status,
        lag(observed_at) OVER w AS previous_observed_at,
        lag(status) OVER w      AS previous_status,
        lag(hub_status) OVER w  AS previous_hub_status
    FROM channels_history
    WINDOW w AS (PARTITION BY channel_id ORDER BY observed_at)
)
SELECT
    channel_id,
    client_id,
    previous_observed_at,
    observed_at,
    previous_status,
    status,
    previous_hub_status,
    hub_status
FROM sightings
WHERE previous_observed_at IS NOT NULL
  AND (status IS DISTINCT FROM previous_status OR hub_status IS DISTINCT FROM previous_hub_status);
