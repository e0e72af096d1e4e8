"""Nhịp Cầu: composition, configuration, domain services, CLI and the local Bot API emulator."""

__version__ = "0.1.0"
