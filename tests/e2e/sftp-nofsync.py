#!/usr/bin/env python3
# An SFTP server without fsync@openssh.com, for e2e 35: the real
# sftp-server given as argv[1], with that extension taken out of its
# version packet and its requests answered "operation unsupported", as a
# server that never had it (OpenSSH before 6.5, many others) answers.
# Run as sshd's ForceCommand; speaks SFTP on stdin/stdout.
import struct
import subprocess
import sys
import threading

EXT = b"fsync@openssh.com"
FXP_VERSION, FXP_STATUS, FXP_EXTENDED = 2, 101, 200
FX_OP_UNSUPPORTED = 8

out = sys.stdout.buffer
lock = threading.Lock()


def read_packet(f):
    head = f.read(4)
    if len(head) < 4:
        return None
    (n,) = struct.unpack(">I", head)
    body = f.read(n)
    return body if len(body) == n else None


def send(body):
    with lock:
        out.write(struct.pack(">I", len(body)) + body)
        out.flush()


def string(b, off):
    (n,) = struct.unpack(">I", b[off:off + 4])
    return b[off + 4:off + 4 + n], off + 4 + n


def sstr(s):
    return struct.pack(">I", len(s)) + s


server = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE)


def from_server():
    while True:
        p = read_packet(server.stdout)
        if p is None:
            break
        if p[0] == FXP_VERSION:
            keep, off = p[:5], 5
            while off < len(p):
                name, off = string(p, off)
                data, off = string(p, off)
                if name != EXT:
                    keep += sstr(name) + sstr(data)
            p = keep
        send(p)


t = threading.Thread(target=from_server)
t.start()
while True:
    p = read_packet(sys.stdin.buffer)
    if p is None:
        break
    if p[0] == FXP_EXTENDED:
        (rid,) = struct.unpack(">I", p[1:5])
        name, _ = string(p, 5)
        if name == EXT:
            send(bytes([FXP_STATUS]) + struct.pack(">II", rid,
                 FX_OP_UNSUPPORTED) + sstr(b"Operation unsupported") +
                 sstr(b""))
            continue
    server.stdin.write(struct.pack(">I", len(p)) + p)
    server.stdin.flush()
server.stdin.close()
t.join()
sys.exit(server.wait())
