#!/usr/bin/env python3
"""A school dashboard client in Python: signs in over HTTP, opens the plain WebSocket endpoint and prints
every message it receives. Needs the `websockets` package (Debian: apt-get install python3-websockets;
elsewhere: pip install websockets).

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


def login(origin: str, email: str, password: str) -> str:
    request = urllib.request.Request(
        f"{origin}/api/auth/login",
        data=json.dumps({"email": email, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request) as response:
            return json.load(response)["token"]
    except urllib.error.HTTPError as error:
        sys.exit(f"login failed: {error.code} {error.read().decode()}")


async def listen(origin: str, school: int, token: str, max_messages: int) -> None:
    url = f"{origin.replace('http', 'ws', 1)}/ws/schools/{school}/dashboard/"
    try:
        async with websockets.connect(url, extra_headers={"Authorization": f"Bearer {token}"}) as socket:
            received = 0
            async for raw in socket:
                message = json.loads(raw)
                print(message["type"], json.dumps(message["data"], sort_keys=True), flush=True)
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
    token = login(args.origin, args.email, args.password)
    try:
        asyncio.run(listen(args.origin, args.school, token, args.max_messages))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
