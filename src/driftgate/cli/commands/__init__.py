"""One module per command (or command group), pre-commit's commands/<verb>.py: each command is a plain
typed function returning its exit code; ``cli/app.py`` registers them."""
