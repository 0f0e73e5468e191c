"""Leaf utilities: atomic file writes, logging, checkpoints."""
