"""A MineDojo stand-in that obeys Minecraft's rules as MineDojo applies them (tests only)."""

from .sim import FakeMineDojo, factory, make

__all__ = ["FakeMineDojo", "factory", "make"]
