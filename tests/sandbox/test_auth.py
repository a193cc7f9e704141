"""Credentials: 401 in each system's shape, and no token ever shows up in a body or a log."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from seeds.sandbox import SandboxTokens, tokens_from_env

from .conftest import TOKENS, Client

SECRETS = (TOKENS.billing, TOKENS.erp, TOKENS.revrec)

BILLING = ("GET", "/v1/invoices")
ERP = ("POST", "/services/rest/query/v1/suiteql")
ERP_RECORD = ("GET", "/services/rest/record/v1/journalentry/eid:x")
REVREC = ("GET", "/api/v1/revenue_schedules")


def call(client: Client, route: tuple[str, str], headers: dict[str, str]) -> Any:
    method, path = route
    return client.session.request(method, f"{client.url}{path}", headers=headers,
                                  json={"q": "SELECT id FROM account"}, timeout=10)


WRONG = [
    {},
    {"Authorization": "Bearer nope"},
    {"Authorization": f"Basic {TOKENS.billing}"},
    {"Authorization": f"Bearer {TOKENS.revrec}"},
    {"X-API-Key": TOKENS.billing},
]


@pytest.mark.parametrize("headers", WRONG)
def test_billing_401_is_stripe_shaped(client: Client, headers: dict[str, str],
                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    response = call(client, BILLING, headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert set(error) == {"type", "code", "message", "param"}
    assert error["type"] == "invalid_request_error"
    assert not any(secret in response.text for secret in SECRETS)
    assert not any(secret in caplog.text for secret in SECRETS)


@pytest.mark.parametrize("route", [ERP, ERP_RECORD])
@pytest.mark.parametrize("headers", WRONG)
def test_erp_401_is_netsuite_shaped(client: Client, route: tuple[str, str],
                                    headers: dict[str, str]) -> None:
    response = call(client, route, headers)
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == 401 and body["title"] == "Unauthorized"
    assert body["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"
    assert not any(secret in response.text for secret in SECRETS)


@pytest.mark.parametrize("headers", [*WRONG, {"X-API-Key": ""}, {"X-Api-Key": "rev-s3cret"}])
def test_revrec_401_is_plain(client: Client, headers: dict[str, str]) -> None:
    response = call(client, REVREC, headers)
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized",
                               "detail": "Missing or invalid X-API-Key header."}


def test_right_tokens_pass_and_header_names_are_case_insensitive(client: Client) -> None:
    assert call(client, BILLING, {"authorization": f"bearer {TOKENS.billing}"}).status_code == 200
    assert call(client, ERP, {"Authorization": f"Bearer {TOKENS.erp}"}).status_code == 200
    assert call(client, REVREC, {"x-api-key": TOKENS.revrec}).status_code == 200


def test_unknown_paths_still_require_credentials(client: Client) -> None:
    assert call(client, ("GET", "/v1/whatever"), {}).status_code == 401
    assert call(client, ("GET", "/services/rest/record/v1/customer/1"), {}).status_code == 401


def test_tokens_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIEOUT_BILLING_API_KEY", "b")
    monkeypatch.setenv("TIEOUT_ERP_TOKEN", "e")
    monkeypatch.setenv("TIEOUT_REVREC_API_KEY", "r")
    assert tokens_from_env() == SandboxTokens(billing="b", erp="e", revrec="r")
    monkeypatch.delenv("TIEOUT_ERP_TOKEN")
    with pytest.raises(ValueError, match="TIEOUT_ERP_TOKEN") as info:
        tokens_from_env()
    assert "\n" not in str(info.value)
    assert "b" not in repr(SandboxTokens(billing="bbbbb", erp="x", revrec="y")).replace(
        "SandboxTokens", "")
