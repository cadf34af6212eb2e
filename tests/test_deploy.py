"""The Dockerfile and compose.yaml, checked without a Docker engine (none runs here): the
services and their health checks, a non-root image with dev.sh's run-time install steps, and
every command the containers run is one `headshot-bot` accepts."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from bot.cli import _parser, main
from bot.core.state import RedisRateLimiter, make_limiter
from bot.settings import Settings
from tests.conftest import ROOT

APPS = {"bot", "slack", "workers"}  # built from the Dockerfile


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"^\s*#.*\n", "", text, flags=re.M).replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def cli_commands() -> set[str]:
    return set(_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def assert_runs(argv: list[str]) -> None:
    """argv is a headshot-bot command line that the real parser accepts."""
    assert argv[0] == "headshot-bot", argv
    assert argv[1] in cli_commands(), f"{argv[1]} is not a headshot-bot command"
    _parser().parse_args(argv[1:])


def test_every_part_of_a_scaled_out_deployment_is_a_service(compose):
    assert set(compose["services"]) == APPS | {"postgres", "redis"}
    for name in APPS:
        service = compose["services"][name]
        assert service["build"] == "."
        assert service["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }


def test_every_service_has_a_health_check(compose, dockerfile):
    image_check = [args for word, args in dockerfile if word == "HEALTHCHECK"]
    assert len(image_check) == 1
    for name, service in compose["services"].items():
        assert "healthcheck" in service or name in APPS, f"{name} has no health check"
        test = service.get("healthcheck", {}).get("test")
        if name in APPS and test:
            assert test[0] == "CMD"
            assert_runs(test[1:])


def test_the_containers_run_real_headshot_bot_commands(compose, dockerfile):
    for name in APPS:
        assert_runs(compose["services"][name]["command"])
    (cmd,) = [args for word, args in dockerfile if word == "CMD"]
    assert_runs(yaml.safe_load(cmd))
    (check,) = [args for word, args in dockerfile if word == "HEALTHCHECK"]
    assert_runs(yaml.safe_load(check.split(" CMD ", 1)[1]))


def test_the_help_lists_the_commands_the_containers_use(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out
    for command in ("discord", "slack", "worker", "health"):
        assert command in listed


def test_the_image_is_slim_runs_as_a_user_and_installs_what_dev_sh_does(dockerfile):
    (base,) = [args for word, args in dockerfile if word == "FROM"]
    assert re.fullmatch(r"python:3\.1[1-9]-slim", base)
    users = [args for word, args in dockerfile if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")  # the last one wins
    runs = " && ".join(args for word, args in dockerfile if word == "RUN")
    steps = {" ".join(s.split()) for s in runs.split("&&")}
    assert "pip install -e ." in steps
    # dev.sh's --no-deps installs that the bot needs at run time (the encoder; the reference
    # watermark encoder is for tests only), with the same flags.
    dev = (ROOT / "dev.sh").read_text()
    for line in re.findall(r'"\$PY" -m pip install -q (--no-deps .*)', dev):
        args = [a.strip("'") for a in shlex.split(line)]
        if "requirements/encoder.txt" in args:
            assert f"pip install {' '.join(args)}" in steps
        else:
            assert not any(arg in runs for arg in args if not arg.startswith("-"))


def test_the_build_context_leaves_out_secrets_and_local_state():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".env", ".venv", ".git", "config/local.toml", "data"} <= ignored
    for copied in re.findall(r"^COPY (?!--)(.+) \S+$", (ROOT / "Dockerfile").read_text(), re.M):
        for path in copied.split():
            assert (ROOT / path).exists(), path
            assert path.rstrip("/") not in ignored, f"{path} is copied but .dockerignore drops it"


def test_the_app_services_environment_selects_redis_and_postgres(compose, monkeypatch):
    for name in APPS:
        env = compose["services"][name]["environment"]
        for key, value in env.items():
            monkeypatch.setenv(key, re.sub(r"\$\{[^}]*\}", "x" * 32, str(value)))
        settings = Settings(_env_file=None)
        assert settings.queue.backend == "redis"
        assert settings.state.backend == "redis"
        assert settings.database_url is not None
        assert settings.database_url.get_secret_value().startswith("postgresql://")
        assert isinstance(make_limiter(settings), RedisRateLimiter)  # no connection yet


def test_the_readme_starts_it_with_one_command():
    readme = (ROOT / "README.md").read_text()
    assert "docker compose up -d --build" in readme
    assert (ROOT / "deploy.env.example").exists()
