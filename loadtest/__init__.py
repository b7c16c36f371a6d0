"""Benchmarks of Muster's critical path: press → durable 202 → every live board and alert.

`python -m loadtest SCENARIO` (lockdown, drill, flood, press; `--help` lists them) starts a real
`muster up` (embedded NATS and PostgreSQL) on the rig (`loadtest.rig`), measures the floors on
its own servers (`loadtest.floors`), drives it with the clients (`loadtest.clients`: HTTP
commands, WebSocket boards, the alert sink) and prints the result (`loadtest.reporting`).
"""
