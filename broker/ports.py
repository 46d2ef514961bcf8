"""Listening ports the broker needs, checked before anything starts so a taken one is a clear refusal."""

from __future__ import annotations

import socket

from broker.settings import SettingsError


def _taken(port: int, setting: str, host: str, error: OSError) -> SettingsError:
    return SettingsError(
        f"port {port} on {host} ({setting}) cannot be used: {error.strerror or error}. "
        f"Another process probably listens there: stop it, or set {setting} to a free port."
    )


def listening_socket(host: str, port: int, setting: str) -> socket.socket:
    """A socket bound and listening on host:port; a SettingsError naming `setting` if the port is taken."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port left in TIME_WAIT is free to use
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise _taken(port, setting, host, error) from None
    return sock


def ensure_free(host: str, port: int, setting: str) -> None:
    """Refuse (SettingsError naming `setting`) when host:port cannot be listened on."""
    listening_socket(host, port, setting).close()
