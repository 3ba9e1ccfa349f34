-- Event names with no canonical type yet (event_type unknown), per provider, with how often and when they were last received.
SELECT
  provider,
  provider_event,
  count(*) AS events,
  min(received_at) AS first_seen,
  max(received_at) AS last_seen
FROM events
WHERE event_type = 'unknown'
GROUP BY provider, provider_event
ORDER BY last_seen DESC, provider, provider_event
