"""libsodium sealed boxes from Python (ctypes, no extra package): what a
fake service needs to publish a key on R/svc/<service>/pubkey and open the
requests web-api seals to it, and what a test needs to seal one itself
(docs/topics.md, "Sealed requests")."""
import base64
import ctypes
import ctypes.util
import json

_lib = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
assert _lib.sodium_init() >= 0
SEALBYTES = _lib.crypto_box_sealbytes()


class KeyPair:
    def __init__(self):
        self.pk = ctypes.create_string_buffer(32)
        self.sk = ctypes.create_string_buffer(32)
        assert _lib.crypto_box_keypair(self.pk, self.sk) == 0

    def pubkey_payload(self):
        return json.dumps({"alg": "x25519-sealedbox",
                           "key": base64.b64encode(self.pk.raw).decode()})

    def open(self, b64):
        box = base64.b64decode(b64)
        out = ctypes.create_string_buffer(max(len(box) - SEALBYTES, 1))
        if _lib.crypto_box_seal_open(out, box, ctypes.c_ulonglong(len(box)),
                                     self.pk, self.sk) != 0:
            raise ValueError("cannot open the sealed box")
        return out.raw[:len(box) - SEALBYTES]

    def open_request(self, req):
        """The request a {"sealed":..., "transaction":...} object holds."""
        inner = json.loads(self.open(req["sealed"]))
        if "transaction" in req:
            inner["transaction"] = req["transaction"]
        return inner


def seal(pubkey_payload, data):
    """`data` (bytes) sealed to the key of a pubkey payload, in Base64."""
    pk = base64.b64decode(json.loads(pubkey_payload)["key"])
    out = ctypes.create_string_buffer(len(data) + SEALBYTES)
    assert _lib.crypto_box_seal(out, data, ctypes.c_ulonglong(len(data)), pk) == 0
    return base64.b64encode(out.raw).decode()
