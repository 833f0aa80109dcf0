#!/usr/bin/env python3
"""A file-sharing node in Python 3's standard library, written for filepeer's
interop tests from docs/PROTOCOL.md; it behaves as the book's server.py does.

    pynode.py URL DIR SECRET             serve a node
    pynode.py call URL METHOD [JSON]     call METHOD with the JSON list of
                                         arguments, print the result as JSON

Where it departs from the book, it is to keep bytes exact: files are read as
bytes and sent as str only if XML can carry them unchanged (valid UTF-8, XML
characters, no CR, which XML would read as LF), otherwise as Binary; fetch
writes a str in text mode without newline translation, a Binary as bytes.
"""
import json
import os
import re
import socket
import sys
from socketserver import ThreadingMixIn
from urllib.parse import urlparse
from xmlrpc.client import Binary, Fault, ServerProxy
from xmlrpc.server import SimpleXMLRPCServer

MAX_HISTORY = 6
UNHANDLED = 100
ACCESS_DENIED = 200

# Characters a str must not hold to cross Python's marshaller unchanged.
NOT_WIRE_SAFE = re.compile('[\x00-\x08\x0b-\x1f\ufffe\uffff]')


def unhandled():
    return Fault(UNHANDLED, "Couldn't handle the query")


def denied():
    return Fault(ACCESS_DENIED, "Access denied")


def on_wire(value):
    """Returns value as it can travel: str if XML keeps it, else Binary."""
    if isinstance(value, str) and NOT_WIRE_SAFE.search(value):
        return Binary(value.encode('utf-8'))
    return value


class Node:
    def __init__(self, url, dirname, secret):
        self.url = url
        self.dirname = os.path.abspath(dirname)
        self.secret = secret
        self.known = set()

    def _path(self, name):
        """The file name stands for, or fault 200 if it leaves the directory."""
        if not isinstance(name, str) or not name or '\x00' in name or '\\' in name:
            raise denied()
        path = os.path.realpath(os.path.join(self.dirname, name))
        if not path.startswith(os.path.join(self.dirname, '')):
            raise denied()
        return path

    def _read(self, path):
        with open(path, 'rb') as f:
            data = f.read()
        try:
            text = data.decode('utf-8')
        except UnicodeDecodeError:
            return Binary(data)
        return on_wire(text)

    def query(self, name, history=()):
        path = self._path(name)
        if os.path.isfile(path):
            return self._read(path)
        history = list(history) + [self.url]
        if len(history) >= MAX_HISTORY:
            raise unhandled()
        for other in sorted(self.known):
            if other in history:
                continue
            try:
                return on_wire(ServerProxy(other).query(name, history))
            except Fault as f:
                if f.faultCode != UNHANDLED:
                    self.known.discard(other)
            except Exception:
                self.known.discard(other)
        raise unhandled()

    def hello(self, other):
        if other != self.url:
            self.known.add(other)
        return 0

    def fetch(self, name, secret):
        if secret != self.secret:
            raise denied()
        path = self._path(name)
        result = self.query(name)
        if os.path.exists(path):
            return 0
        if isinstance(result, Binary):
            with open(path, 'wb') as f:
                f.write(result.data)
        else:
            with open(path, 'w', encoding='utf-8', newline='') as f:
                f.write(result)
        return 0

    def list(self):
        return sorted(n for n in os.listdir(self.dirname)
                      if os.path.isfile(os.path.join(self.dirname, n)))


class Server(ThreadingMixIn, SimpleXMLRPCServer):
    allow_reuse_address = True
    daemon_threads = True


def serve(url, dirname, secret):
    u = urlparse(url)
    socket.setdefaulttimeout(30)
    server = Server((u.hostname, u.port), logRequests=False)
    server.register_instance(Node(url, dirname, secret))
    print('serving', url, flush=True)
    server.serve_forever()


def call(url, method, args):
    """Calls method and prints what Python's client made of the reply."""
    try:
        r = getattr(ServerProxy(url), method)(*args)
    except Fault as f:
        out = {'type': 'fault', 'code': f.faultCode, 'message': f.faultString}
    else:
        if isinstance(r, Binary):
            out = {'type': 'Binary', 'hex': r.data.hex()}
        elif isinstance(r, str):
            out = {'type': 'str', 'hex': r.encode('utf-8').hex()}
        else:
            out = {'type': type(r).__name__, 'value': r}
    print(json.dumps(out))


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == 'call':
        args = json.loads(sys.argv[4]) if len(sys.argv) > 4 else []
        call(sys.argv[2], sys.argv[3], args)
    elif len(sys.argv) == 4:
        serve(*sys.argv[1:])
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
