"""The floors every bound is a ratio to, measured on the same servers in the same run: raw
JetStream publishes, a raw HTTP intake, a WebSocket echo and a direct Apprise send (suite runs
them all)."""
