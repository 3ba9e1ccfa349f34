-- Events per day, provider and canonical type (day: the UTC day of occurred_at).
SELECT
  day,
  provider,
  event_type,
  count(*) AS events
FROM events
GROUP BY day, provider, event_type
ORDER BY day, provider, event_type
