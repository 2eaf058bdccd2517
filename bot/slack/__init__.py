"""The Slack adapter: Bolt listeners, Block Kit rendering and message metadata."""
