"""Micro-benchmarks with no `muster up`: what one event costs a live board (fold) and what an
atomic batch costs nats-server (batch)."""
