"""The API's one mapping of domain errors to DRF's."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from rest_framework.exceptions import NotFound as DRFNotFound
from rest_framework.exceptions import PermissionDenied, ValidationError

from mtm.errors import Forbidden, InvalidInput, NotFound

T = TypeVar("T")


def domain(call: Callable[[], T]) -> T:
    """Run a service or selector call, its domain errors as DRF's (403, 404, 400)."""
    try:
        return call()
    except Forbidden as err:
        raise PermissionDenied(err.message) from err
    except NotFound as err:
        raise DRFNotFound(err.message) from err
    except InvalidInput as err:
        raise ValidationError({"detail": err.message}) from err
