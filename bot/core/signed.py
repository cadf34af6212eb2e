"""Pickles that only our own processes can write: an HMAC (QUEUE_SECRET) in front of each.

Jobs, results and cached replies cross Redis. Unpickling runs code, so nothing is unpickled
unless its signature proves it came from a process holding the secret (our bot and workers);
a forged or altered blob, or one larger than allowed, is refused before pickle sees it.
"""

from __future__ import annotations

import hashlib
import hmac
import pickle
from typing import Any

DIGEST = hashlib.sha256
SIG_BYTES = DIGEST().digest_size


class SignatureError(ValueError):
    """A blob that is too large, truncated, or not signed with our secret."""


class Signer:
    def __init__(self, secret: bytes, max_bytes: int) -> None:
        if len(secret) < 16:
            raise ValueError("QUEUE_SECRET must be at least 16 characters")
        self._key = secret
        self.max_bytes = max_bytes

    def dumps(self, obj: Any) -> bytes:
        blob = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        if len(blob) > self.max_bytes:
            raise SignatureError(f"{len(blob)} bytes is over the {self.max_bytes}-byte limit")
        return hmac.new(self._key, blob, DIGEST).digest() + blob

    def loads(self, data: bytes) -> Any:
        if len(data) > self.max_bytes + SIG_BYTES:
            raise SignatureError("too large")
        sig, blob = data[:SIG_BYTES], data[SIG_BYTES:]
        if not hmac.compare_digest(sig, hmac.new(self._key, blob, DIGEST).digest()):
            raise SignatureError("bad signature")
        return pickle.loads(blob)
