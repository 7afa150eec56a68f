"""One module per ``gladier`` command (or command group); gladier.cli adds them to the group."""
