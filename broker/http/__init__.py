"""The HTTP face: the Flask app, the OSB adapter, and the checks every request passes first."""
