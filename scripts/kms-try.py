#!/usr/bin/env python3
# SPDX-License-Identifier: MPL-2.0
"""A tiny Kurento Protocol client (standard library only): connects to ws://HOST:PORT/kurento,
sends ping, getInfo, create MediaPipeline + PlayerEndpoint + FaceOverlayFilter, and prints each
answer. Usage: kms-try.py [ws://127.0.0.1:8888/kurento]"""
import base64, json, os, socket, struct, sys
from urllib.parse import urlparse

url = urlparse(sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:8888/kurento")
sock = socket.create_connection((url.hostname, url.port or 8888), timeout=10)
key = base64.b64encode(os.urandom(16)).decode()
sock.sendall((f"GET {url.path} HTTP/1.1\r\nHost: {url.hostname}\r\nUpgrade: websocket\r\n"
              f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
head = b""
while b"\r\n\r\n" not in head:
    head += sock.recv(1)
assert b" 101 " in head.split(b"\r\n")[0], head


def read_exact(n):
    b = b""
    while len(b) < n:
        b += sock.recv(n - len(b))
    return b


def send(obj):
    data = json.dumps(obj).encode()
    mask = os.urandom(4)
    n = len(data)
    hdr = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n))
    sock.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def recv():
    while True:
        b0, b1 = read_exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", read_exact(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", read_exact(8))[0]
        payload = read_exact(n)
        if b0 & 0x0F == 1:
            msg = json.loads(payload)
            if msg.get("method") != "onEvent":
                return msg


def call(i, method, params):
    send({"jsonrpc": "2.0", "id": i, "method": method, "params": params})
    r = recv()
    print(f"-> {method} {json.dumps(params)}\n<- {json.dumps(r)[:300]}")
    return r.get("result", {})


call(0, "ping", {"interval": 5000})
info = call(1, "invoke", {"object": "manager_ServerManager", "operation": "getInfo"})
print("modules:", ", ".join(m["name"] for m in info["value"]["modules"]))
pipe = call(2, "create", {"type": "MediaPipeline", "constructorParams": {}})["value"]
clip = "file://" + os.path.abspath("gst-tests/media/faces_640x480.webm")
call(3, "create", {"type": "PlayerEndpoint", "constructorParams": {"mediaPipeline": pipe, "uri": clip}})
call(4, "create", {"type": "FaceOverlayFilter", "constructorParams": {"mediaPipeline": pipe}})
call(5, "release", {"object": pipe})
