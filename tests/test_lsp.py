"""`resdsl lsp` spoken to over stdio as an editor would: initialize, didOpen of a broken spec (a
diagnostic at the right line and column), didChange fixing it (diagnostics cleared), hover over a stage
line (output shape and params), go-to-definition and completion."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls", reason="pygls is in the lsp and dev extras")

ROOT = Path(__file__).resolve().parent.parent

SPEC = """\
# a CIFAR ResNet written for the test
network small {
  input 3x32x32
  stem conv1: conv 3x3 16, bn1: bn, relu
  stages basic shortcut=A {
    layer1: 16 x3
    layer2: 32 x3 /2
  }
  head avgpool: gap, fc: fc 10
}
"""
BROKEN = SPEC.replace("bn1: bn,", "bn1: bnn,")    # line 4 (0-based 3), column of 'bnn'


class Client:
    def __init__(self, cwd: Path):
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen([sys.executable, "-m", "resdsl", "lsp"], cwd=cwd, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.next_id = 0
        self.notifications: list[dict] = []

    def send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def read(self) -> dict:
        length = None
        while True:
            line = self.proc.stdout.readline()
            assert line, f"server closed: {self.proc.stderr.read().decode()[-2000:]}"
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return json.loads(self.proc.stdout.read(length))

    def request(self, method: str, params: dict) -> dict:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        while True:
            message = self.read()
            if message.get("id") == self.next_id and "method" not in message:
                assert "error" not in message, message
                return message["result"]
            if "method" in message:
                self.notifications.append(message)

    def notify(self, method: str, params: dict) -> None:
        self.send({"method": method, "params": params})

    def diagnostics(self, uri: str) -> list[dict]:
        while True:
            for i, m in enumerate(self.notifications):
                if m["method"] == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri:
                    del self.notifications[: i + 1]
                    return m["params"]["diagnostics"]
            self.notifications.append(self.read())

    def close(self) -> None:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


@pytest.fixture
def client(tmp_path):
    c = Client(tmp_path)
    result = c.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
    caps = result["capabilities"]
    assert caps["hoverProvider"] and caps["definitionProvider"] and "completionProvider" in caps
    c.notify("initialized", {})
    yield c
    c.close()


def test_diagnostics_hover_definition_completion(client, tmp_path):
    path = tmp_path / "small.res"
    path.write_text(BROKEN)
    uri = path.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "resdsl", "version": 1,
                                                            "text": BROKEN}})
    (diag,) = client.diagnostics(uri)
    column = BROKEN.splitlines()[3].index("bnn")
    assert diag["range"]["start"] == {"line": 3, "character": column}
    assert diag["range"]["end"] == {"line": 3, "character": column + 3}
    assert "unknown block or op 'bnn'" in diag["message"] and "did you mean 'bn'" in diag["message"]

    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                             "contentChanges": [{"text": SPEC}]})
    assert client.diagnostics(uri) == []

    # hover over `layer2: 32 x3 /2` (line 6): its output and its parameters, as `resdsl count` has them
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                  "position": {"line": 6, "character": 6}})
    text = hover["contents"]["value"]
    assert "32x16x16" in text
    import resdsl
    stage = resdsl.load(SPEC).by_stage["layer2"]
    assert f"{stage.params:,}" in text                   # 32x16x16: 4,608+9,216+... params of layer2

    definition = client.request("textDocument/definition", {"textDocument": {"uri": uri},
                                                            "position": {"line": 4, "character": 10}})
    assert definition["uri"].endswith("resdsl/prelude/resnet.res")
    assert definition["range"]["start"]["line"] >= 0

    items = client.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                       "position": {"line": 3, "character": 7}})["items"]
    labels = {i["label"] for i in items}
    assert {"bottleneck", "basic", "conv", "bn", "maxpool"} <= labels
