"""The ``qops tui`` dashboard. Importing this package loads nothing; `qops.tui.app` does."""
