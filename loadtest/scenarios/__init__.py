"""The benchmarks themselves, each a plan of commands on the rig and a verdict: lockdown,
drill, flood and press, with what they share (common), their background traffic and how a run
settles (outcome)."""
