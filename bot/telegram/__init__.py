"""The Telegram layer: updates in, replies out, and nothing else decides anything here."""
