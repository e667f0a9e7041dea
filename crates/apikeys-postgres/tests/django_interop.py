"""Django's side of tests/django_interop.rs: djangorestframework-api-key 3.x itself,
driven by JSON lines on stdin, one JSON reply per line on stdout.

Usage: python django_interop.py DATABASE_URL SCHEMA

DATABASE_URL is postgres://user[:password]@host[:port]/dbname, optionally with
?host=/socket/dir; SCHEMA is the schema (search_path) that holds the tables.
"""

import json
import sys
import traceback
from datetime import datetime
from urllib.parse import parse_qs, unquote, urlsplit

import django
from django.conf import settings


def configure(url, schema):
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or "localhost"])[0]
    settings.configure(
        DEBUG=False,
        USE_TZ=True,
        SECRET_KEY="apikeys-interop-test",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework",
            "rest_framework_api_key",
        ],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": unquote(parts.path.lstrip("/")) or "postgres",
                "USER": unquote(parts.username or "postgres"),
                "PASSWORD": unquote(parts.password or ""),
                "HOST": host,
                "PORT": str(parts.port or 5432),
                "OPTIONS": {"options": f"-c search_path={schema}"},
            }
        },
    )
    django.setup()


def handle(request):
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from rest_framework_api_key.crypto import KeyGenerator
    from rest_framework_api_key.models import APIKey

    op = request["op"]
    if op == "migrate":
        call_command("migrate", verbosity=0, interactive=False)
        return {}
    if op == "create":
        expiry = request.get("expiry_date")
        _, key = APIKey.objects.create_key(
            name=request["name"],
            expiry_date=datetime.fromisoformat(expiry) if expiry else None,
        )
        return {"prefix": key.split(".")[0], "key": key}
    if op == "create_legacy":
        # What djangorestframework-api-key 1.x/2.x stored: the project's default Django
        # password hasher (PBKDF2-SHA256, a million iterations in Django 5.2).
        generator = KeyGenerator()
        key, prefix, _ = generator.generate()
        hashed = make_password(key)
        APIKey.objects.create(
            id=f"{prefix}.{hashed}", prefix=prefix, hashed_key=hashed, name=request["name"]
        )
        return {"prefix": prefix, "key": key, "hashed_key": hashed}
    if op == "is_valid":
        return {"valid": APIKey.objects.is_valid(request["key"])}
    if op == "revoke":
        api_key = APIKey.objects.get(prefix=request["prefix"])
        api_key.revoked = True
        api_key.save()
        return {}
    if op == "set_expiry":
        # One field, as an admin action or a data migration writes it.
        APIKey.objects.filter(prefix=request["prefix"]).update(
            expiry_date=datetime.fromisoformat(request["expiry_date"])
        )
        return {}
    if op == "get":
        k = APIKey.objects.get(prefix=request["prefix"])
        return {
            "id": k.id,
            "name": k.name,
            "hashed_key": k.hashed_key,
            "revoked": k.revoked,
            "created": k.created.isoformat(),
            "expiry_date": k.expiry_date.isoformat() if k.expiry_date else None,
            "has_expired": k.has_expired,
        }
    if op == "list":
        return {"prefixes": [k.prefix for k in APIKey.objects.all()]}
    raise ValueError(f"unknown op {op!r}")


def main():
    configure(sys.argv[1], sys.argv[2])
    for line in sys.stdin:
        try:
            reply = {"ok": handle(json.loads(line))}
        except Exception:  # reported to the Rust test, which fails with it
            reply = {"error": traceback.format_exc()}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
