"""One module per ``smtp-sandbox`` sub-command (see :mod:`sandbox.cli`)."""
