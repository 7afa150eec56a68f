"""The error a state object raises for a bad field, as in Gladier 0.11.

0.11's state objects are pydantic (v1 API) models, so a bad field raises pydantic's
``ValidationError`` (``gladier.utils.pydantic_v1.ValidationError``), which 0.11 code
catches. The error raised here is one, and a :class:`~gladier.exc.FlowGenException` too.
pydantic is imported only when such an error is raised.
"""

from __future__ import annotations

import functools
import typing as t


@functools.lru_cache(maxsize=None)
def _error_class() -> type:
    from gladier.exc import FlowGenException
    from gladier.utils.pydantic_v1 import ValidationError

    class StateValidationError(FlowGenException, ValidationError):  # type: ignore[misc]
        """A state object's field is missing or invalid."""

        def __init__(self, errors: t.Sequence[t.Any], model: type) -> None:
            ValidationError.__init__(self, errors, model)
            self.hint = None

        __str__ = ValidationError.__str__

    StateValidationError.__module__ = "gladier.tools.validation"
    return StateValidationError


def state_validation_error(state_class: type, field: str, message: str) -> Exception:
    """A ``ValidationError`` for ``field`` of ``state_class`` saying ``message``."""
    try:
        from pydantic.v1.error_wrappers import ErrorWrapper
        from pydantic.v1 import create_model
    except ImportError:  # pydantic 1
        from pydantic.error_wrappers import ErrorWrapper  # type: ignore[no-redef]
        from pydantic import create_model  # type: ignore[no-redef]
    model = create_model(state_class.__name__)
    return _error_class()([ErrorWrapper(ValueError(message), loc=(field,))], model)
