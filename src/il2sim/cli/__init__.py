"""Command-line interface (typer). No logic here: only parsing and printing."""
