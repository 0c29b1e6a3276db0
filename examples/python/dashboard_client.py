#!/usr/bin/env python3
"""A school dashboard client in Python: signs in over HTTP, opens the plain WebSocket endpoint and prints
every message it receives. It stays connected as long as it runs: when the server says the access token is
expiring (`token_expiring`), it renews the token with its refresh token (POST /api/auth/refresh) and hands the
new one to the open connection (`refresh`), which answers `token_refreshed`. Needs the `websockets` package
(Debian: apt-get install python3-websockets; elsewhere: pip install websockets).

    python3 examples/python/dashboard_client.py --origin http://localhost:8000 --school 1 \
        --email owner@example.com --password owner-password
"""
import argparse
import asyncio
import json
import sys
import urllib.error
import urllib.request

import websockets


def post(origin: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{origin}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        sys.exit(f"{path} failed: {error.code} {error.read().decode()}")


def login(origin: str, email: str, password: str) -> dict:
    # Not a browser: the refresh token comes in the body (a browser gets an HttpOnly cookie instead).
    return post(origin, "/api/auth/login", {"email": email, "password": password, "refreshTokenInBody": True})


def refresh(origin: str, session: dict) -> None:
    """Renews the access token; the refresh token rotates, so only the newest one is kept."""
    renewed = post(origin, "/api/auth/refresh", {"refreshToken": session["refreshToken"]})
    session["token"], session["refreshToken"] = renewed["token"], renewed["refreshToken"]


async def listen(origin: str, school: int, session: dict, max_messages: int) -> None:
    url = f"{origin.replace('http', 'ws', 1)}/ws/schools/{school}/dashboard/"
    try:
        async with websockets.connect(url, extra_headers={"Authorization": f"Bearer {session['token']}"}) as socket:
            received = 0
            async for raw in socket:
                message = json.loads(raw)
                print(message["type"], json.dumps(message["data"], sort_keys=True), flush=True)
                if message["type"] == "token_expiring":  # renew in band: no reconnect, nothing missed
                    await asyncio.to_thread(refresh, origin, session)
                    await socket.send(json.dumps({"type": "refresh", "data": {"token": session["token"]}}))
                if received == 1:  # the snapshot is in: check the line is alive
                    await socket.send(json.dumps({"type": "ping", "data": "hello from python"}))
                received += 1
                if max_messages and received >= max_messages:
                    return
    except websockets.exceptions.InvalidStatusCode as error:
        sys.exit(f"handshake refused: {error.status_code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--origin", default="http://localhost:8000")
    parser.add_argument("--school", type=int, default=1)
    parser.add_argument("--email", default="owner@example.com")
    parser.add_argument("--password", default="owner-password")
    parser.add_argument("--max-messages", type=int, default=0, help="exit after this many messages (0: never)")
    args = parser.parse_args()
    session = login(args.origin, args.email, args.password)
    try:
        asyncio.run(listen(args.origin, args.school, session, args.max_messages))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
