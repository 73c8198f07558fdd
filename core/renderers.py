"""The API's JSON renderer: DRF's `JSONRenderer` output, encoded by orjson.

DRF encodes with the standard library's `json.dumps` and its `JSONEncoder`: ≈ 100–150 µs for a
20-row campaigns page (17 KB), against 8 µs with orjson. `JSONRenderer` here gives DRF's bytes:

- compact, UTF-8 (not ASCII-escaped), U+2028 and U+2029 escaped as DRF does;
- datetimes, dates and times, Decimals, lazy strings, bytes, UUID-likes and anything else orjson does
  not encode natively go through DRF's own encoder (`JSONEncoder.default`), so they read as before;
- whatever orjson refuses (an integer beyond 64 bits, a non-string key, a type DRF cannot encode
  either), an `indent` asked for, or settings other than DRF's defaults (ASCII output, loose
  separators, non-strict floats, another encoder class) is rendered by DRF's renderer itself.

Two differences remain, both in floats, which the API's representations do not carry (amounts are
decimal strings, times ISO 8601 strings): a float is written in orjson's shortest spelling, the same
number but at times in another form (`1e-7` and `0.000025` where `json` writes `1e-07` and
`2.5e-05`); and a non-finite float (NaN, ±Infinity), which DRF refuses with an error under
STRICT_JSON, is written as `null`.
"""

from __future__ import annotations

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

# datetimes and dataclasses to DRF's encoder (orjson would write its own forms); subclasses of str,
# int, dict and list (DRF's ReturnDict, enums) stay as orjson reads them, as json.dumps reads them.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_DEFAULT = JSONEncoder().default
_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        plain = (
            self.encoder_class is JSONEncoder
            and not self.ensure_ascii
            and self.compact
            and self.strict
            and self.get_indent(accepted_media_type, renderer_context or {}) is None
        )
        if not plain:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            encoded = orjson.dumps(data, default=_DEFAULT, option=_OPTIONS)
        except orjson.JSONEncodeError:  # DRF's renderer renders it, or raises what it always raised
            return super().render(data, accepted_media_type, renderer_context)
        # As DRF: JSON that is also a strict subset of JavaScript.
        if _LINE_SEPARATOR in encoded:
            encoded = encoded.replace(_LINE_SEPARATOR, b"\\u2028")
        if _PARAGRAPH_SEPARATOR in encoded:
            encoded = encoded.replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
        return encoded
