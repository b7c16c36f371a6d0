"""runtime.json: a running `muster up` is found by it, a dead one's file is not believed."""

import json
from pathlib import Path

from command.bootstrap import runtime_file
from command.infra.config import Settings


def test_what_is_written_is_read_back_while_the_writer_lives(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path / "data"))
    runtime_file.write(settings, "nats://n", "postgresql://p", "http://h", "http://m/metrics")
    info = runtime_file.read(settings)
    assert info is not None
    assert (info["nats_url"], info["database_url"], info["http_url"], info["metrics_url"]) == (
        "nats://n", "postgresql://p", "http://h", "http://m/metrics")
    assert settings.runtime_file.stat().st_mode & 0o777 == 0o600  # the URLs carry passwords
    runtime_file.remove(settings)
    assert runtime_file.read(settings) is None
    runtime_file.remove(settings)  # already gone: nothing to say


def test_a_file_left_by_a_dead_process_is_not_believed(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path / "data"))
    runtime_file.write(settings, "nats://n", "postgresql://p", "http://h", "http://m/metrics")
    info = json.loads(settings.runtime_file.read_text())
    settings.runtime_file.write_text(json.dumps({**info, "pid": 2 ** 22 + 1}))  # over pid_max
    assert runtime_file.read(settings) is None
    settings.runtime_file.write_text("{not json")
    assert runtime_file.read(settings) is None
