"""The bot's core between the channels and the engine: what a running bot holds and does.

Telegram handlers and timed jobs call into this layer; it never imports either of them.
"""
