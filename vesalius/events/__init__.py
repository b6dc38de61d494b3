"""Live analytics (issue 11): event ingestion over REST and WebSocket, durable group commit,
rolling 1 s / 5 s / 60 s windows pushed to live dashboards, ingest keys."""
