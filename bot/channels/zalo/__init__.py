"""The Zalo Bot Platform channel: its HTTP API client and event parsing."""
