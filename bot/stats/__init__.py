"""Anonymous weekly statistics for the gemeente: counts, never people. No Telegram."""
