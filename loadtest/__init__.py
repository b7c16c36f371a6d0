"""Load tests of Muster's critical path: press → durable 202 → every live board.

`python -m loadtest press` starts a real `muster up` (embedded NATS and PostgreSQL), measures a raw
JetStream publish on its NATS server as the floor, presses panic buttons over HTTP at a fixed rate,
watches the boards over WebSocket and the alerts at a local sink (beside a direct Apprise send to
it), and prints the latencies side by side.
"""
