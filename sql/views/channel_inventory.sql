-- Question: how many numbers does each client run against its max_channels, and in what shape
-- (quality rating, messaging limit)?
-- One row per current client (clients), channels from the current channels listing:
--   terminated: terminated_at set; cancelled: cancelled_at set but not (yet) terminated;
--   live: neither, and hub_status 'live'; other_channels: neither, not live (e.g. pending).
-- channels_in_use = every channel not terminated (they hold a slot), and slots_left =
-- max_channels - channels_in_use (negative: over the limit). Quality and limit describe the
-- channels in use; quality counts accept both the Hub's High/Medium/Low and Meta's GREEN/YELLOW/RED.
CREATE OR REPLACE VIEW channel_inventory AS
WITH classified AS (
    SELECT
        *,
        CASE
            WHEN terminated_at IS NOT NULL THEN 'terminated'
            WHEN cancelled_at IS NOT NULL THEN 'cancelled'
            WHEN hub_status = 'live' THEN 'live'
            ELSE 'other'
        END                                   AS state,
        CASE
            WHEN upper(current_quality_rating) IN ('HIGH', 'GREEN') THEN 'high'
            WHEN upper(current_quality_rating) IN ('MEDIUM', 'YELLOW') THEN 'medium'
            WHEN upper(current_quality_rating) IN ('LOW', 'RED') THEN 'low'
            ELSE 'unknown'
        END                                   AS quality
    FROM channels
),
per_client AS (
    SELECT
        client_id,
        count(*)                                                      AS channels_total,
        count(*) FILTER (WHERE state = 'live')                        AS channels_live,
        count(*) FILTER (WHERE state = 'cancelled')                   AS channels_cancelled,
        count(*) FILTER (WHERE state = 'terminated')                  AS channels_terminated,
        count(*) FILTER (WHERE state = 'other')                       AS channels_other,
        count(*) FILTER (WHERE state <> 'terminated')                 AS channels_in_use,
        count(*) FILTER (WHERE state <> 'terminated' AND quality = 'high')    AS quality_high,
        count(*) FILTER (WHERE state <> 'terminated' AND quality = 'medium')  AS quality_medium,
        count(*) FILTER (WHERE state <> 'terminated' AND quality = 'low')     AS quality_low,
        count(*) FILTER (WHERE state <> 'terminated' AND quality = 'unknown') AS quality_unknown,
        string_agg(DISTINCT current_limit, ', ' ORDER BY current_limit)
            FILTER (WHERE state <> 'terminated')                      AS messaging_limits
    FROM classified
    GROUP BY client_id
)
SELECT
    c.client_id,
    c.name                                               AS client_name,
    c.status                                             AS client_status,
    c.max_channels,
    coalesce(p.channels_total, 0)                        AS channels_total,
    coalesce(p.channels_live, 0)                         AS channels_live,
    coalesce(p.channels_cancelled, 0)                    AS channels_cancelled,
    coalesce(p.channels_terminated, 0)                   AS channels_terminated,
    coalesce(p.channels_other, 0)                        AS channels_other,
    coalesce(p.channels_in_use, 0)                       AS channels_in_use,
    c.max_channels - coalesce(p.channels_in_use, 0)      AS slots_left,
    coalesce(p.quality_high, 0)                          AS quality_high,
    coalesce(p.quality_medium, 0)                        AS quality_medium,
    coalesce(p.quality_low, 0)                           AS quality_low,
    coalesce(p.quality_unknown, 0)                       AS quality_unknown,
    p.messaging_limits
FROM clients AS c
LEFT JOIN per_client AS p USING (client_id);
