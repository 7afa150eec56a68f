"""Gladier 0.11's path to the pydantic v1 API (``pydantic.v1`` under pydantic 2), which its
state objects are built on; ``ValidationError`` is the error a bad state field raises."""

try:
    from pydantic.v1 import *  # noqa: F401,F403
except ImportError:  # pydantic 1 before 1.10.17 has no pydantic.v1
    from pydantic import *  # type: ignore[no-redef,assignment] # noqa: F401,F403
