"""The deploy files under deploy/: they parse, and what they name exists in the code.

Docker, Kubernetes and systemd do not run on the development machines, so this is the only check the files get:
every YAML/JSON file parses and the Dockerfile's instructions are valid; every ``nfsync ...`` command line parses
with the real CLI parser; every ``NFSYNC_*`` name is a setting; every metric and label of the Grafana dashboard is
exposed by ``/metrics``; queue names and dead-letter exchanges match the broker code; ports, probes, selectors and
stop timeouts agree. Each checker returns a list of problems; the ``*_fails`` tests feed them broken copies, so a
misspelled flag, setting, metric or queue name is known to fail the suite.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from nfsync.connectors.base.errors import ConfigError
from nfsync.connectors.base.spec import PLATFORM_PACKAGES
from nfsync.workers.api import ops as api_ops
from nfsync.workers.api import ops_metrics
from nfsync.workers.api.amqp_commands import COMMANDS_QUEUE
from nfsync.workers.api.amqp_commands import DEAD_EXCHANGE as COMMANDS_DEAD_EXCHANGE
from nfsync.workers.api.amqp_commands import DEAD_QUEUE as COMMANDS_DEAD_QUEUE
from nfsync.workers.api.app import all_routes
from nfsync.workers.api.framework import Call
from nfsync.workers.api.state import API_STATE
from nfsync.workers.cli import build_parser
from nfsync.workers.config import ENV_PREFIX, Settings, settings_field_names
from nfsync.workers.crypto import Keyring, generate_key_entry
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.broker import DEAD_EXCHANGE, DEAD_QUEUE, TASKS_EXCHANGE, queue_arguments, queue_name
from nfsync.workers.engine.models import PLATFORMS

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
SYSTEMD = DEPLOY / "systemd"
IMAGE_PORT = 8080
SHUTDOWN_GRACE_DEFAULT = float(Settings.model_fields["shutdown_grace"].default)
PLACEHOLDER = "REPLACE_ME"
ANY_UUID = "00000000-0000-0000-0000-000000000000"


# ------------------------------------------------------------------------------------------------ loading


def load_yaml_docs(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def compose_doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return doc


def k8s_docs() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += [{**doc, "__file__": path.name} for doc in load_yaml_docs(path)]
    return docs


def dashboard() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((DEPLOY / "grafana" / "nfsync-dashboard.json").read_text())
    return doc


def definitions() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text())
    return doc


def env_example() -> dict[str, str]:
    """KEY=VALUE lines of nfsync.env.example (docker --env-file and systemd EnvironmentFile format)."""
    values: dict[str, str] = {}
    for number, line in enumerate((DEPLOY / "nfsync.env.example").read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", key), f"nfsync.env.example:{number}: not KEY=VALUE: {line!r}"
        assert key not in values, f"nfsync.env.example:{number}: {key} twice"
        assert value == value.strip() and not value.startswith(('"', "'")), f"{key}: no quotes or spaces in values"
        values[key] = value
    return values


def configmap_data() -> dict[str, str]:
    (configmap,) = [d for d in k8s_docs() if d["kind"] == "ConfigMap"]
    return {key: str(value) for key, value in configmap["data"].items()}


def shutdown_grace() -> float:
    """The grace the manifests run with: the ConfigMap's value (the default when it sets none)."""
    return float(configmap_data().get(ENV_PREFIX + "SHUTDOWN_GRACE", SHUTDOWN_GRACE_DEFAULT))


def seconds(text: str | int | float) -> float:
    """'60s', '1m30s', '45', 40 -> seconds (compose and systemd durations)."""
    if isinstance(text, int | float):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?", text.strip())
    assert parts, f"not a duration: {text!r}"
    unit = {"ms": 0.001, "s": 1, "sec": 1, "": 1, "m": 60, "min": 60, "h": 3600}
    return sum(float(number) * unit[suffix] for number, suffix in parts)


# ------------------------------------------------------------------------------------------------ nfsync command lines


@dataclass(frozen=True)
class CommandLine:
    where: str
    argv: tuple[str, ...]  # the arguments after `nfsync`


def exact_options(parser: argparse.ArgumentParser, argv: tuple[str, ...] | list[str]) -> set[str]:
    """The option strings of the (sub)commands argv selects, walking the subparsers."""
    options: set[str] = set()
    for token in [*argv, None]:
        options |= {string for action in parser._actions for string in action.option_strings}
        subparsers = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
        if token is not None and subparsers and token in subparsers[0].choices:
            parser = subparsers[0].choices[token]
    return options


def command_problem(argv: tuple[str, ...] | list[str]) -> str | None:
    """None when ``nfsync <argv>`` parses with the real CLI parser, spells every option out (argparse would accept
    an abbreviation, which a later option can make ambiguous) and names platforms that have a connector."""
    errors = io.StringIO()
    parser = build_parser()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            args = parser.parse_args(list(argv))
    except SystemExit:
        lines = errors.getvalue().strip().splitlines()
        return lines[-1] if lines else "the parser exited (--help?)"
    options = exact_options(parser, argv)
    inexact = [token.split("=")[0] for token in argv if token.startswith("--") and token.split("=")[0] not in options]
    if inexact:
        return f"not an option of this command (abbreviated?): {', '.join(inexact)}"
    if args.command == "worker":
        chosen = [p for value in args.platform for p in value.split(",") if p]
        unknown = sorted(set(chosen) - {*PLATFORM_PACKAGES, "all"})
        if unknown:
            return f"no connector for platform(s) {', '.join(unknown)}"
    return None


def option(argv: tuple[str, ...] | list[str], name: str) -> str | None:
    """The value of ``--name V`` or ``--name=V`` in argv."""
    for index, token in enumerate(argv):
        if token == name and index + 1 < len(argv):
            return argv[index + 1]
        if token.startswith(name + "="):
            return token.split("=", 1)[1]
    return None


def is_nfsync_image(service: dict[str, Any]) -> bool:
    build = service.get("build") or {}
    return str(service.get("image", "")).split(":")[0].endswith("nfsync") or (
        isinstance(build, dict) and build.get("dockerfile") == "deploy/Dockerfile"
    )


def compose_commands(doc: dict[str, Any]) -> list[CommandLine]:
    found = []
    for name, service in doc["services"].items():
        if not is_nfsync_image(service):
            continue
        assert "entrypoint" not in service, f"compose {name}: keep the image's entrypoint (nfsync)"
        command = service.get("command")
        assert isinstance(command, list), f"compose {name}: command must be an exec-form list"
        found.append(CommandLine(f"docker-compose.yml:{name}", tuple(str(part) for part in command)))
    return found


def container_argv(container: dict[str, Any]) -> tuple[str, ...]:
    command = [str(part) for part in container.get("command", [])]
    if command:
        assert Path(command[0]).name == "nfsync", f"{container['name']}: command overrides the entrypoint"
        command = command[1:]
    return tuple(command + [str(part) for part in container.get("args", [])])


def workloads(docs: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield from (doc for doc in docs if doc["kind"] in ("Deployment", "Job"))


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = doc["spec"]["template"]["spec"]["containers"]
    return result


def k8s_commands(docs: list[dict[str, Any]]) -> list[CommandLine]:
    found = []
    for doc in workloads(docs):
        for container in containers(doc):
            if str(container["image"]).split(":")[0].endswith("nfsync"):
                where = f"{doc['__file__']}:{doc['metadata']['name']}/{container['name']}"
                found.append(CommandLine(where, container_argv(container)))
    return found


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit: section -> [(key, value)] in order (keys may repeat)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        assert current is not None and sep and re.fullmatch(r"[A-Za-z]+", key), f"line {number}: {raw!r}"
        current.append((key, value))
    return sections


def unit_values(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    return [value for name, value in unit.get(section, []) if name == key]


def units() -> dict[str, dict[str, list[tuple[str, str]]]]:
    return {path.name: parse_unit(path.read_text()) for path in sorted(SYSTEMD.glob("*.service"))}


def systemd_commands(all_units: dict[str, dict[str, list[tuple[str, str]]]]) -> list[CommandLine]:
    found = []
    for name, unit in all_units.items():
        for key in ("ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop"):
            for value in unit_values(unit, "Service", key):
                tokens = shlex.split(value.lstrip("-@+!:"))
                if Path(tokens[0]).name != "nfsync":
                    continue
                instances = PLATFORM_PACKAGES if "%i" in value else ("",)
                for instance in instances:
                    argv = tuple(token.replace("%i", instance) for token in tokens[1:])
                    found.append(CommandLine(f"{name}:{key}[{instance or '-'}]", argv))
    return found


# ------------------------------------------------------------------------------------------------ Dockerfile

DOCKERFILE_INSTRUCTIONS = {
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
}


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped, as Docker reads them."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            keyword, _, arguments = full.partition(" ")
            instructions.append((keyword, arguments.strip()))
    assert not pending, "the Dockerfile ends inside a continuation line"
    return instructions


def exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(part, str) for part in value), f"not exec form: {arguments}"
    return value


def dockerfile_commands(instructions: list[tuple[str, str]]) -> list[CommandLine]:
    entrypoint = [exec_form(args) for keyword, args in instructions if keyword == "ENTRYPOINT"]
    cmd = [exec_form(args) for keyword, args in instructions if keyword == "CMD"]
    assert entrypoint and entrypoint[-1] == ["nfsync"], 'ENTRYPOINT must be exec-form ["nfsync"]'
    assert cmd, "the Dockerfile needs a default CMD"
    return [CommandLine("Dockerfile:CMD", tuple(cmd[-1]))]


def resolve_args(instructions: list[tuple[str, str]], text: str) -> str:
    defaults = {}
    for keyword, arguments in instructions:
        if keyword == "ARG" and "=" in arguments:
            name, value = arguments.split("=", 1)
            defaults[name] = value
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: defaults.get(m.group(1) or m.group(2), m.group(0)), text)


def _stage_problems(instructions: list[tuple[str, str]]) -> list[str]:
    problems = []
    images = [resolve_args(instructions, args).split()[0] for keyword, args in instructions if keyword == "FROM"]
    if len(images) < 2:
        problems.append("not a multi-stage build")
    problems += [f"FROM {image}: expected python:3.11-slim" for image in images if image != "python:3.11-slim"]
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    if "pip wheel" not in runs or "--no-index" not in runs:
        problems.append("expected a wheel build stage and a runtime installing only those wheels (--no-index)")
    return problems


def _user_problems(instructions: list[tuple[str, str]]) -> list[str]:
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    users = [args.split(":")[0] for keyword, args in instructions[last_from:] if keyword == "USER"]
    if not users:
        return ["the runtime stage sets no USER"]
    return [f"USER {users[-1]} is root"] if users[-1] in ("root", "0") else []


def _copy_problems(instructions: list[tuple[str, str]], included: set[str]) -> list[str]:
    problems = []
    for keyword, arguments in instructions:
        if keyword not in ("COPY", "ADD") or "--from=" in arguments:
            continue
        sources = [part for part in arguments.split() if not part.startswith("--")][:-1]
        for source in sources:
            if not (REPO / source).exists():
                problems.append(f"{keyword} {source}: no such file in the repository")
            elif source.rstrip("/") not in included:
                problems.append(f"{keyword} {source}: excluded by deploy/Dockerfile.dockerignore")
    return problems


def _healthcheck_problems(instructions: list[tuple[str, str]], default_cmd: tuple[str, ...]) -> list[str]:
    checks = [args for keyword, args in instructions if keyword == "HEALTHCHECK"]
    if not checks:
        return ["no HEALTHCHECK"]
    probe = checks[-1].split("CMD", 1)[1].strip()
    if "/healthz" not in probe:
        return ["the HEALTHCHECK does not call /healthz"]
    if f":{option(default_cmd, '--port')}/" not in probe:
        return ["the HEALTHCHECK port is not the default command's --port"]
    return []


def dockerignore_included() -> set[str]:
    lines = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    return {line[1:].strip().rstrip("/") for line in lines if line.startswith("!")}


def dockerfile_problems(instructions: list[tuple[str, str]]) -> list[str]:
    problems = [
        f"unknown instruction {keyword}" for keyword, _ in instructions if keyword not in DOCKERFILE_INSTRUCTIONS
    ]
    first = next(keyword for keyword, _ in instructions if keyword != "ARG")
    if first != "FROM":
        problems.append(f"the first instruction after ARG is {first}, not FROM")
    problems += _stage_problems(instructions) + _user_problems(instructions)
    problems += _copy_problems(instructions, dockerignore_included())
    (default,) = dockerfile_commands(instructions)
    problems += _healthcheck_problems(instructions, default.argv)
    copied = {args.split()[0].rstrip("/") for keyword, args in instructions if keyword == "COPY" and "--" not in args}
    if not {"nfsync", "workers", "connectors"} <= copied:
        problems.append("the build stage must copy nfsync/ (the import root's links) with workers/ and connectors/")
    return problems


# ------------------------------------------------------------------------------------------------ README commands


def _argv_at(tokens: list[str], start: int) -> tuple[str, ...]:
    argv = []
    for token in tokens[start:]:
        if token in ("|", "||", "&&", ";", "&", ">", ">>", ")") or token.startswith("#"):
            break
        argv.append(token)
    return tuple(argv)


def _command_position(tokens: list[str], index: int) -> bool:
    before = tokens[:index]
    while before and (before[-1] in ("sudo", "env", "exec") or re.fullmatch(r"\w+=\S*", before[-1])):
        before.pop()
    return not before or before[-1] in ("|", "||", "&&", ";", "&", "--", "$(")


def commands_in_line(line: str, nfsync_services: set[str]) -> list[tuple[str, ...]]:
    """`nfsync ...`, `docker run ... nfsync:TAG ...` and `docker compose ... run ... SERVICE ...` invocations."""
    line = re.sub(r"<[^<>]*>", ANY_UUID, line)
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError:
        return []
    found = []
    for index, token in enumerate(tokens):
        if (token == "nfsync" or token.endswith("/nfsync")) and _command_position(tokens, index):
            found.append(_argv_at(tokens, index + 1))
    if tokens[:2] == ["docker", "run"]:
        images = [i for i, token in enumerate(tokens) if re.fullmatch(r"(\S+/)?nfsync:[\w.-]+", token)]
        found += [_argv_at(tokens, images[0] + 1)] if images else []
    if tokens[:2] == ["docker", "compose"] and "run" in tokens:
        rest = list(tokens[tokens.index("run") + 1 :])
        while rest and rest[0].startswith("-"):
            rest.pop(0)
        if rest and rest[0] in nfsync_services:
            found.append(_argv_at(rest, 1))
    return found


def readme_commands(text: str, nfsync_services: set[str]) -> list[CommandLine]:
    """Command lines in the README's fenced sh blocks and in inline code spans."""
    found = []
    in_block = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith("```"):
            in_block = not in_block
            continue
        spans = [line] if in_block else re.findall(r"`([^`]+)`", line)
        for span in spans:
            if in_block or span.startswith(("nfsync ", "docker ", "kubectl ")):
                found += [CommandLine(f"README.md:{number}", argv) for argv in commands_in_line(span, nfsync_services)]
    return found


def nfsync_services(doc: dict[str, Any]) -> set[str]:
    return {name for name, service in doc["services"].items() if is_nfsync_image(service)}


def all_command_lines() -> list[CommandLine]:
    compose = compose_doc()
    lines = compose_commands(compose) + k8s_commands(k8s_docs()) + systemd_commands(units())
    lines += dockerfile_commands(dockerfile_instructions((DEPLOY / "Dockerfile").read_text()))
    lines += readme_commands((DEPLOY / "README.md").read_text(), nfsync_services(compose))
    return lines


def command_problems(lines: list[CommandLine]) -> list[str]:
    problems = []
    for line in lines:
        problem = command_problem(line.argv)
        if problem is not None:
            problems.append(f"{line.where}: nfsync {' '.join(line.argv)}: {problem}")
    return problems


# ------------------------------------------------------------------------------------------------ the tests: commands


def test_every_file_under_deploy_parses() -> None:
    for path in sorted(DEPLOY.rglob("*")):
        if path.suffix in (".yml", ".yaml"):
            assert load_yaml_docs(path), path
        elif path.suffix == ".json":
            json.loads(path.read_text())
    assert dockerfile_instructions((DEPLOY / "Dockerfile").read_text())
    assert all(parse_unit(path.read_text()) for path in SYSTEMD.glob("*.service"))


def test_every_nfsync_command_line_parses() -> None:
    lines = all_command_lines()
    sources = {line.where.split(":")[0] for line in lines}
    assert {"docker-compose.yml", "Dockerfile", "README.md", "api.yaml", "nfsync-worker@.service"} <= sources
    used = {line.argv[0] for line in lines if line.argv}
    assert {"api", "scheduler", "worker", "db", "sandbox", "keys", "tokens", "orgs"} <= used
    assert command_problems(lines) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["worker", "--platfrom", "shopee"],  # misspelled flag
        ["worker", "--platform", "amazon"],  # no such platform
        ["worker", "--platform", "magento"],  # no such platform either
        ["sandbox", "--platform", "shopee", "--listen", "0.0.0.0"],
        ["db", "innit"],
        ["tokens", "create", "--org", ANY_UUID, "--scope", "admin"],  # argparse takes the abbreviation; we do not
        ["api", "--port", "http"],
        ["schedular"],
        [],
    ],
)
def test_a_wrong_command_line_fails(argv: list[str]) -> None:
    assert command_problem(argv) is not None


def test_a_misspelled_flag_in_the_files_fails() -> None:
    broken = copy.deepcopy(compose_doc())
    broken["services"]["worker-shopee"]["command"] = ["worker", "--platfrom", "shopee"]
    assert command_problems(compose_commands(broken))
    docs = copy.deepcopy(k8s_docs())
    api = next(doc for doc in docs if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "nfsync-api")
    containers(api)[0]["args"] = ["api", "--hots", "0.0.0.0"]
    assert command_problems(k8s_commands(docs))
    unit = parse_unit((SYSTEMD / "nfsync-worker@.service").read_text().replace("--platform %i", "--platforms %i"))
    assert command_problems(systemd_commands({"nfsync-worker@.service": unit}))
    readme = "```sh\nnfsync tokens create --org <id> --scope admin\n```\n"
    assert command_problems(readme_commands(readme, set()))


def test_readme_command_extraction() -> None:
    services = {"api"}
    assert commands_in_line("sudo useradd --system --shell /usr/sbin/nologin nfsync", services) == []
    assert commands_in_line("docker build -f deploy/Dockerfile -t nfsync:local .", services) == []
    assert commands_in_line("docker run --rm nfsync:local keys generate", services) == [("keys", "generate")]
    assert commands_in_line("kubectl exec deploy/x -- nfsync orgs create Ops # a comment", services) == [
        ("orgs", "create", "Ops")
    ]
    assert commands_in_line("docker compose -f x.yml run --rm --no-deps api db init", services) == [("db", "init")]
    assert commands_in_line("X=1 .venv/bin/nfsync config | head", services) == [("config",)]


# ------------------------------------------------------------------------------------------------ Dockerfile


def test_dockerfile() -> None:
    assert dockerfile_problems(dockerfile_instructions((DEPLOY / "Dockerfile").read_text())) == []


def test_a_broken_dockerfile_fails() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    for before, after in [
        ("USER 10001:10001", "USER root"),
        ("/healthz", "/health"),
        ("COPY nfsync ./nfsync", "COPY nfsyncc ./nfsync"),
        ("ARG PYTHON_IMAGE=python:3.11-slim", "ARG PYTHON_IMAGE=python:3.12"),
        ("HEALTHCHECK --interval", "HEALTHCHEK --interval"),
    ]:
        assert before in text, before
        assert dockerfile_problems(dockerfile_instructions(text.replace(before, after))), after


# ------------------------------------------------------------------------------------------------ NFSYNC_* names

NAME = re.compile(r"\bNFSYNC_[A-Z0-9_]*[A-Z0-9]\b")


def unknown_setting_names(texts: dict[str, str]) -> list[str]:
    known = settings_field_names()
    return sorted(f"{where}: {name}" for where, text in texts.items() for name in set(NAME.findall(text)) - known)


def deploy_texts() -> dict[str, str]:
    return {str(path.relative_to(DEPLOY)): path.read_text() for path in sorted(DEPLOY.rglob("*")) if path.is_file()}


def test_every_nfsync_variable_under_deploy_is_a_setting() -> None:
    texts = deploy_texts()
    assert len({name for text in texts.values() for name in NAME.findall(text)}) > 5
    assert unknown_setting_names(texts) == []


def test_a_misspelled_variable_fails() -> None:
    assert unknown_setting_names({"x": "NFSYNC_SHUTDOWN_GRACE_SECONDS=20"}) == ["x: NFSYNC_SHUTDOWN_GRACE_SECONDS"]


def settings_from(values: dict[str, str]) -> Settings:
    """Validate NFSYNC_* values with the real model (init values win over the environment)."""
    fields = {key.removeprefix(ENV_PREFIX).lower(): value for key, value in values.items()}
    return Settings(**fields)  # type: ignore[arg-type]


def test_env_example_is_complete_valid_and_holds_no_secret() -> None:
    values = env_example()
    settings = {key: value for key, value in values.items() if key.startswith(ENV_PREFIX)}
    required = {f"{ENV_PREFIX}{name}" for name in ("DATABASE_URL", "AMQP_URL", "SECRET_KEYS")}
    assert required <= settings.keys()
    keys = settings.pop(f"{ENV_PREFIX}SECRET_KEYS")
    assert PLACEHOLDER in keys
    with pytest.raises(ConfigError):
        Keyring.parse(keys)  # the placeholder is refused: nothing starts until a real key is set
    settings_from(settings)
    # the compose-only credentials agree with the URLs, and the hosts are the compose services
    database, amqp = urlsplit(settings[f"{ENV_PREFIX}DATABASE_URL"]), urlsplit(settings[f"{ENV_PREFIX}AMQP_URL"])
    postgres_env = compose_doc()["services"]["postgres"]["environment"]
    assert (database.username, database.hostname) == (postgres_env["POSTGRES_USER"], "postgres")
    assert database.password == values["POSTGRES_PASSWORD"]
    assert (amqp.username, amqp.password) == (values["RABBITMQ_DEFAULT_USER"], values["RABBITMQ_DEFAULT_PASS"])
    assert (
        amqp.hostname == "rabbitmq"
        and urlsplit(settings[f"{ENV_PREFIX}RABBITMQ_MANAGEMENT_URL"]).hostname == "rabbitmq"
    )
    assert "nfsync.env" in (DEPLOY / ".gitignore").read_text().split()


def key_entries(texts: dict[str, str]) -> list[str]:
    """Anything that parses as a keyring entry (kid:base64 of 32 bytes): the repository must hold none."""
    entry = re.compile(r"[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]{43}=?(?![A-Za-z0-9_-])")
    found = []
    for where, text in texts.items():
        for match in entry.finditer(text):
            with contextlib.suppress(ConfigError):
                Keyring.parse(match.group(0))
                found.append(f"{where}: {match.group(0)[:6]}...")
    return found


def test_no_real_key_anywhere_under_deploy() -> None:
    assert key_entries(deploy_texts()) == []
    (found,) = key_entries({"x": "NFSYNC_SECRET_KEYS=" + generate_key_entry("k1")})
    assert found.startswith("x: k1:")


# ------------------------------------------------------------------------------------------------ compose


def compose_problems(doc: dict[str, Any], grace: float) -> list[str]:
    services = doc["services"]
    problems = [
        f"missing service {name}"
        for name in ("postgres", "rabbitmq", "rabbitmq-definitions", "db-migrate", "api", "scheduler")
        if name not in services
    ]
    problems += [
        f"missing service {role}-{p}"
        for p in PLATFORM_PACKAGES
        for role in ("worker", "sandbox")
        if f"{role}-{p}" not in services
    ]
    for name, service in services.items():
        problems += _compose_dependency_problems(name, service, services)
        if is_nfsync_image(service):
            problems += _compose_nfsync_problems(name, service, grace)
    return problems


def _compose_dependency_problems(name: str, service: dict[str, Any], services: dict[str, Any]) -> list[str]:
    problems = [
        f"{name}: depends on unknown service {dep}" for dep in service.get("depends_on", {}) if dep not in services
    ]
    for volume in service.get("volumes", []):
        source = volume.split(":")[0]
        if source.startswith(".") and not (DEPLOY / source).exists():
            problems.append(f"{name}: mounts {source}, which does not exist")
    return problems


def _compose_nfsync_problems(name: str, service: dict[str, Any], grace: float) -> list[str]:
    argv = [str(part) for part in service["command"]]
    problems = []
    if argv[0] != "api" and not (service.get("healthcheck") or {}).get("disable"):
        problems.append(f"{name}: the image's HEALTHCHECK (/healthz on {IMAGE_PORT}) does not apply: disable it")
    if argv[0] in ("api", "scheduler", "worker", "db") and service.get("env_file") != "nfsync.env":
        problems.append(f"{name}: reads no env_file nfsync.env")
    if argv[0] in ("api", "scheduler", "worker") and seconds(service.get("stop_grace_period", "10s")) <= grace:
        problems.append(f"{name}: stop_grace_period must exceed NFSYNC_SHUTDOWN_GRACE ({grace} s)")
    if argv[0] == "worker":
        platform = option(argv, "--platform")
        if name != f"worker-{platform}" or service.get("deploy", {}).get("replicas") != 2:
            problems.append(f"{name}: expected worker-{platform} with deploy.replicas 2")
    if argv[0] in ("api", "sandbox"):
        problems += _compose_listener_problems(name, service, argv)
    return problems


def _compose_listener_problems(name: str, service: dict[str, Any], argv: list[str]) -> list[str]:
    port = option(argv, "--port")
    problems = [] if option(argv, "--host") == "0.0.0.0" else [f"{name}: must listen on 0.0.0.0"]
    if not any(str(mapping).endswith(f":{port}") for mapping in service.get("ports", [])):
        problems.append(f"{name}: port {port} is not published")
    if argv[0] == "sandbox" and name != f"sandbox-{option(argv, '--platform')}":
        problems.append(f"{name}: runs the sandbox of {option(argv, '--platform')}")
    check = " ".join(service.get("healthcheck", {}).get("test", []))
    if argv[0] == "api" and f":{port}/healthz" not in check:
        problems.append(f"{name}: the healthcheck must call /healthz on port {port}")
    return problems


def test_compose() -> None:
    doc = compose_doc()
    assert doc["services"]["postgres"]["image"].startswith("postgres:15")
    assert "management" in doc["services"]["rabbitmq"]["image"]
    assert doc["services"]["db-migrate"]["command"] == ["db", "migrate"]
    for name, service in doc["services"].items():
        environment = service.get("environment", {})
        assert not any(key.startswith(ENV_PREFIX) for key in environment), f"{name}: NFSYNC_* come from nfsync.env"
    interpolated = set(re.findall(r"\$\{(\w+)", (DEPLOY / "docker-compose.yml").read_text()))
    assert interpolated <= env_example().keys()
    assert compose_problems(doc, SHUTDOWN_GRACE_DEFAULT) == []


def test_broken_compose_fails() -> None:
    doc = compose_doc()
    broken = copy.deepcopy(doc)
    broken["services"]["worker-lazada"]["stop_grace_period"] = "10s"
    del broken["services"]["sandbox-tiktok"]
    broken["services"]["scheduler"]["healthcheck"] = {}
    broken["services"]["worker-woocommerce"]["command"] = ["worker", "--platform", "shopee"]
    assert len(compose_problems(broken, SHUTDOWN_GRACE_DEFAULT)) == 4


# ------------------------------------------------------------------------------------------------ Kubernetes

API_KINDS = {
    "ConfigMap": "v1",
    "Secret": "v1",
    "Service": "v1",
    "Deployment": "apps/v1",
    "Job": "batch/v1",
    "Ingress": "networking.k8s.io/v1",
    "PodDisruptionBudget": "policy/v1",
    "ScaledObject": "keda.sh/v1alpha1",
    "TriggerAuthentication": "keda.sh/v1alpha1",
}


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def pod_labels(doc: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = doc["spec"]["template"]["metadata"]["labels"]
    return labels


def matching(selector: dict[str, str], docs: list[dict[str, Any]]) -> list[str]:
    return [doc["metadata"]["name"] for doc in workloads(docs) if selector.items() <= pod_labels(doc).items()]


def k8s_object_problems(docs: list[dict[str, Any]]) -> list[str]:
    problems = []
    for doc in docs:
        name = f"{doc['__file__']}:{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        if API_KINDS.get(doc.get("kind", "")) != doc.get("apiVersion"):
            problems.append(f"{name}: unexpected apiVersion/kind {doc.get('apiVersion')}/{doc.get('kind')}")
        if "namespace" in doc.get("metadata", {}):
            problems.append(f"{name}: sets a namespace (the manifests are namespace-agnostic)")
    return problems


def _container_problems(doc: dict[str, Any], names: dict[str, set[str]], grace: float) -> list[str]:
    where = f"{doc['kind']}/{doc['metadata']['name']}"
    spec = doc["spec"]["template"]["spec"]
    problems = []
    if not spec.get("securityContext", {}).get("runAsNonRoot"):
        problems.append(f"{where}: runAsNonRoot is not set")
    if doc["kind"] == "Deployment" and spec.get("terminationGracePeriodSeconds", 30) <= grace:
        problems.append(f"{where}: terminationGracePeriodSeconds must exceed NFSYNC_SHUTDOWN_GRACE ({grace} s)")
    for container in spec["containers"]:
        resources = container.get("resources", {})
        for part in ("requests", "limits"):
            if set(resources.get(part, {})) != {"cpu", "memory"}:
                problems.append(f"{where}: {part} must set cpu and memory")
        for source in container.get("envFrom", []):
            for kind, ref in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                if ref in source and source[ref]["name"] not in names[kind]:
                    problems.append(f"{where}: {ref} {source[ref]['name']} does not exist")
    return problems


def _api_problems(docs: list[dict[str, Any]]) -> list[str]:
    deployment = by_kind(docs, "Deployment")["nfsync-api"]
    (container,) = containers(deployment)
    argv = container_argv(container)
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    problems = [] if option(argv, "--host") == "0.0.0.0" else ["api: must listen on 0.0.0.0"]
    if ports.get("http") != int(option(argv, "--port") or 0):
        problems.append("api: containerPort http is not the --port")
    paths = {route.path for route in all_routes() if route.method == "GET"}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")):
        get = container.get(probe, {}).get("httpGet", {})
        if get.get("path") != path or path not in paths or get.get("port") not in (*ports, *ports.values()):
            problems.append(f"api: {probe} must GET {path} on the http port")
    service = by_kind(docs, "Service")["nfsync-api"]
    if matching(service["spec"]["selector"], docs) != ["nfsync-api"]:
        problems.append("Service nfsync-api does not select the API pods alone")
    if {port["targetPort"] for port in service["spec"]["ports"]} - set(ports):
        problems.append("Service nfsync-api targets a port the container does not name")
    for rule in by_kind(docs, "Ingress")["nfsync-api"]["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            named = {port["name"] for port in service["spec"]["ports"]}
            if backend["name"] != "nfsync-api" or backend["port"].get("name") not in named:
                problems.append("Ingress: the backend is not the nfsync-api Service's named port")
    return problems


def _pdb_problems(docs: list[dict[str, Any]]) -> list[str]:
    problems = []
    covered = set()
    for name, pdb in by_kind(docs, "PodDisruptionBudget").items():
        selected = matching(pdb["spec"]["selector"]["matchLabels"], docs)
        covered.update(selected)
        if len(selected) != 1:
            problems.append(f"PodDisruptionBudget {name} selects {selected}")
    problems += [
        f"Deployment {name} has no PodDisruptionBudget" for name in by_kind(docs, "Deployment") if name not in covered
    ]
    return problems


def _deployment_problems(docs: list[dict[str, Any]]) -> list[str]:
    problems = []
    for name, deployment in by_kind(docs, "Deployment").items():
        if not deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels(deployment).items():
            problems.append(f"Deployment {name}: the selector does not match its pod labels")
    images = {container["image"] for doc in workloads(docs) for container in containers(doc)}
    if len(images) != 1:
        problems.append(f"the workloads run different images: {sorted(images)}")
    return problems


def worker_platform(deployment: dict[str, Any]) -> str | None:
    argv = container_argv(containers(deployment)[0])
    return option(argv, "--platform") if argv and argv[0] == "worker" else None


def _scaling_problems(docs: list[dict[str, Any]], secrets: dict[str, dict[str, Any]]) -> list[str]:
    deployments = by_kind(docs, "Deployment")
    workers = {name: worker_platform(doc) for name, doc in deployments.items() if worker_platform(doc)}
    problems = [f"no worker Deployment for {p}" for p in PLATFORM_PACKAGES if p not in workers.values()]
    scaled = set()
    auths = by_kind(docs, "TriggerAuthentication")
    for name, scaled_object in by_kind(docs, "ScaledObject").items():
        target = scaled_object["spec"]["scaleTargetRef"]["name"]
        scaled.add(target)
        for trigger in scaled_object["spec"]["triggers"]:
            expected = queue_name(str(workers.get(target)))
            if trigger["type"] != "rabbitmq" or trigger["metadata"].get("queueName") != expected:
                problems.append(f"ScaledObject {name}: expected a rabbitmq trigger on {expected}")
            auth = auths.get(trigger.get("authenticationRef", {}).get("name", ""))
            refs = auth["spec"]["secretTargetRef"] if auth else []
            if not refs or any(ref["key"] not in secrets.get(ref["name"], {}).get("stringData", {}) for ref in refs):
                problems.append(f"ScaledObject {name}: its TriggerAuthentication names no existing secret key")
    problems += [f"worker Deployment {name} has no ScaledObject" for name in workers if name not in scaled]
    return problems


def k8s_problems(docs: list[dict[str, Any]], grace: float) -> list[str]:
    names = {kind: set(by_kind(docs, kind)) for kind in ("ConfigMap", "Secret")}
    problems = k8s_object_problems(docs) + _api_problems(docs) + _pdb_problems(docs) + _deployment_problems(docs)
    for doc in workloads(docs):
        problems += _container_problems(doc, names, grace)
    return problems + _scaling_problems(docs, by_kind(docs, "Secret"))


def test_k8s_manifests() -> None:
    docs = k8s_docs()
    assert k8s_problems(docs, shutdown_grace()) == []
    (job,) = by_kind(docs, "Job").values()
    assert container_argv(containers(job)[0]) == ("db", "migrate")
    scheduler = by_kind(docs, "Deployment")["nfsync-scheduler"]
    assert container_argv(containers(scheduler)[0]) == ("scheduler",) and scheduler["spec"]["replicas"] == 2


def test_kustomization_lists_the_long_lived_manifests() -> None:
    (kustomization,) = load_yaml_docs(K8S / "kustomization.yaml")
    listed = set(kustomization["resources"])
    on_their_own = {"secret.template.yaml", "db-migrate-job.yaml"}
    assert listed == {path.name for path in K8S.glob("*.yaml")} - on_their_own - {"kustomization.yaml"}
    assert "namespace" not in kustomization


def test_configmap_and_secret_template() -> None:
    data = configmap_data()
    secret_names = {f"{ENV_PREFIX}{name}" for name in ("DATABASE_URL", "AMQP_URL", "SECRET_KEYS")}
    assert not data.keys() & secret_names, "secret settings belong in the Secret"
    assert set(data) <= settings_field_names()
    settings_from(data)
    secrets = by_kind(k8s_docs(), "Secret")
    assert set(secrets["nfsync-secrets"]["stringData"]) == secret_names
    for secret in secrets.values():
        assert "data" not in secret
        assert all(PLACEHOLDER in value for value in secret["stringData"].values()), "placeholders only"


def test_broken_manifests_fail() -> None:
    docs = copy.deepcopy(k8s_docs())
    deployments = by_kind(docs, "Deployment")
    deployments["nfsync-worker-tiktok"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 20
    containers(deployments["nfsync-api"])[0]["readinessProbe"]["httpGet"]["path"] = "/ready"
    by_kind(docs, "ScaledObject")["nfsync-worker-lazada"]["spec"]["triggers"][0]["metadata"]["queueName"] = "lazada"
    by_kind(docs, "PodDisruptionBudget")["nfsync-scheduler"]["spec"]["selector"]["matchLabels"] = {"x": "y"}
    del containers(deployments["nfsync-worker-shopee"])[0]["resources"]["limits"]
    by_kind(docs, "ConfigMap")["nfsync-config"]["metadata"]["namespace"] = "prod"
    assert len(k8s_problems(docs, shutdown_grace())) >= 6


# ------------------------------------------------------------------------------------------------ systemd


def systemd_problems(all_units: dict[str, dict[str, list[tuple[str, str]]]], grace: float) -> list[str]:
    problems = [
        f"missing {name}"
        for name in ("nfsync-api.service", "nfsync-scheduler.service", "nfsync-worker@.service")
        if name not in all_units
    ]
    for name, unit in all_units.items():
        service = dict(unit.get("Service", []))
        oneshot = service.get("Type") == "oneshot"
        expected = {
            "User": "nfsync",
            "EnvironmentFile": "/etc/nfsync/nfsync.env",
            "KillSignal": "SIGTERM",
            "NoNewPrivileges": "yes",
            "ProtectSystem": "strict",
            "PrivateTmp": "yes",
        }
        if not oneshot:
            expected["Restart"] = "on-failure"
        problems += [f"{name}: {key}={value} expected" for key, value in expected.items() if service.get(key) != value]
        if not oneshot and ("Install" not in unit or seconds(service.get("TimeoutStopSec", "0")) <= grace):
            problems.append(f"{name}: needs [Install] and TimeoutStopSec above NFSYNC_SHUTDOWN_GRACE ({grace} s)")
    worker = all_units.get("nfsync-worker@.service", {})
    if not any("--platform %i" in value for value in unit_values(worker, "Service", "ExecStart")):
        problems.append("nfsync-worker@.service: the instance must be the platform (--platform %i)")
    return problems


def test_systemd_units() -> None:
    assert systemd_problems(units(), SHUTDOWN_GRACE_DEFAULT) == []


def test_broken_units_fail() -> None:
    broken = units()
    broken["nfsync-scheduler.service"]["Service"] = [
        (k, "root" if k == "User" else v) for k, v in broken["nfsync-scheduler.service"]["Service"]
    ]
    broken["nfsync-worker@.service"]["Service"] = [
        (k, "15s" if k == "TimeoutStopSec" else v) for k, v in broken["nfsync-worker@.service"]["Service"]
    ]
    del broken["nfsync-api.service"]
    assert len(systemd_problems(broken, SHUTDOWN_GRACE_DEFAULT)) == 3


# ------------------------------------------------------------------------------------------------ RabbitMQ

POLICY_KEYS = {
    "x-delivery-limit": "delivery-limit",
    "x-dead-letter-exchange": "dead-letter-exchange",
    "x-dead-letter-strategy": "dead-letter-strategy",
    "x-overflow": "overflow",
}


BOUND = {"max-length", "overflow"}  # a policy may bound a queue beyond the declared arguments (issue #13)


def _bounded(definition: dict[str, Any]) -> bool:
    length = definition.get("max-length")
    return isinstance(length, int) and length > 0 and definition.get("overflow") == "reject-publish"


def policy_problems(doc: dict[str, Any], delivery_limit: int) -> list[str]:
    """Each nfsync queue is matched by exactly one policy that restates its declared arguments and bounds its length
    (reject-publish: a full queue refuses, it never drops); each dead-letter queue is matched by exactly one policy
    that bounds it and names no dead-letter exchange (it would dead-letter into itself)."""
    declared = {
        key: value
        for key, value in queue_arguments(Settings(queue_delivery_limit=delivery_limit)).items()
        if key in POLICY_KEYS
    }
    expected = {queue_name(p): {POLICY_KEYS[k]: v for k, v in declared.items()} for p in PLATFORMS}
    expected[COMMANDS_QUEUE] = {**expected[queue_name(PLATFORMS[0])], "dead-letter-exchange": COMMANDS_DEAD_EXCHANGE}
    problems = []
    policies = doc.get("policies", [])

    def matching(name: str) -> list[dict[str, Any]]:
        return [p for p in policies if re.search(p["pattern"], name) and p["apply-to"] in ("queues", "all")]

    for queue, arguments in expected.items():
        matched = matching(queue)
        restated = len(matched) == 1 and {k: v for k, v in matched[0]["definition"].items() if k != "max-length"}
        if restated != arguments or not _bounded(matched[0]["definition"]):
            names = [p["name"] for p in matched]
            problems.append(f"{queue}: expected one bounded policy with {arguments}, got {names}")
    for queue in (DEAD_QUEUE, COMMANDS_DEAD_QUEUE):
        matched = matching(queue)
        if len(matched) != 1 or set(matched[0]["definition"]) != BOUND or not _bounded(matched[0]["definition"]):
            names = [p["name"] for p in matched]
            problems.append(f"{queue}: expected one policy with only {sorted(BOUND)}, got {names}")
    for name in (DEAD_EXCHANGE, COMMANDS_DEAD_EXCHANGE, TASKS_EXCHANGE):
        problems += [f"policy {p['name']} matches {name}" for p in policies if re.search(p["pattern"], name)]
    return problems


def test_rabbitmq_policies_restate_the_declared_queue_arguments() -> None:
    default = Settings.model_fields["queue_delivery_limit"].default
    limit = int(configmap_data().get(f"{ENV_PREFIX}QUEUE_DELIVERY_LIMIT", default))
    assert limit == default, "the ConfigMap's delivery limit is not the code's default (update definitions.json)"
    assert policy_problems(definitions(), limit) == []
    # and the commands queue dead-letters where workers/api/amqp_commands.py says
    assert COMMANDS_DEAD_EXCHANGE == "nfsync.commands.dlx" and DEAD_EXCHANGE == "nfsync.tasks.dlx"


def test_broken_policies_fail() -> None:
    doc = definitions()
    assert policy_problems(doc, 7)  # a delivery limit other than the queues'
    broken = copy.deepcopy(doc)
    broken["policies"][0]["pattern"] = r"^nfsync\.tasks\..*$"  # would match nfsync.tasks.dead
    assert policy_problems(broken, 5)
    broken = copy.deepcopy(doc)
    broken["policies"][1]["definition"]["dead-letter-exchange"] = DEAD_EXCHANGE
    assert policy_problems(broken, 5)
    broken = copy.deepcopy(doc)
    del broken["policies"][0]["definition"]["max-length"]  # an unbounded wake-up queue
    assert policy_problems(broken, 5)
    broken = copy.deepcopy(doc)
    broken["policies"][2]["definition"]["dead-letter-exchange"] = DEAD_EXCHANGE  # a dead queue dead-lettering
    assert policy_problems(broken, 5)
    broken = copy.deepcopy(doc)
    broken["policies"][2]["definition"]["overflow"] = "drop-head"  # a full dead queue would lose messages
    assert policy_problems(broken, 5)


def test_rabbitmq_conf() -> None:
    settings = {}
    for line in (DEPLOY / "rabbitmq" / "rabbitmq.conf").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, sep, value = line.partition(" = ")
            assert sep and re.fullmatch(r"[a-z_.]+", key) and value.strip(), line
            settings[key] = value
    assert "load_definitions" not in settings  # a node loading definitions at boot skips its default user
    assert settings["management.tcp.port"] == "15672"


# ------------------------------------------------------------------------------------------------ Grafana


class _Row(dict[str, Any]):
    """A canned database row: the named values, 1 for any other column the code reads."""

    def __missing__(self, key: str) -> int:
        return 1


class _Pool:
    def __init__(self, rows: dict[str, list[_Row]]) -> None:
        self._rows = {QUERIES[name]: value for name, value in rows.items()}

    async def fetch(self, query: str, *_args: Any) -> list[_Row]:
        assert query in self._rows, f"the canned pool does not know {query[:80]!r}"
        return self._rows[query]

    async def fetchrow(self, query: str, *args: Any) -> _Row | None:
        rows = await self.fetch(query, *args)
        return rows[0] if rows else None


@dataclass(frozen=True)
class Exposed:
    names: frozenset[str]  # sample names as Prometheus stores them (nfsync_x_total, ...)
    labels: dict[str, frozenset[str]]  # sample name -> label names
    values: dict[tuple[str, str], frozenset[str]]  # (sample name, label) -> values seen


async def scrape_metrics(monkeypatch: pytest.MonkeyPatch) -> str:
    """The real /metrics handler over canned rows, as an admin token sees it (broker and limiter series too)."""

    async def queues(*_args: Any) -> dict[str, Any]:
        return {"platforms": [_Row(platform=p, broker={"ready": 2}) for p in PLATFORMS]}

    monkeypatch.setattr(api_ops.ops, "queues", queues)
    durations = [
        _Row(platform=p, task_type="product_sync", status=s) for p in PLATFORMS for s in ("completed", "failed")
    ]
    state = SimpleNamespace(
        settings=Settings(),
        connection=None,
        tenant_pool=_Pool(
            {
                "ops_task_durations": durations,
                "shop_health": [],
                "shop_health_tasks": [],
                "ops_event_backlog": [_Row(events=3, oldest_seconds=1.5)],
                "ops_subscribers": [_Row(status="active", pending=1, failed_24h=0, delivered_1h=2)],
            }
        ),
        system_pool=_Pool({"ops_limiter_totals": [_Row(platform=p) for p in PLATFORMS]}),
    )
    response = await api_ops.metrics(Call(SimpleNamespace(app={API_STATE: state}), None))  # type: ignore[arg-type]
    assert response.body is not None
    return bytes(response.body).decode()


def _process_collectors() -> dict[str, frozenset[str]]:
    """The module-level metrics of the API process (ops_metrics): family name -> label names, even before any
    sample exists."""
    collectors = [value for value in vars(ops_metrics).values() if isinstance(value, MetricWrapperBase)]
    return {collector._name: frozenset(collector._labelnames) for collector in collectors}


SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "summary": ("_sum", "_count", "_created", ""),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "untyped": ("",),
}


def exposed_metrics(text: str) -> Exposed:
    names: set[str] = set()
    labels: dict[str, set[str]] = {}
    values: dict[tuple[str, str], set[str]] = {}
    process = _process_collectors()
    for family in text_string_to_metric_families(text):
        for suffix in SUFFIXES.get(family.type, ("",)):
            names.add(family.name + suffix)
            labels.setdefault(family.name + suffix, set()).update(process.get(family.name, ()))
        for sample in family.samples:
            names.add(sample.name)
            labels.setdefault(sample.name, set()).update(sample.labels)
            for label, value in sample.labels.items():
                values.setdefault((sample.name, label), set()).add(value)
    return Exposed(
        frozenset(names), {k: frozenset(v) for k, v in labels.items()}, {k: frozenset(v) for k, v in values.items()}
    )


def dashboard_queries(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(where, PromQL, legend) of every panel target and query variable."""
    found = []
    for panel in doc["panels"]:
        for target in panel.get("targets", []):
            found.append((f"panel {panel['title']!r}", target["expr"], target.get("legendFormat", "")))
    for variable in doc.get("templating", {}).get("list", []):
        query = variable.get("query")
        if variable.get("type") == "query":
            found.append((f"variable {variable['name']}", query["query"] if isinstance(query, dict) else query, ""))
    return found


METRIC = re.compile(r"\bnfsync_[a-z0-9_]+\b")


def _query_label_problems(where: str, expr: str, legend: str, exposed: Exposed) -> list[str]:
    metrics = [name for name in METRIC.findall(expr) if name in exposed.names]
    available = set().union(*(exposed.labels.get(name, frozenset()) for name in metrics)) if metrics else set()
    used = set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)\s*\"", expr))
    used |= {
        label.strip() for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr) for label in group.split(",")
    }
    used |= set(re.findall(r"\{\{\s*(\w+)\s*\}\}", legend))
    used.discard("")
    problems = [f"{where}: label {label} is not on {metrics}" for label in sorted(used - available)]
    for selector in re.finditer(r"\b(nfsync_\w+)\{([^}]*)\}", expr):
        for label, value in re.findall(r"(\w+)\s*=\s*\"([^\"]*)\"", selector.group(2)):
            seen = exposed.values.get((selector.group(1), label))
            if label == "quantile" and (not seen or value not in seen):
                problems.append(f"{where}: {selector.group(1)} has no quantile {value}")
    return problems


def dashboard_problems(doc: dict[str, Any], exposed: Exposed) -> list[str]:
    problems = []
    for where, expr, legend in dashboard_queries(doc):
        names = METRIC.findall(expr)
        if not names:
            problems.append(f"{where}: uses no nfsync metric")
        problems += [f"{where}: {name} is not exposed by /metrics" for name in names if name not in exposed.names]
        for name in names:
            if name.endswith("_total") and not re.search(rf"\b(rate|increase|irate)\(\s*{name}\b", expr):
                problems.append(f"{where}: counter {name} outside rate()/increase()")
        problems += _query_label_problems(where, expr, legend, exposed)
    ids = [panel["id"] for panel in doc["panels"]]
    if len(ids) != len(set(ids)) or not all("gridPos" in panel for panel in doc["panels"]):
        problems.append("panel ids must be unique and every panel needs a gridPos")
    return problems


# What the brief asks the dashboard to show: queue depth, task outcomes, durations, retries, marketplace calls,
# throttles, limiter waits, webhooks.
REQUIRED_SERIES = {
    "nfsync_queue_due",
    "nfsync_queue_pending",
    "nfsync_tasks_finished_last_hour",
    "nfsync_task_duration_seconds_last_hour",
    "nfsync_task_retries_last_hour",
    "nfsync_marketplace_calls_total",
    "nfsync_marketplace_throttles_total",
    "nfsync_limiter_wait_seconds_total",
    "nfsync_webhooks_total",
}


async def test_dashboard_uses_only_exposed_metrics_and_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    exposed = exposed_metrics(await scrape_metrics(monkeypatch))
    assert "nfsync_queue_oldest_due_seconds" in exposed.names and "nfsync_webhooks_total" in exposed.names
    assert exposed.labels["nfsync_webhooks_total"] == {"platform", "result"}
    doc = dashboard()
    used = {name for _, expr, _ in dashboard_queries(doc) for name in METRIC.findall(expr)}
    assert used >= REQUIRED_SERIES, REQUIRED_SERIES - used
    assert dashboard_problems(doc, exposed) == []
    variables = {variable["name"] for variable in doc["templating"]["list"]}
    assert {"datasource", "platform"} <= variables


async def test_a_wrong_metric_or_label_in_the_dashboard_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    exposed = exposed_metrics(await scrape_metrics(monkeypatch))
    for before, after in [
        ("nfsync_queue_due{", "nfsync_queue_dues{"),
        ("rate(nfsync_marketplace_calls_total", "rate(nfsync_marketplace_calls"),
        ("sum by (outcome)", "sum by (status)"),
        ('quantile=\\"0.95\\"', 'quantile=\\"0.99\\"'),
        ("{{result}}", "{{reason}}"),
    ]:
        text = (DEPLOY / "grafana" / "nfsync-dashboard.json").read_text()
        assert before in text, before
        assert dashboard_problems(json.loads(text.replace(before, after, 1)), exposed), after
