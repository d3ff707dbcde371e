"""API v1: the public verification chains, the signed chain heads and the key that signs them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request, url_for

from directory.accounts.policy import public
from directory.api.forms import ChainPageForm, StatementsPageForm
from directory.vetting.heads import statement_json, statements_page
from directory.vetting.public_chain import CANONICAL_FORM, chain_page, check_json, listing_status
from directory.vetting.signing import SIGNATURE_ALGORITHM, public_key

bp = Blueprint("verification_api", __name__, url_prefix="/api/v1")


@bp.get("/practitioners/<slug>/verification")
@public
def practitioner_chain(slug: str) -> Any:
    """Serve a practitioner's chain of checks, in sequence order, paginated by ``after``/``limit``."""
    form = ChainPageForm(request.args).checked()
    chain = chain_page(slug, form.value("after"), form.value("limit"))
    p, last = chain.practitioner, chain.checks[-1] if chain.checks else None
    more = last is not None and chain.head is not None and last.sequence < chain.head.sequence
    return jsonify({
        "practitioner": {"id": p.id, "slug": p.slug, "name": p.display_name},
        "listing_status": listing_status(p),
        "vetting_status": p.vetting_status,
        "algorithm": "sha256",
        "canonical_form": CANONICAL_FORM,
        "length": chain.length,
        "head": {"sequence": chain.head.sequence, "row_hash": chain.head.row_hash} if chain.head else None,
        "checks": [check_json(check) for check in chain.checks],
        "next": url_for(".practitioner_chain", slug=p.slug, after=last.sequence, limit=form.value("limit"))
        if more and last else None,
    })


@bp.get("/verification/key")
@public
def signing_key() -> Any:
    """Publish the public key that signs the chain-head statements."""
    key = public_key()
    return jsonify({"algorithm": SIGNATURE_ALGORITHM, "key_id": key.key_id, "public_key": key.raw_base64,
                    "public_key_pem": key.pem,
                    "key_id_rule": "lowercase hex SHA-256 of the 32-byte raw public key"})


@bp.get("/verification/heads")
@public
def signed_heads() -> Any:
    """Serve the signed chain-head statements, newest first (``since``: only those numbered after it)."""
    form = StatementsPageForm(request.args).checked()
    page, per_page, since = form.value("page"), form.value("per_page"), form.value("since")
    found = statements_page(page, per_page, since)
    more = page * per_page < found.total
    return jsonify({
        "total": found.total, "page": page, "per_page": per_page,
        "statements": [statement_json(s) for s in found.statements],
        "next": url_for(".signed_heads", page=page + 1, per_page=per_page,
                        **({"since": since} if since is not None else {})) if more else None,
    })
