"""The tool's RSA key pairs, in the instance folder (lti_keys/, each key a file of mode 0600, created on first
use). /lti/jwks publishes every key; the one that signs is the newest key published for at least
LTI_KEY_PUBLISH_BEFORE_SIGN_S (platforms cache key sets: a key must be seen before anything is signed with it),
or the only key there is. `flask lti rotate-key` adds a key; `--retire` removes those older than the one
signing."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import current_app
from jwcrypto.jwk import JWK

KEY_DIR = "lti_keys"
KEY_BITS = 2048


@dataclass(frozen=True)
class ToolKey:
    kid: str
    private_pem: str
    created: float  # seconds since the epoch (the file's name carries it: no clock of the file system)

    def public_jwk(self) -> dict[str, Any]:
        jwk = json.loads(JWK.from_pem(self.private_pem.encode()).export_public())
        return {**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}


def _folder() -> Path:
    folder = Path(current_app.instance_path) / KEY_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _new_key(folder: Path) -> Path:
    """A new key pair written to a private temporary file and linked into place (two workers starting at once
    cannot leave half a key)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    kid = JWK.from_pem(pem).thumbprint()
    path = folder / f"{int(time.time() * 1000):015d}-{kid}.pem"
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".key.")  # mode 0600
    try:
        os.write(fd, pem)
        os.close(fd)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return path


def tool_keys() -> list[ToolKey]:
    """Every key, oldest first; the first one is created on first use."""
    folder = _folder()
    paths = sorted(folder.glob("*.pem"))
    if not paths:
        _new_key(folder)
        paths = sorted(folder.glob("*.pem"))
    keys = []
    for path in paths:
        stamp, _, kid = path.stem.partition("-")
        keys.append(ToolKey(kid=kid, private_pem=path.read_text(), created=int(stamp) / 1000))
    return keys


def signing_key(now: float | None = None) -> ToolKey:
    """The newest key published long enough ago; the oldest key when none is (a fresh rotation)."""
    now = time.time() if now is None else now
    wait = float(current_app.config.get("LTI_KEY_PUBLISH_BEFORE_SIGN_S", 24 * 3600))
    keys = tool_keys()
    ready = [key for key in keys if now - key.created >= wait]
    return ready[-1] if ready else keys[0]


def jwks() -> dict[str, list[dict[str, Any]]]:
    return {"keys": [key.public_jwk() for key in tool_keys()]}


def rotate(retire: bool = False) -> str:
    """Add a new key (published now, signing once it has been published long enough), or with `retire` remove
    the keys older than the one signing. What was done, as a sentence."""
    if retire:
        current = signing_key()
        old = [key for key in tool_keys() if key.created < current.created]
        for path in _folder().glob("*.pem"):
            if any(path.stem.endswith(key.kid) for key in old):
                path.unlink()
        return f"retired {len(old)} key(s); {current.kid} signs"
    path = _new_key(_folder())
    return f"added key {path.stem.partition('-')[2]}: published now, signing after " \
           f"{current_app.config.get('LTI_KEY_PUBLISH_BEFORE_SIGN_S', 24 * 3600):.0f} s"
