"""Widgets the dashboard screens are built from."""
