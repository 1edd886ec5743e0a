"""How large and how slow an answer may be, enforced while the HTTP body is read.

The SDKs read a whole response body into memory before parsing it, and their
timeout applies to each read, not to the exchange. A provider (or a proxy in
front of it) that ignores ``max_tokens`` could send any amount, and one that
trickles a byte at a time would never time out. The adapters therefore build
their SDK's HTTP client with :func:`guarded_http_client` and wrap each request in
:func:`response_limits`: the body is read through a counter that stops at what
``max_tokens`` can hold, and at the LLM timeout (so an exchange lasts at most
about twice the timeout: the deadline plus one read in progress).

The text itself is checked again by :class:`autocomp.llm.LLMService` against
:func:`max_answer_chars`, for every client, manual ones included.
"""

from __future__ import annotations

import functools
import importlib
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from autocomp.llm.charging import MAX_CHARS_PER_TOKEN

# Room for short answers to tiny max_tokens, and for the reasoning summaries some servers add.
ANSWER_SLACK_CHARS = 4096
# JSON escapes make a character up to 12 bytes on the wire (an astral one as two \uXXXX), but such
# characters are a token or more each; 4 bytes per allowed character covers every honest body.
BODY_BYTES_PER_CHAR = 4
# The JSON around the text: ids, usage, logprobs of a few choices.
ENVELOPE_BYTES = 64 * 1024
_READ_CHUNK = 64 * 1024


def max_answer_chars(max_tokens: int) -> int:
    """The most characters an answer limited to ``max_tokens`` can honestly hold."""
    return max(0, int(max_tokens)) * MAX_CHARS_PER_TOKEN + ANSWER_SLACK_CHARS


def max_body_bytes(max_tokens: int) -> int:
    """The most bytes an HTTP body carrying such an answer can honestly need."""
    return max_answer_chars(max_tokens) * BODY_BYTES_PER_CHAR + ENVELOPE_BYTES


class ResponseTooLarge(Exception):
    """Raised inside the SDK call when a body passes :func:`max_body_bytes`; turned into an ``LLMError``."""

    def __init__(self, *, status: int, limit: int, received: int | None = None, declared: int | None = None):
        self.status = status
        self.limit = limit
        self.received = received
        self.declared = declared
        if declared is not None:
            what = f"the HTTP {status} body declared {declared:,} bytes, over the {limit:,} allowed"
        else:
            what = f"the HTTP {status} body was still coming at {received:,} bytes, the most allowed"
        super().__init__(what)


class UndecodableBody(Exception):
    """The body is compressed in a way that cannot be size-checked while decoding, or is corrupt."""


@dataclass(frozen=True)
class ResponseLimits:
    """What the body of the request in progress may be: at most ``max_bytes``, done by ``deadline``."""

    max_bytes: int
    deadline: float
    timeout_s: float
    clock: Callable[[], float]


_active: ContextVar[ResponseLimits | None] = ContextVar("autocomp_llm_response_limits", default=None)


@contextmanager
def response_limits(max_tokens: int, timeout_s: float, clock: Callable[[], float] = time.monotonic) -> Iterator[None]:
    """Apply the size and time limits of one request to every HTTP exchange made inside the block."""
    limits = ResponseLimits(max_body_bytes(max_tokens), clock() + timeout_s, timeout_s, clock)
    token = _active.set(limits)
    try:
        yield
    finally:
        _active.reset(token)


def guarded_http_client(sdk: ModuleType) -> Any:
    """The SDK's default HTTP client, with hooks that enforce :func:`response_limits`.

    Hooks rather than a transport, so proxies configured in the environment are covered too.
    """
    http = _http_module(sdk)
    return sdk.DefaultHttpxClient(event_hooks={"request": [_ask_uncompressed], "response": [_guard(http)]})


def _http_module(sdk: ModuleType) -> ModuleType:
    """``httpx`` or its successor ``httpx2``, whichever this SDK version is built on."""
    for cls in getattr(sdk.DefaultHttpxClient, "__mro__", ()):
        top = cls.__module__.split(".")[0]
        if top in ("httpx", "httpx2"):
            return importlib.import_module(top)
    base = getattr(sdk, "_base_client", None)
    for name in ("httpx2", "httpx"):
        if isinstance(getattr(base, name, None), ModuleType):
            return getattr(base, name)
    raise RuntimeError(f"cannot tell which HTTP library {sdk.__name__} uses; autocomp supports httpx and httpx2")


def _ask_uncompressed(request: Any) -> None:
    # A compressed body is only counted before decompression: a small gzip body can unpack to gigabytes.
    request.headers["accept-encoding"] = "identity"


def _guard(http: ModuleType) -> Callable[[Any], None]:
    stream_class = _counted_stream_class(http)

    def on_response(response: Any) -> None:
        limits = _active.get()
        if limits is None:
            return
        if limits.clock() > limits.deadline:
            raise http.ReadTimeout(f"no complete answer within {limits.timeout_s:g}s", request=response.request)
        declared = response.headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limits.max_bytes:
            raise ResponseTooLarge(status=response.status_code, limit=limits.max_bytes, declared=int(declared))
        encodings = [e.strip().lower() for e in response.headers.get_list("content-encoding", split_commas=True)]
        encodings = [e for e in encodings if e and e != "identity"]
        if encodings:
            if len(encodings) > 1 or encodings[0] not in ("gzip", "deflate"):
                raise UndecodableBody(f"content-encoding {', '.join(encodings)} (autocomp asks for identity)")
            # Decoded here, under the same limit, instead of by the HTTP library without one.
            del response.headers["content-encoding"]
        response.stream = stream_class(response.stream, limits, response.status_code, response.request,
                                       encodings[0] if encodings else None)

    return on_response


@functools.cache
def _counted_stream_class(http: ModuleType) -> type:
    """A byte stream for ``http`` (which insists on its own base class) that counts and times what it yields."""

    class CountedStream(http.SyncByteStream):
        def __init__(self, inner: Any, limits: ResponseLimits, status: int, request: Any, encoding: str | None):
            self._inner = inner
            self._limits = limits
            self._status = status
            self._request = request
            # wbits 47 accepts a gzip or a zlib header; raw deflate streams are rare enough to refuse.
            self._decoder = zlib.decompressobj(47) if encoding else None

        def __iter__(self) -> Iterator[bytes]:
            total = 0
            for chunk in self._inner:
                for piece in self._decode(chunk):
                    total += len(piece)
                    if total > self._limits.max_bytes:
                        raise ResponseTooLarge(status=self._status, limit=self._limits.max_bytes,
                                               received=self._limits.max_bytes)
                    yield piece
                if self._limits.clock() > self._limits.deadline:
                    raise http.ReadTimeout(f"no complete answer within {self._limits.timeout_s:g}s",
                                           request=self._request)
            if self._decoder is not None and not self._decoder.eof:
                raise UndecodableBody("the compressed body ends before its end marker")

        def _decode(self, chunk: bytes) -> Iterator[bytes]:
            if self._decoder is None:
                yield chunk
                return
            data = chunk
            while not self._decoder.eof:
                try:
                    # max_length bounds what one call may unpack, so a bomb is caught a chunk at a time.
                    piece = self._decoder.decompress(data, _READ_CHUNK)
                except zlib.error as e:
                    raise UndecodableBody(f"corrupt compressed body ({e})") from None
                data = self._decoder.unconsumed_tail
                if not piece and not data:
                    return
                yield piece

        def close(self) -> None:
            self._inner.close()

    return CountedStream
