"""Secret values that must never leak through repr(), logs, error pages or the API."""

from __future__ import annotations


class Secret:
    """Wraps a secret string; only `reveal()` gives the value back."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None) -> None:
        self._value = value or ""

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self):
        # Never pickle a secret into a broker message or a cache entry.
        raise TypeError("Secret values cannot be pickled")
