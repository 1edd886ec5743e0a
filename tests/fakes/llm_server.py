"""Fake OpenAI and Anthropic HTTP servers on loopback, speaking the real wire formats.

Each server answers from a queue of scripted replies, falling back to a default
success, and logs every request so tests can assert what was (not) sent.
"""

from __future__ import annotations

import gzip
import io
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer. Besides status, body and headers, a reply can misbehave on the wire:

    ``truncate_to`` sends only that many body bytes (after declaring them all) and closes;
    ``reset`` resets the connection instead of answering; ``chunk_size`` streams the body
    chunked, without a content-length, pausing ``trickle_s`` between chunks; ``gzip``
    compresses it.
    """

    status: int = 200
    body: Any = None  # dict -> JSON, str/bytes -> sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    content_type: str = "application/json"
    truncate_to: int | None = None
    reset: bool = False
    chunk_size: int | None = None
    trickle_s: float = 0.0
    gzip: bool = False


@dataclass
class BodyWrite:
    """How much of one reply's body reached the socket before the handler stopped."""

    sent: int
    total: int


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class FakeLLMServer:
    """A threaded HTTP server on 127.0.0.1, port chosen by the OS."""

    def __init__(self, default: Callable[[SeenRequest], Reply]):
        self.default = default
        self.requests: list[SeenRequest] = []
        self.writes: list[BodyWrite] = []
        self._queue: list[Reply] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}"

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def __enter__(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()  # wakes handlers sleeping to simulate a slow server
        self._httpd.shutdown()
        self._httpd.server_close()

    def wait_for_writes(self, count: int, timeout_s: float = 60.0) -> list[BodyWrite]:
        """The first ``count`` body writes, once their handlers have finished (or failed) writing."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.writes) >= count:
                    return list(self.writes[:count])
            time.sleep(0.02)
        raise AssertionError(f"only {len(self.writes)} of {count} replies finished writing in {timeout_s:g}s")

    def _next_reply(self, req: SeenRequest) -> Reply:
        with self._lock:
            self.requests.append(req)
            if self._queue:
                return self._queue.pop(0)
        return self.default(req)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = server._next_reply(SeenRequest("POST", self.path, headers, body))
                if reply.delay_s and server._stopping.wait(reply.delay_s):
                    return
                if reply.reset:
                    self._reset()
                    return
                data = reply.body
                if isinstance(data, (dict, list)):
                    data = json.dumps(data)
                if isinstance(data, str):
                    data = data.encode()
                data = data or b""
                if reply.gzip:
                    data = gzip.compress(data)
                self.sent = 0
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", reply.content_type)
                    if reply.gzip:
                        self.send_header("content-encoding", "gzip")
                    if reply.chunk_size:
                        self.send_header("transfer-encoding", "chunked")
                    else:
                        self.send_header("content-length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    if reply.chunk_size:
                        self._write_chunked(data, reply)
                    else:
                        body = data if reply.truncate_to is None else data[: reply.truncate_to]
                        self.wfile.write(body)
                        self.sent = len(body)
                        if reply.truncate_to is not None:
                            self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out or refused the body and hung up, as the test intended
                finally:
                    with server._lock:
                        server.writes.append(BodyWrite(self.sent, len(data)))

            def _write_chunked(self, data: bytes, reply: Reply) -> None:
                for i in range(0, len(data), reply.chunk_size):
                    piece = data[i : i + reply.chunk_size]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.sent += len(piece)
                    if reply.trickle_s and server._stopping.wait(reply.trickle_s):
                        return
                self.wfile.write(b"0\r\n\r\n")

            def _reset(self) -> None:
                # Linger 0 makes close() send RST: the client sees a reset, not an orderly end.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.wfile = io.BytesIO()  # the server's final flush goes nowhere
                self.close_connection = True

        return Handler


def openai_ok(
    text: str = "hello",
    *,
    prompt_tokens: int = 100,
    completion_tokens: int = 20,
    cached_tokens: int = 0,
    finish_reason: str = "stop",
    model: str = "gpt-5",
) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens},
        },
    }


def openai_error(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return Reply(status, body, headers or {})


def anthropic_ok(
    text: str = "hello",
    *,
    input_tokens: int = 100,
    output_tokens: int = 20,
    cache_read: int = 0,
    cache_write: int = 0,
    stop_reason: str = "end_turn",
    model: str = "claude-haiku-4-5",
) -> dict:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_input_tokens": cache_read,
            "cache_creation_input_tokens": cache_write,
        },
    }


MISSING = object()


def with_usage(body: dict, usage: Any) -> dict:
    """``body`` with its usage report replaced (``MISSING`` drops it), for providers that misreport."""
    out = dict(body)
    if usage is MISSING:
        out.pop("usage", None)
    else:
        out["usage"] = usage
    return out


def anthropic_error(status: int, type_: str, message: str, *, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"type": "error", "error": {"type": type_, "message": message}}, headers or {})


def echo_openai(req: SeenRequest) -> Reply:
    """Default OpenAI reply: answers with the last message's content, so answers differ per prompt."""
    last = req.body["messages"][-1]["content"] if isinstance(req.body, dict) else ""
    return Reply(200, openai_ok(f"answer to: {last}", model=req.body.get("model", "m")))


def echo_anthropic(req: SeenRequest) -> Reply:
    last = req.body["messages"][-1]["content"] if isinstance(req.body, dict) else ""
    return Reply(200, anthropic_ok(f"answer to: {last}", model=req.body.get("model", "m")))


class SleepRecorder:
    """Stands in for time.sleep: records requested waits and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
