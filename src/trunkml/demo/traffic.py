"""The demo's last act: live traffic with feedback, read back by `trunkml monitor`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from trunkml.config import Settings
from trunkml.datasets import DataService
from trunkml.datasets.schema import json_records
from trunkml.demo.demoserver import DemoServer, Input
from trunkml.monitoring.monitor import MonitorRequest, MonitorResult, run_monitor
from trunkml.monitoring.monitor_report import write_report
from trunkml.monitoring.online import recall_text

Record = Callable[[str, bool, str], None]


def send_traffic(service: DataService, server: DemoServer, eval_ref: str) -> tuple[int, int]:
    """Send the held-out set through the server with its true labels as feedback; (sent, logged so far)."""
    loaded = service.load(eval_ref)
    frame = loaded.labelled()
    single = loaded.pointer.resolved_schema.single_text
    inputs: list[Input] = frame[single].tolist() if single else list(json_records(loaded.features()))
    sent = server.traffic_with_feedback(inputs, frame["label"].astype(int).tolist())
    return len(frame), sent


def summary(result: MonitorResult) -> str:
    """One line: drift verdicts, online recall of the serving version, triggers."""
    fired = [c.name for c in result.drift if c.fired]
    drift = f"drift in {', '.join(fired)}" if fired else f"no drift in {len(result.drift)} statistics"
    online = next((m for m in result.online if m.version == result.version and m.route == "champion"), None)
    recall = recall_text(online) if online else "no feedback"
    triggers = ", ".join(t.name for t in result.fired) or "none fired"
    unit = "records" if result.reference is not None and result.reference.features else "texts"
    return f"{result.rows} {unit} served by v{result.version}: {drift}; online recall {recall}; triggers: {triggers}"


def monitor_step(settings: Settings, endpoint: Path, record: Record, window: int) -> MonitorResult:
    """Run `trunkml monitor` over the last ``window`` requests (the demo traffic), write its report, record it."""
    result = run_monitor(settings, MonitorRequest(window=str(window), endpoint=endpoint))
    report = write_report(result, settings.home_dir / "reports" / "monitor.html")
    record(f"trunkml monitor --window {window}", not result.fired, f"{summary(result)}; report {report}")
    return result
