"""Settings handed on: what `muster up` gives the processes it starts reads back as the same
settings, so a `--config` file's limits, origins and TLS reach the emergency listener too."""

from pathlib import Path

from command.infra.config import Settings, load, to_env


def test_a_config_files_settings_read_back_the_same_from_the_environment(
        tmp_path: Path) -> None:
    path = tmp_path / "muster.toml"
    path.write_text('rate_emergency = 5.0\ncors_origins = "https://a.example,https://b.example"\n'
                    'allow_open_broker = true\nheader_timeout_s = 3\nstream = "DISTRICT"\n')
    given = load(str(path), env={})
    env = to_env(given)
    assert env == {"MUSTER_RATE_EMERGENCY": "5.0",
                   "MUSTER_CORS_ORIGINS": "https://a.example,https://b.example",
                   "MUSTER_ALLOW_OPEN_BROKER": "true", "MUSTER_HEADER_TIMEOUT_S": "3.0",
                   "MUSTER_STREAM": "DISTRICT"}
    assert load(None, env=env) == given


def test_defaults_and_what_each_child_gets_its_own_of_are_left_out() -> None:
    assert to_env(Settings()) == {}
    given = Settings(http_port=9000, data_dir="/srv/muster", rate_per_token=1.0)
    assert to_env(given, frozenset({"http_port", "data_dir"})) == {
        "MUSTER_RATE_PER_TOKEN": "1.0"}
