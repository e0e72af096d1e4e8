"""The journeys' dialogs, written once for every channel: what to ask, which choices to offer,
how to read the answer and which service to call."""
