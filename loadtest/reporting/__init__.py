"""What a run tells: HDR latencies, command → board and press → alert matching, what Muster and
the machine saw (metrics, CPU), the result table and JSON, and the plot."""
