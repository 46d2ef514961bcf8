"""Starting and running the broker: gunicorn's settings, start-up checks, the operator's commands."""
