-- Each campaign's funnel per provider and channel: sent, delivered, opened, clicked, bounced, complained (event counts), with bounce and complaint rates.
WITH stages AS (
  SELECT
    provider,
    campaign_id,
    channel,
    sum(CASE WHEN split_part(event_type, '.', 2) = 'sent' THEN 1 ELSE 0 END) AS sent,
    sum(CASE WHEN split_part(event_type, '.', 2) = 'delivered' THEN 1 ELSE 0 END) AS delivered,
    sum(CASE WHEN split_part(event_type, '.', 2) = 'opened' THEN 1 ELSE 0 END) AS opened,
    sum(CASE WHEN split_part(event_type, '.', 2) = 'clicked' THEN 1 ELSE 0 END) AS clicked,
    sum(CASE WHEN split_part(event_type, '.', 2) = 'bounced' THEN 1 ELSE 0 END) AS bounced,
    sum(CASE WHEN split_part(event_type, '.', 2) = 'complained' THEN 1 ELSE 0 END) AS complained
  FROM events
  -- the funnel's stages of message lifecycle events (their type starts with their channel)
  WHERE campaign_id IS NOT NULL
    AND split_part(event_type, '.', 1) = channel
    AND split_part(event_type, '.', 2) IN ('sent', 'delivered', 'opened', 'clicked', 'bounced', 'complained')
  GROUP BY provider, campaign_id, channel
)
SELECT
  provider,
  campaign_id,
  channel,
  sent,
  delivered,
  opened,
  clicked,
  bounced,
  complained,
  -- rates as fractions; NULL where the provider reported no sends (or deliveries)
  round(CAST(bounced AS DOUBLE) / nullif(sent, 0), 4) AS bounce_rate,
  round(CAST(complained AS DOUBLE) / nullif(delivered, 0), 4) AS complaint_rate
FROM stages
ORDER BY provider, campaign_id, channel
