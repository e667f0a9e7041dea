#!/usr/bin/env python3
"""Generate known-answer test vectors for Django password-hasher formats.

Writes ``django_hashes.json`` (next to this script): a JSON list of objects

    {"hasher": "<class name>", "algorithm": "<prefix before first '$'>",
     "key": "<plaintext>", "encoded": "<encoded hash>", "cost": "default"|"low"}

Every vector is produced by the real Django / djangorestframework-api-key code
and is verified (with Django's ``check_password`` and with
``rest_framework_api_key.crypto.KeyGenerator().verify``, plus an independent
re-derivation from the documented formula) before the file is written; the
script exits non-zero if anything fails. Salts and keys are random, so each run
produces different (but equally valid) vectors.

How to run (any Python >= 3.10):

    python3 -m venv /tmp/djvenv
    /tmp/djvenv/bin/pip install "Django>=4.2" argon2-cffi bcrypt \
        djangorestframework "djangorestframework-api-key>=3,<4"
    /tmp/djvenv/bin/python crates/apikeys/tests/data/gen_django_vectors.py

Versions used for the committed file: see DJANGO_FORMATS.md.
"""

import base64
import binascii
import hashlib
import hmac
import json
import os
import sys

import django
from django.conf import settings

settings.configure(
    # Register every hasher so check_password() can identify all of them.
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
        "django.contrib.auth.hashers.BCryptPasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ],
    INSTALLED_APPS=[],
    USE_TZ=True,
)
django.setup()

import argon2  # noqa: E402
import bcrypt  # noqa: E402
from django.contrib.auth import hashers as h  # noqa: E402
from rest_framework_api_key.crypto import KeyGenerator, Sha512ApiKeyHasher  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "django_hashes.json")
UNICODE_KEY = "clé-ünïcødé.secret"


# ---- low-cost variants (same algorithm prefix, cheaper work factors) --------
class LowPBKDF2(h.PBKDF2PasswordHasher):
    iterations = 1000


class LowPBKDF2SHA1(h.PBKDF2SHA1PasswordHasher):
    iterations = 1000


class LowArgon2(h.Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 1024
    parallelism = 1


class LowBCryptSHA256(h.BCryptSHA256PasswordHasher):
    rounds = 4


class LowBCrypt(h.BCryptPasswordHasher):
    rounds = 4


class LowScrypt(h.ScryptPasswordHasher):
    work_factor = 2**10
    parallelism = 1


# (default-cost hasher, low-cost hasher or None when there is no work factor)
HASHERS = [
    (h.PBKDF2PasswordHasher(), LowPBKDF2()),
    (h.PBKDF2SHA1PasswordHasher(), LowPBKDF2SHA1()),
    (h.Argon2PasswordHasher(), LowArgon2()),
    (h.BCryptSHA256PasswordHasher(), LowBCryptSHA256()),
    (h.BCryptPasswordHasher(), LowBCrypt()),
    (h.ScryptPasswordHasher(), LowScrypt()),
    (h.MD5PasswordHasher(), None),
    (Sha512ApiKeyHasher(), None),
]


def new_key():
    key, prefix, hashed = KeyGenerator().generate()
    assert len(prefix) == 8 and key.startswith(prefix + ".") and len(key) == 41
    assert KeyGenerator().verify(key, hashed)
    return key


def independent_check(algorithm, key, encoded):
    """Re-derive the hash from the documented formula (not via Django)."""
    pw = key.encode("utf-8")
    if algorithm in ("pbkdf2_sha256", "pbkdf2_sha1"):
        alg, iters, salt, b64 = encoded.split("$")
        dg = "sha256" if alg == "pbkdf2_sha256" else "sha1"
        dk = hashlib.pbkdf2_hmac(dg, pw, salt.encode(), int(iters))  # dklen = digest size
        return base64.b64encode(dk).decode() == b64
    if algorithm == "scrypt":
        alg, n, salt, r, p, b64 = encoded.split("$")
        dk = hashlib.scrypt(pw, salt=salt.encode(), n=int(n), r=int(r), p=int(p),
                            maxmem=2**31 - 1, dklen=64)
        return base64.b64encode(dk).decode() == b64
    if algorithm == "md5":
        alg, salt, hx = encoded.split("$")
        return hashlib.md5(salt.encode() + pw).hexdigest() == hx
    if algorithm == "sha512":
        return encoded == "sha512$$" + hashlib.sha512(pw).hexdigest()
    if algorithm == "bcrypt_sha256":
        inner = encoded[len("bcrypt_sha256$"):].encode()
        return bcrypt.checkpw(hashlib.sha256(pw).hexdigest().encode(), inner)
    if algorithm == "bcrypt":
        return bcrypt.checkpw(pw, encoded[len("bcrypt$"):].encode())
    if algorithm == "argon2":
        phc = encoded[len("argon2"):]  # keeps the leading '$'
        return argon2.low_level.verify_secret(phc.encode(), pw, argon2.low_level.Type.ID)
    raise AssertionError(algorithm)


def main():
    vectors = []
    for default, low in HASHERS:
        plan = [(default, "default", new_key()), (default, "default", new_key())]
        if low is not None:
            plan += [(low, "low", new_key()), (low, "low", new_key()), (low, "low", UNICODE_KEY)]
        else:
            plan += [(default, "default", UNICODE_KEY)]
        for hasher, cost, key in plan:
            encoded = h.make_password(key, hasher=hasher)
            vectors.append({
                "hasher": type(default).__name__,
                "algorithm": hasher.algorithm,
                "key": key,
                "encoded": encoded,
                "cost": cost,
            })

    failures = []
    kg = KeyGenerator()
    for v in vectors:
        key, enc, alg = v["key"], v["encoded"], v["algorithm"]
        checks = {
            "prefix": enc.split("$", 1)[0] == alg,
            "KeyGenerator.verify": kg.verify(key, enc),
            "KeyGenerator.verify(wrong)": not kg.verify(key + "x", enc),
            "independent": independent_check(alg, key, enc),
        }
        if alg != "sha512":  # sha512 is not (and must not be) in PASSWORD_HASHERS
            checks["check_password"] = h.check_password(key, enc)
            checks["check_password(wrong)"] = not h.check_password(key[:-1], enc)
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            failures.append((v, bad))
    if failures:
        for v, bad in failures:
            print("FAILED", bad, v, file=sys.stderr)
        sys.exit(1)

    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(vectors, f, indent=2, ensure_ascii=False)
        f.write("\n")
    json.load(open(OUT, encoding="utf-8"))
    print("wrote %d verified vectors to %s" % (len(vectors), OUT))


if __name__ == "__main__":
    main()
