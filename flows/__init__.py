"""Platform-neutral conversation flows, answer parsing, the cost model and plan summaries."""
