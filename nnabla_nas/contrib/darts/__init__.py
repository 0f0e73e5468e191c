"""The DARTS cell search space."""
