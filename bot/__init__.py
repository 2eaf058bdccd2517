"""mlplan: the platform adapters, the app wiring and the scheduler."""
