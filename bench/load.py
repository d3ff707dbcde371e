"""Load test: many users at once against `flask serve` configured as in production, on embedded and Elasticsearch.

Not a test. Run from the repository root with the app's venv (Locust runs from .venv-bench: `make bench-venv`)::

    .venv/bin/python bench/load.py --practitioners 100000 --backends embedded,elasticsearch

It seeds (or reuses, with --keep) a bench database, creates bench accounts, starts the production set-up (one
`flask search sync --watch` process and `flask serve --no-sync-worker` web processes, MERIDIAN_ENV=production,
rate limits on), then steps the number of Locust users and prints, per backend, a table of achieved req/s and
latency per request type, the highest sustained req/s with p95 <= 100 ms and 0 errors, and where the server
spends its time. Loopback only. See bench/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ is sys.path[0] and bench/search.py would shadow the `search` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import base64  # noqa: E402
import contextlib  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

import requests  # noqa: E402

from bench import load_probe as probe  # noqa: E402
from bench.load_mix import require_loopback  # noqa: E402
from bench.load_report import StepResult, backend_report, step_result  # noqa: E402

RESULTS_DIR = ROOT / "bench" / "results"
LOCUST = ROOT / ".venv-bench" / "bin" / "locust"
FLASK = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "app"]
BENCH_PASSWORD = "bench load passphrase 2026 meridian"  # noqa: S105  (bench accounts on a bench database)
# Locust user classes (bench/locustfile.py) and their weights: mostly anonymous browsing, a few accounts.
WEIGHTS = {"Browsing": 90, "Patient": 7, "Practitioner": 3}
PROFILES = 2000
STOP_AFTER_P95_MS = 1000.0  # a step this slow is far past capacity: higher steps would only queue more


def say(message: str) -> None:
    """Print one progress line, flushed."""
    print(message, flush=True)


def bench_search() -> ModuleType:
    """Return bench/search.py as a module (its seeding, app factory, query mix and engine starter)."""
    if "bench_search" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_search", ROOT / "bench" / "search.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_search"] = module
        spec.loader.exec_module(module)
    return sys.modules["bench_search"]


# --------------------------------------------------------------------------- the bench instance


@contextlib.contextmanager
def workdir_for(size: int, keep: Path | None) -> Iterator[Path]:
    """Yield a seeded database directory: ``keep/size`` (seeded once, then reused) or a temporary one."""
    if keep is None:
        with tempfile.TemporaryDirectory(prefix=f"meridian-load-{size}-") as tmp:
            yield _seeded(Path(tmp), size)
        return
    yield _seeded(keep / str(size), size)


def _seeded(workdir: Path, size: int) -> Path:
    """Seed ``workdir`` with ``size`` practitioners unless a previous run did."""
    marker = workdir / "seeded"
    if marker.exists():
        say(f"reusing the seeded database in {workdir}")
        return workdir
    workdir.mkdir(parents=True, exist_ok=True)
    say(f"seeding {size} practitioners into {workdir} ...")
    seconds = bench_search().seed_database(workdir, size)
    say(f"  seeded in {seconds:.0f}s ({size / seconds:.0f} docs/s)")
    marker.write_text(f"{size}\n")
    return workdir


def production_secrets(workdir: Path) -> dict[str, str]:
    """Return the secrets production requires, made once per bench database (sealed referrals must stay readable)."""
    path = workdir / "load-secrets.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    from cryptography.fernet import Fernet

    made = {"SECRET_KEY": secrets.token_hex(32), "REFERRAL_KEYS": Fernet.generate_key().decode(),
            "VERIFICATION_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode()}
    path.write_text(json.dumps(made))
    path.chmod(0o600)
    return made


def bench_accounts(workdir: Path, patients: int, practitioners: int) -> dict[str, list[dict[str, str]]]:
    """Create confirmed patients and practitioners who own verified listings, the way real ones come to exist."""
    path = workdir / "load-accounts.json"
    if path.exists():
        made = json.loads(path.read_text())
        if len(made["patients"]) >= patients and len(made["practitioners"]) >= practitioners:
            return {"patients": made["patients"][:patients], "practitioners": made["practitioners"][:practitioners]}
    from directory.accounts import services as accounts
    from directory.accounts import tokens
    from directory.accounts.models import User
    from directory.extensions import db

    say(f"creating {patients} patients and {practitioners} practitioners (sign-up, confirmation, claim) ...")
    app = bench_search().make_app(workdir, "embedded")
    with app.app_context():
        admin = accounts.make_admin("load.admin@bench.meridian.example", "Load Admin", BENCH_PASSWORD, via="bench")
        made = {"patients": [], "practitioners": []}
        for kind, count in (("patients", patients), ("practitioners", practitioners)):
            for number in range(count):
                email = f"load.{kind[:-1]}.{number}@bench.meridian.example"
                if db.session.query(User.id).filter_by(email=email).scalar() is None:
                    user = accounts.sign_up(email, BENCH_PASSWORD, f"Load {kind[:-1].title()} {number}", kind[:-1])
                    accounts.confirm_email(tokens.make_token("confirm", {"uid": user.id, "email": user.email}))
                made[kind].append({"email": email, "password": BENCH_PASSWORD})
        _claim_listings(admin, made["practitioners"])
        db.session.commit()
        db.engine.dispose()
    path.write_text(json.dumps(made, indent=1))
    return made


def _claim_listings(admin: Any, practitioners: list[dict[str, str]]) -> None:
    """Give each bench practitioner account a verified, visible listing of its own (a claim the admin approves)."""
    from sqlalchemy import select

    from directory.accounts import services as accounts
    from directory.accounts.models import User
    from directory.extensions import db
    from directory.practitioners.models import Location, Practitioner
    from directory.vetting.status import VERIFIED_STATUSES

    owned = select(User.practitioner_id).where(User.practitioner_id.is_not(None))
    free = iter(db.session.scalars(
        select(Practitioner).where(Practitioner.vetting_status.in_(VERIFIED_STATUSES), Practitioner.hidden.is_(False),
                                   Practitioner.id.not_in(owned), Practitioner.id.in_(select(Location.practitioner_id)))
        .order_by(Practitioner.id).limit(len(practitioners))))
    for account in practitioners:
        user = db.session.scalar(select(User).where(User.email == account["email"]))
        if user.practitioner_id is None:
            claim = accounts.request_claim(user, next(free).slug, "bench/load.py: an invented claim")
            db.session.flush()
            accounts.decide_claim(admin, claim.id, True, "bench/load.py")
            db.session.flush()
        account["slug"] = db.session.get(Practitioner, user.practitioner_id).slug


def write_plan(workdir: Path, accounts: dict[str, list[dict[str, str]]], args: argparse.Namespace,
               hosts: list[str], address_offset: int) -> Path:
    """Write what the Locust users send: the query mix, profiles, autocomplete prefixes, accounts, weights."""
    from sqlalchemy import select

    from directory.extensions import db
    from directory.geo import sample_places
    from directory.practitioners.models import Practitioner

    bs = bench_search()
    app = bs.make_app(workdir, "embedded")
    rng = random.Random(7)
    last_names = bs.sample_last_names(app, rng, 200)
    with app.app_context():
        slugs = list(db.session.scalars(select(Practitioner.slug).where(Practitioner.hidden.is_(False))
                                        .order_by(Practitioner.id).limit(50_000)))
        labels = [place.label for place in sample_places(random.Random(9), 200)]
        db.engine.dispose()
    words = [*labels, *bs.FREE_TEXT, *last_names]
    plan = {
        "searches": bs.build_mix(args.queries, last_names),
        "profiles": random.Random(10).sample(slugs, min(PROFILES, len(slugs))),
        "prefixes": [word[: random.Random(word).randint(2, 5)] for word in words],
        "patients": accounts["patients"], "practitioners": accounts["practitioners"],
        "weights": WEIGHTS, "pacing_s": args.pacing, "hosts": hosts, "address_offset": address_offset,
    }
    path = workdir / "load-plan.json"
    path.write_text(json.dumps(plan))
    return path


# --------------------------------------------------------------------------- the server, as in production


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(workdir: Path, backend: str, url: str | None) -> dict[str, str]:
    """Return the environment of the production processes (README "Running in production"), on the bench DB."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MERIDIAN_", "SEARCH_"))}
    env.update(production_secrets(workdir))
    env.update({
        "MERIDIAN_ENV": "production", "DATABASE_URL": f"sqlite:///{workdir / 'meridian.db'}",
        "MERIDIAN_INSTANCE_DIR": str(workdir), "PUBLIC_BASE_URL": "https://127.0.0.1",
        # One reverse proxy in front (Locust plays it: X-Forwarded-For per visitor, X-Forwarded-Proto: https).
        "TRUSTED_PROXIES": "1", "RATELIMIT_ENABLED": "true", "SEARCH_BACKEND": backend,
        "SEARCH_EMBEDDED_PATH": str(workdir / "search-embedded.db"), "SEARCH_INDEX_PREFIX": "load",
    })
    if url:
        env["SEARCH_URL"] = url
    return env


class Server:
    """The production processes: one outbox worker (`flask search sync --watch`) and N `flask serve` processes."""

    def __init__(self, env: dict[str, str], processes: int, threads: int, log_dir: Path) -> None:
        self.env, self.log_dir = env, log_dir
        self.ports = [free_port() for _ in range(processes)]
        self.threads = threads
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        """Start the worker and the web processes; wait until each answers /healthz."""
        self._spawn("sync", [*FLASK, "search", "sync", "--watch"])
        for n, port in enumerate(self.ports):
            self._spawn(f"web{n}", [*FLASK, "serve", "--host", "127.0.0.1", "--port", str(port),
                                    "--threads", str(self.threads), "--no-sync-worker"])
        for url in self.urls:
            wait_healthy(url, self.procs)

    def _spawn(self, name: str, command: list[str]) -> None:
        log = (self.log_dir / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    @property
    def urls(self) -> list[str]:
        """Return the web processes' base URLs."""
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def pids(self, prefix: str) -> list[int]:
        """Return the pids of the processes whose name starts with ``prefix``."""
        return [proc.pid for name, proc in self.procs.items() if name.startswith(prefix)]

    def stop(self) -> None:
        """Stop every process this run started (SIGTERM, then SIGKILL)."""
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()


PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.255.255.254"}


def wait_healthy(url: str, procs: dict[str, subprocess.Popen[bytes]], timeout: float = 60.0) -> None:
    """Poll ``url``/healthz until it answers 200; fail when a process died or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [name for name, proc in procs.items() if proc.poll() is not None]
        if dead:
            raise RuntimeError(f"server process {dead} exited (see its log in bench/results/)")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/healthz", headers=PROXY_HEADERS, timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not become healthy within {timeout:.0f}s")


def reindex(env: dict[str, str], log_dir: Path) -> None:
    """Build the backend's index with `flask search reindex`, as an operator would after switching backend."""
    say("  flask search reindex ...")
    started = time.perf_counter()
    # The timeout covers the bulk requests and the final refresh too: on a busy 2-core machine a cold node can take
    # longer than the serving default (5 s). The web processes keep the production setting.
    with (log_dir / "reindex.log").open("wb") as log:
        subprocess.run([*FLASK, "search", "reindex"], cwd=ROOT, env={**env, "SEARCH_TIMEOUT_S": "60"}, stdout=log,
                       stderr=subprocess.STDOUT, check=True)
    say(f"  reindexed in {time.perf_counter() - started:.0f}s")


# --------------------------------------------------------------------------- one step of offered load


def run_step(users: int, args: argparse.Namespace, server: Server, plan: Path, out_dir: Path, label: str,
             java_pid: int | None, measure: bool = True) -> StepResult | None:
    """Run Locust with ``users`` users for one step; return its numbers (None for a warm-up)."""
    samples = out_dir / f"samples-{label}.jsonl"
    spawn_rate = max(1.0, users / args.ramp)
    command = [str(LOCUST), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "--host", server.urls[0],
               "-u", str(users), "-r", f"{spawn_rate:.2f}", "-t", f"{round(args.step)}s", "--plan", str(plan),
               "--samples", str(samples), "--max-requests", str(args.max_requests), "--only-summary",
               "--loglevel", "WARNING", "--stop-timeout", "3"]
    load_before = probe.load_average()
    with (out_dir / f"locust-{label}.log").open("wb") as log:
        locust = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            window = _probe_step(users, args, server, locust, java_pid, out_dir, label) if measure else None
            locust.wait(timeout=args.step + 60)
        finally:
            if locust.poll() is None:
                os.killpg(locust.pid, signal.SIGKILL)
                locust.wait()
    if not samples.exists():
        tail = (out_dir / f"locust-{label}.log").read_text(errors="replace").strip().splitlines()[-5:]
        raise RuntimeError("Locust wrote no samples:\n" + "\n".join(tail))
    if not measure:
        return None
    cpu, profile = window if window else (None, None)
    return step_result(users, samples, args.ramp, load_before, probe.load_average(), cpu, profile, args.pacing)


def _probe_step(users: int, args: argparse.Namespace, server: Server, locust: subprocess.Popen[bytes],
                java_pid: int | None, out_dir: Path, label: str) -> tuple[probe.CpuWindow, probe.Profile | None]:
    """After the ramp, measure CPU per process and sample web process 0 with py-spy, until the step ends."""
    time.sleep(args.ramp + 1.5)  # Locust's own start-up, then the ramp
    seconds = max(2.0, args.step - args.ramp - 3)
    pids = {"web": server.pids("web"), "sync worker": server.pids("sync"), "locust": [locust.pid]}
    if java_pid:
        pids["engine (java)"] = probe.with_descendants(java_pid)
    cpu = probe.CpuWindow(pids=pids, thread_pid=server.pids("web")[0])
    spy = probe.Spy(server.pids("web")[0], seconds, out_dir, label) if args.profile else None
    cpu.start()
    time.sleep(seconds)
    cpu.stop()
    return cpu, spy.finish() if spy else None


# --------------------------------------------------------------------------- per backend


def bench_backend(kind: str, workdir: Path, args: argparse.Namespace, accounts: dict[str, Any],
                  out_dir: Path) -> list[StepResult]:
    """Start the engine (Elasticsearch) and the production processes, warm up, run every step, stop it all."""
    engines = bench_search().Engines({}, args.heap)
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(engines.running(kind)) if kind != "embedded" else None
        java_pid = engines.handle.pid if engines.handle is not None else None
        env = server_env(workdir, kind, url)
        reindex(env, out_dir)
        server = Server(env, args.processes, args.threads, out_dir)
        stack.callback(server.stop)
        server.start()
        plan = write_plan(workdir, accounts, args, server.urls, address_offset=0)
        say(f"  warm-up: {args.users[0]} users for {args.warmup}s")
        warm = argparse.Namespace(**{**vars(args), "step": args.warmup})
        run_step(args.users[0], warm, server, plan, out_dir, f"{kind}-warmup", java_pid, measure=False)
        results: list[StepResult] = []
        for number, users in enumerate(args.users, 1):
            # Fresh visitor addresses every step: a step's sign-ins never count against the last one's limits.
            plan = write_plan(workdir, accounts, args, server.urls, address_offset=number * 100_000)
            say(f"  step {number}: {users} users for {args.step}s (load average {probe.load_average():.2f})")
            result = run_step(users, args, server, plan, out_dir, f"{kind}-{users}", java_pid)
            assert result is not None
            results.append(result)
            say(f"    {result.achieved_rps:.1f} req/s, p95 {result.overall.p95:.0f} ms, errors {result.errors}, "
                f"load average after {result.load_after:.2f}")
            if result.overall.p95 > STOP_AFTER_P95_MS:
                say(f"    p95 above {STOP_AFTER_P95_MS:.0f} ms: stopping the steps here")
                break
        return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--practitioners", type=int, default=100_000, help="size of the bench database")
    parser.add_argument("--backends", default="embedded,elasticsearch")
    parser.add_argument("--users", default="5,10,20,40,60,80,120", help="comma-separated users per step")
    parser.add_argument("--step", type=float, default=40.0, help="seconds per step (Locust --run-time)")
    parser.add_argument("--ramp", type=float, default=5.0, help="seconds to start a step's users; not measured")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds of unmeasured load before the steps")
    parser.add_argument("--max-requests", type=int, default=20_000, help="stop a step after this many requests")
    parser.add_argument("--pacing", type=float, default=1.0,
                        help="mean seconds between one user's task starts (a Poisson process per user)")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads per web process")
    parser.add_argument("--processes", type=int, default=1, help="web processes (visitors stick to one each)")
    parser.add_argument("--patients", type=int, default=60)
    parser.add_argument("--practitioner-accounts", type=int, default=30)
    parser.add_argument("--queries", type=int, default=300, help="searches in the mix (bench/search.py's)")
    parser.add_argument("--keep", type=Path, help="seed into KEEP/N once and reuse it")
    parser.add_argument("--heap", default="1g", help="Elasticsearch heap")
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="skip py-spy")
    parser.add_argument("--host", default="127.0.0.1", help="bind address of the server: loopback only")
    args = parser.parse_args(argv)
    require_loopback(args.host)
    args.users = [int(u) for u in args.users.split(",") if u.strip()]
    args.backends = [b for b in args.backends.split(",") if b]
    unknown = set(args.backends) - {"embedded", "elasticsearch", "opensearch"}
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the load test for every backend and write the report."""
    args = parse_args(argv)
    if not LOCUST.exists():
        say("Locust is not installed: run `make bench-venv` (it makes .venv-bench)")
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: stop the servers and the engine
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = RESULTS_DIR / f"load-{args.practitioners}-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    say(f"results in {out_dir}")
    reports = [bench_search().machine_facts({}),
               f"command: {' '.join(['bench/load.py', *(argv if argv is not None else sys.argv[1:])])}"]
    with workdir_for(args.practitioners, args.keep) as workdir:
        accounts = bench_accounts(workdir, args.patients, args.practitioner_accounts)
        for kind in args.backends:
            say(f"{kind}:")
            results = bench_backend(kind, workdir, args, accounts, out_dir)
            reports.append(backend_report(kind, args, results))
            say(reports[-1])
            (out_dir / f"report-{kind}.txt").write_text(reports[0] + "\n" + reports[1] + "\n\n" + reports[-1] + "\n")
    text = "\n\n".join(reports) + "\n"
    (out_dir / "report.txt").write_text(text)
    (RESULTS_DIR / f"load-{args.practitioners}.txt").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
