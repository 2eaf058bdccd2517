"""Microsoft Teams through the Bot Framework: every botbuilder import lives in this package."""
