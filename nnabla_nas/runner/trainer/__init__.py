"""Trainers: retrain a fixed network."""

from .trainer import Trainer

__all__ = ["Trainer"]
