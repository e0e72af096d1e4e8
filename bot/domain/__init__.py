"""The domain's values, in one place: what services and repositories take and return, and
the refusals they raise. One module per aggregate; nothing here imports the rest of the
program (services, storage, handlers, channels), so every layer can import it."""
