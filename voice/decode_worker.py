"""A decoder process: ``python -m voice.decode_worker FD MEMORY_MB`` (voice/isolated.py).

It sets its own limits before it reads any audio — an address space of what it holds after
start-up plus MEMORY_MB, no core files — says it is ready, then decodes one request at a
time from the socket FD (``codecs.decode_container`` with the demuxer the server's check
named) until the server closes its end. What it cannot decode is answered as a refusal
with its reason; running out of memory is answered too, and then it ends, since ffmpeg's
state after a failed allocation is not worth trusting. A crash or a hang simply ends it:
the server notices, answers 415 for that audio and starts another. It logs nothing about
the audio (its sizes are the server's to log).
"""

from __future__ import annotations

import resource
import socket
import sys

from voice import codecs
from voice.base import AudioError
from voice.isolated import recv_message, send_message


def _address_space() -> int:
    """This process's virtual memory now, in bytes (Linux; 0 where /proc is absent)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def limit(memory_mb: int) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if _address_space():
        budget = _address_space() + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (budget, budget))


def serve(sock: socket.socket) -> None:
    while True:
        try:
            header, data = recv_message(sock, codecs.MAX_BYTES)
        except EOFError:
            return  # the server closed its end, or is gone
        try:
            audio = codecs.decode_container(data, str(header.get("demuxer")))
        except AudioError as exc:
            send_message(sock, {"ok": False, "status": exc.status, "reason": str(exc)})
            continue
        except MemoryError:
            del data
            reason = "audio needs more memory than allowed to decode"
            send_message(sock, {"ok": False, "status": 415, "exit": True, "reason": reason})
            return
        except Exception:  # anything else ffmpeg or PyAV raised: this audio is the problem
            send_message(sock, {"ok": False, "status": 415, "reason": "audio could not be decoded"})
            continue
        send_message(sock, {"ok": True}, audio.pcm)


def main(argv: list[str]) -> int:
    fd, memory_mb = int(argv[0]), int(argv[1])
    sock = socket.socket(fileno=fd)
    limit(memory_mb)
    send_message(sock, {"ready": True})
    serve(sock)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
