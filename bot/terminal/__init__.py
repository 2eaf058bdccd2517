"""The terminal adapter: `mlplan chat`, the same flows without Slack or Teams."""
