-- Complaint rate (complaints per delivered message) and hard-bounce rate (hard bounces per sent message) per provider and day, every channel.
WITH daily AS (
  SELECT
    day,
    provider,
    sum(CASE WHEN split_part(event_type, '.', 2) = 'sent' THEN 1 ELSE 0 END) AS sent,
    sum(CASE WHEN split_part(event_type, '.', 2) = 'delivered' THEN 1 ELSE 0 END) AS delivered,
    sum(CASE WHEN split_part(event_type, '.', 2) = 'complained' THEN 1 ELSE 0 END) AS complained,
    sum(
      CASE
        WHEN split_part(event_type, '.', 2) = 'bounced'
          AND json_extract_scalar(attributes, '$.bounce_type') = 'hard' THEN 1
        ELSE 0
      END
    ) AS hard_bounced
  FROM events
  WHERE split_part(event_type, '.', 1) = channel
  GROUP BY day, provider
)
SELECT
  day,
  provider,
  sent,
  delivered,
  complained,
  hard_bounced,
  round(CAST(complained AS DOUBLE) / nullif(delivered, 0), 4) AS complaint_rate,
  round(CAST(hard_bounced AS DOUBLE) / nullif(sent, 0), 4) AS hard_bounce_rate
FROM daily
WHERE complained > 0 OR hard_bounced > 0 OR sent > 0 OR delivered > 0
ORDER BY day, provider
