"""Work on a timer: reminders, the weekly report, retention; each calls into the bot's core."""
