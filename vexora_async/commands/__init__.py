"""The ``vexora-async`` subcommands other than ``sandbox`` (which lives with the sandbox)."""
