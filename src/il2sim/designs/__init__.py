"""Dose-finding designs: conduct a live trial and simulate operating characteristics."""
