"""Benchmark: `trunkml serve` against `mlflow models serve`, same model version, same load, one run.

1. Registers one version of the reference model: CT on Fortuna 2019 when ../shared/data
   is there (the model users serve), else on SYNTHETIC DEMO DATA. With `--model tabular`,
   the tabular project `trunkml init` makes, trained on scikit-learn's bundled breast-cancer
   data (a scikit-learn pipeline logged with mlflow.sklearn, skops format), promoted by its
   pipelines; requests are then one record of 32 features.
2. Starts `mlflow models serve -m models:/<model>/<N> --env-manager local -w 1` and
   `trunkml serve --workers 1` on that version, both on 127.0.0.1.
3. Drives each in turn with the same load generator: wrk (Debian package `wrk`) when
   installed, else an async Python client in a separate process; single-text requests
   at 1, 16 and 64 connections.
4. Prints req/s, p50 and p99 for both, and the ratios.
   Goal: >= 10x mlflow's req/s at 16 connections, with p99 <= 1/5 of mlflow's.

Run: `make bench` or `.venv/bin/python bench/serving.py [--seconds 10] [--model text|tabular]`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
MIRROR = REPO.parent / "shared" / "data"
BIN = Path(sys.executable).parent
TRUNKML = str(BIN / "trunkml")
TEXT = "vocês jogaram muito mal hoje, que vergonha de time"
CONNECTIONS = (1, 16, 64)
console = Console(width=120)


def project(tmp: Path) -> tuple[Path, dict[str, str], str]:
    """A committed copy of the reference project with one CT-trained version; returns (root, env, data)."""
    root = tmp / "hate-pt-speech"
    root.mkdir()
    for folder in ("datasets", "jobs", "src/hatedetection"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "trunkml.yaml", root)
    env = {**os.environ, "TRUNKML_PROJECT": str(root), "TRUNKML_HOME": str(root / ".trunkml")}
    env.pop("MLFLOW_TRACKING_URI", None)
    data = "Fortuna 2019"
    if MIRROR.is_dir():
        env["TRUNKML_DATA_MIRROR"] = str(MIRROR)
    else:  # no real data here: train the same model family on generated demo data
        data = "SYNTHETIC DEMO DATA"
        (root / "trunkml.yaml").write_text(
            "name: bench\nmodel: hate-pt-speech\ngate: {eval: demo-eval}\ndata: {max_eval_overlap: 0.05}\n"
        )
        job = root / "jobs/hate-pt-speech/train.yaml"
        job.write_text(
            re.sub(r"(?ms)^inputs:.*?(?=^\S)", "inputs: {train: demo-train, eval: demo-eval}\n", job.read_text())
        )
        for step in (
            ["synth", "--rows", "4000", "--add", "demo"],
            ["split", "demo", "--eval-fraction", "0.25", "--add", "demo"],
        ):
            subprocess.run([TRUNKML, "data", *step], cwd=root, env=env, check=True, capture_output=True)
    (root / ".gitignore").write_text(".trunkml/\n__pycache__/\n", encoding="utf-8")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.org"]
    for step in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "bench"]):
        subprocess.run([*git, *step], cwd=root, check=True, capture_output=True)
    for step in (["ct", "hate-pt-speech"], ["evaluate"], ["infra-validate", "1"], ["promote", "1", "--by", "bench"]):
        subprocess.run([TRUNKML, *step], cwd=root, env=env, check=True, capture_output=True)
    return root, env, data


def tabular_project(tmp: Path) -> tuple[Path, dict[str, str], str, dict[str, object]]:
    """`trunkml init` (tabular), the breast-cancer data, and its pipelines; returns (root, env, data, a record)."""
    sys.path.insert(0, str(REPO))
    from tests.tabular import MODEL, build_tabular_project

    project = build_tabular_project(tmp / "clinic")
    env = {**os.environ, "TRUNKML_PROJECT": str(project.root), "TRUNKML_HOME": str(project.root / ".trunkml")}
    env.pop("MLFLOW_TRACKING_URI", None)
    assert MODEL == "tumours"
    return project.root, env, "breast-cancer (scikit-learn)", project.eval_records()[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(command: list[str], root: Path, env: dict[str, str], ready_url: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(ready_url, timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"{command[0]} exited:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)
    raise SystemExit(f"{' '.join(command)} did not become ready:\n{log.read_text()[-3000:]}")


def _ms(value: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if found is None:
        raise SystemExit(f"cannot read wrk latency '{value}'")
    return float(found.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[found.group(2)]


def wrk(url: str, body: str, connections: int, seconds: int, scratch: Path) -> dict[str, float]:
    script = scratch / "post.lua"
    script.write_text(
        f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\nwrk.headers["Content-Type"] = "application/json"\n'
    )
    done = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = done.stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _ms(re.search(r"(?m)^\s+50%\s+(\S+)$", out).group(1)),  # type: ignore[union-attr]
        "p99": _ms(re.search(r"(?m)^\s+99%\s+(\S+)$", out).group(1)),  # type: ignore[union-attr]
        "errors": float(errors.group(1) if errors else 0) + (sum(map(float, sock.groups())) if sock else 0),
    }


def python_load(url: str, body: str, connections: int, seconds: int, scratch: Path) -> dict[str, float]:
    """The fallback generator: bench/loadgen.py in its own process."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("loadgen.py")), url, body, str(connections), str(seconds)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="load duration per cell")
    parser.add_argument("--model", choices=("text", "tabular"), default="text", help="which model to serve")
    args = parser.parse_args()
    load = wrk if shutil.which("wrk") else python_load
    with tempfile.TemporaryDirectory(prefix="trunkml-serving-") as tmp:
        scratch = Path(tmp)
        with console.status(f"training the {args.model} model (CT)"):
            if args.model == "tabular":
                root, env, data, record = tabular_project(scratch)
                name, item, single = "tumours", record, {"inputs": [record]}
            else:
                root, env, data = project(scratch)
                name, item, single = "hate-pt-speech", {"text": TEXT}, {"text": TEXT}
                (root / "endpoints/hate-pt-speech").mkdir(parents=True)
                (root / "endpoints/hate-pt-speech/endpoint.yaml").write_text("model: hate-pt-speech\n")
        uri = f"sqlite:///{root / '.trunkml' / 'mlflow.db'}"
        # mlflow's own server must be allowed to unpickle: it loads skops models only with this switch on.
        mlflow_env = {**env, "MLFLOW_TRACKING_URI": uri, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
                      "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"}  # fmt: skip
        ports = {"mlflow": free_port(), "trunkml": free_port(), "trunkml-2w": free_port()}
        commands = {
            "mlflow": [str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{name}/1", "--env-manager",
                       "local", "-w", "1", "-h", "127.0.0.1", "-p", str(ports["mlflow"])],
            "trunkml": [TRUNKML, "serve", "--port", str(ports["trunkml"]), "--workers", "1"],
            "trunkml-2w": [TRUNKML, "serve", "--port", str(ports["trunkml-2w"]), "--workers", "2"],
        }  # fmt: skip
        ready = {"mlflow": "/ping", "trunkml": "/readyz", "trunkml-2w": "/readyz"}
        targets = {
            "mlflow": (f"http://127.0.0.1:{ports['mlflow']}/invocations", json.dumps({"dataframe_records": [item]})),
            "trunkml": (f"http://127.0.0.1:{ports['trunkml']}/predict", json.dumps(single)),
            "trunkml-2w": (f"http://127.0.0.1:{ports['trunkml-2w']}/predict", json.dumps(single)),
        }
        servers: dict[str, subprocess.Popen[bytes]] = {}
        results: dict[tuple[str, int], dict[str, float]] = {}
        try:
            with console.status("starting both servers"):
                for name, command in commands.items():
                    url = f"http://127.0.0.1:{ports[name]}{ready[name]}"
                    servers[name] = start(
                        command, root, mlflow_env if name == "mlflow" else env, url, scratch / f"{name}.log"
                    )
            for connections in CONNECTIONS:
                for name, (url, body) in targets.items():
                    with console.status(f"{name}: {connections} connections for {args.seconds} s"):
                        results[(name, connections)] = load(url, body, connections, args.seconds, scratch)
        finally:
            for process in servers.values():
                process.send_signal(signal.SIGTERM)
                process.wait(60)
    table = Table(
        "connections", "mlflow req/s", "p50 ms", "p99 ms", "trunkml req/s", "p50 ms", "p99 ms", "req/s ratio",
        "p99 ratio", "errors",
        title=f"single-{'record' if args.model == 'tabular' else 'text'} requests, 1 worker each ({load.__name__}, "
        f"model trained on {data})",
    )  # fmt: skip
    for connections in CONNECTIONS:
        m, t = results[("mlflow", connections)], results[("trunkml", connections)]
        table.add_row(
            str(connections), f"{m['rps']:.0f}", f"{m['p50']:.1f}", f"{m['p99']:.1f}", f"{t['rps']:.0f}",
            f"{t['p50']:.1f}", f"{t['p99']:.1f}", f"{t['rps'] / m['rps']:.1f}x", f"{t['p99'] / m['p99']:.2f}",
            f"{m['errors']:.0f} / {t['errors']:.0f}",
        )  # fmt: skip
    console.print(table)
    scaling = Table("connections", "1 worker req/s", "p99 ms", "2 workers req/s", "p99 ms", "ratio",
                    title="trunkml serve --workers 1 vs 2 (same machine, load generator included)")  # fmt: skip
    for connections in CONNECTIONS:
        one, two = results[("trunkml", connections)], results[("trunkml-2w", connections)]
        scaling.add_row(str(connections), f"{one['rps']:.0f}", f"{one['p99']:.1f}", f"{two['rps']:.0f}",
                        f"{two['p99']:.1f}", f"{two['rps'] / one['rps']:.2f}x")  # fmt: skip
    console.print(scaling)
    m, t = results[("mlflow", 16)], results[("trunkml", 16)]
    met = t["rps"] >= 10 * m["rps"] and t["p99"] <= m["p99"] / 5
    console.print(
        f"goal at 16 connections (>= 10x req/s, p99 <= 1/5): {t['rps'] / m['rps']:.1f}x req/s, "
        f"p99 {t['p99'] / m['p99']:.2f} of mlflow's -> {'[green]met[/]' if met else '[red]not met[/]'}"
    )


if __name__ == "__main__":
    main()
