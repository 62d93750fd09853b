"""The warm handoff to a human meedenker: dialog, requests, staff rules. No Telegram."""
