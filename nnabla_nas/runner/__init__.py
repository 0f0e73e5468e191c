"""The run loop, its callbacks, searchers and trainers."""
