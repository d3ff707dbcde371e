"""tools/verify_chain.py over real HTTP against a running Meridian, as a third party runs it (a subprocess)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import select, text

from directory.extensions import db
from directory.models import VerificationCheck
from directory.vetting.chain import row_hash
from directory.vetting.heads import issue_statement
from directory.vetting.services import record_check
from directory.vetting.signing import new_signing_key
from tests.conftest import extra_app
from tests.support.live import serving
from tests.support.verifier import run_verifier
from tests.unit.vetting.builders import admin, us_practitioner


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a freshly migrated SQLite file, built once; each test works on its own copy."""
    from directory.practitioners.vocabulary import load_vocabularies

    tmp = tmp_path_factory.mktemp("verifier-template")
    path = tmp / "template.db"
    with extra_app(f"sqlite:///{path}", tmp) as app, app.app_context():
        upgrade(directory=str(app.config["MIGRATIONS_DIR"]))
        load_vocabularies()
        db.session.commit()
    return path


@dataclass
class Site:
    """A running Meridian with two practitioners whose chains are signed; ``url`` is where it answers."""

    app: Flask
    url: str
    database: str
    tmp: Path
    mei: str
    ada: str

    def verify(self, *args: str) -> Any:
        """Run the verifier against the site."""
        return run_verifier(self.url, *args)

    def change(self, statement: str, **params: Any) -> None:
        """Change the database behind the application's back (its append-only triggers dropped first)."""
        with self.app.app_context():
            for trigger in ("verification_check_no_update", "chain_head_statement_no_update"):
                db.session.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
            db.session.execute(text(statement), params)
            db.session.commit()

    def check(self, slug: str, sequence: int) -> VerificationCheck:
        """Return one stored check."""
        with self.app.app_context():
            found = db.session.scalars(select(VerificationCheck).join(VerificationCheck.practitioner)
                                       .where(VerificationCheck.sequence == sequence)
                                       .filter_by(slug=slug)).one()
            db.session.expunge(found)
            return found

    def sign(self) -> None:
        """Issue a chain-head statement now."""
        with self.app.app_context():
            issue_statement()
            db.session.commit()


@pytest.fixture
def site(migrated: Path, tmp_path: Path) -> Iterator[Site]:
    """Serve a copy of the migrated database with two checked practitioners and a signed statement."""
    database = tmp_path / "site.db"
    shutil.copy(migrated, database)
    url = f"sqlite:///{database}"
    with extra_app(url, tmp_path) as app:
        with app.app_context():
            mei, ada = us_practitioner(), us_practitioner(npi=None, first_name="Ada", last_name="Lovelace")
            boss = admin()
            for p in (mei, ada):
                record_check(p, source="exclusion_list", outcome="pass", evidence={"hits": []})
                record_check(p, source="state_board", outcome="pass", credential=p.credentials[0], performed_by=boss,
                             reference="https://board.example/AC12345", note="licence seen at the board, ø ß")
                record_check(p, source="exclusion_list", outcome="pass", evidence={"hits": []})
            slugs = mei.slug, ada.slug
            issue_statement()
            db.session.commit()
        with serving(app) as served:
            yield Site(app, served, url, tmp_path, *slugs)


def test_untouched_data_passes(site: Site) -> None:
    result = site.verify()
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{site.mei}: ok (3 checks, signed head at 3)" in result.stdout
    assert f"{site.ada}: ok (3 checks, signed head at 3)" in result.stdout
    assert "2 chains verified, 0 broken" in result.stdout


def test_a_tampered_middle_row_names_the_practitioner_and_sequence(site: Site) -> None:
    middle = site.check(site.mei, 2)
    site.change("UPDATE verification_check SET note = 'nothing to see' WHERE id = :id", id=middle.id)
    result = site.verify()
    assert result.returncode == 1
    assert f"{site.mei}: BROKEN at sequence 2: content does not match its row_hash" in result.stdout
    assert f"{site.ada}: ok" in result.stdout


def _rewrite_last(site: Site, slug: str) -> None:
    """Rewrite a chain's last check as a careful insider would: new outcome, hash recomputed."""
    last = site.check(slug, 3)
    forged = {**{c: getattr(last, c) for c in ("practitioner_id", "user_id", "sequence", "credential_id", "source",
                                                "performed_by_id", "performed_at", "reference", "note",
                                                "evidence_sha256", "previous_hash")}, "outcome": "fail"}
    site.change("UPDATE verification_check SET outcome = 'fail', row_hash = :h WHERE id = :id",
                h=row_hash(forged), id=last.id)


def test_a_rewritten_last_row_with_a_recomputed_hash_no_longer_extends_the_signed_head(site: Site) -> None:
    _rewrite_last(site, site.ada)
    result = site.verify("--practitioner", site.ada)
    assert result.returncode == 1
    assert (f"{site.ada}: BROKEN at sequence 3: does not extend the signed head of statement #1: row_hash differs"
            in result.stdout)


def test_with_state_a_rewrite_is_caught_even_after_a_new_statement_signs_it(site: Site) -> None:
    state = site.tmp / "seen.json"
    assert site.verify("--state", str(state)).returncode == 0
    saved = json.loads(state.read_text())
    assert saved["statement"]["number"] == 1 and {h["sequence"] for h in saved["heads"].values()} == {3}
    _rewrite_last(site, site.mei)
    site.sign()  # the daily statement now signs the rewritten head
    without_state = site.verify()
    assert without_state.returncode == 0, "the signed head alone cannot catch a rewrite signed afterwards"
    result = site.verify("--state", str(state))
    assert result.returncode == 1
    assert (f"{site.mei}: BROKEN at sequence 3: does not extend the head seen on the last run: row_hash differs"
            in result.stdout)
    mei_id = str(site.check(site.mei, 1).practitioner_id)
    assert json.loads(state.read_text())["heads"][mei_id] == saved["heads"][mei_id], "a broken chain keeps its old head"
    assert site.verify("--state", str(state)).returncode == 1, "and is reported again on the next run"


def test_a_bad_signature_is_reported(site: Site) -> None:
    site.change("UPDATE chain_head_statement SET signature = :s", s="A" * 86 + "==")
    result = site.verify()
    assert result.returncode == 1
    assert "signed heads: BROKEN: statement #1: the signature does not verify with the published key" in result.stdout


def test_a_statement_signed_with_another_key_is_reported(site: Site) -> None:
    with extra_app(site.database, site.tmp, VERIFICATION_SIGNING_KEY=new_signing_key()) as rekeyed, \
            serving(rekeyed) as url:
        result = run_verifier(url)
    assert result.returncode == 1
    assert "signed heads: BROKEN: statement #1 names key" in result.stdout
    assert "not the published key" in result.stdout


def test_an_unknown_practitioner_or_an_unreachable_site_is_an_error(site: Site) -> None:
    unknown = site.verify("--practitioner", "nobody-here")
    assert unknown.returncode == 1
    assert "nobody-here: not found: no listed practitioner has this slug" in unknown.stdout
    down = run_verifier("http://127.0.0.1:9/")
    assert down.returncode == 2 and "error:" in down.stderr


def test_a_chain_longer_than_a_page_is_read_to_its_end(site: Site) -> None:
    with site.app.app_context():
        p = us_practitioner(npi=None, first_name="Long", last_name="Chain")
        for _ in range(501):  # one more than a page (limit 500)
            record_check(p, source="exclusion_list", outcome="pass", recompute=False)
        slug = p.slug
        db.session.commit()
    site.sign()
    result = site.verify("--practitioner", slug)
    assert result.returncode == 0, result.stdout
    assert f"{slug}: ok (501 checks, signed head at 501)" in result.stdout
