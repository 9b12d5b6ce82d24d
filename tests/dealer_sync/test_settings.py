from pathlib import Path

import pytest
from pydantic import ValidationError

from dealer_sync.settings import Settings

SECRET = "1000.very-secret-refresh-token"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """Settings read the environment and a .env file: start each test from neither."""
    monkeypatch.chdir(tmp_path)
    import os

    for name in list(os.environ):
        if name.startswith("DEALER_SYNC_"):
            monkeypatch.delenv(name)


def test_defaults_give_the_embedded_setup():
    settings = Settings()
    assert settings.resolved_store_url() == f"sqlite:///{Path('data') / 'store.db'}"
    assert settings.resolved_portal_url().endswith("portal.db")
    assert settings.business_timezone == "Asia/Kolkata"
    assert settings.base_currency == "INR"
    assert settings.zoho_books.client_secret is None  # secrets have no defaults


def test_environment_overrides_use_the_prefix_and_double_underscore_nesting(monkeypatch):
    monkeypatch.setenv("DEALER_SYNC_STORE_URL", "postgresql+psycopg://sync@127.0.0.1/sync")
    monkeypatch.setenv("DEALER_SYNC_BUSINESS_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("DEALER_SYNC_ZOHO_BOOKS__BASE_URL", "http://127.0.0.1:9000/books/v3")
    monkeypatch.setenv("DEALER_SYNC_ZOHO_BOOKS__ACCOUNTS_URL", "http://127.0.0.1:9001")
    monkeypatch.setenv("DEALER_SYNC_ZOHO_BOOKS__REFRESH_TOKEN", SECRET)
    settings = Settings()
    assert settings.resolved_store_url().startswith("postgresql+psycopg://")
    assert settings.business_timezone == "Europe/Berlin"
    assert settings.zoho_books.base_url == "http://127.0.0.1:9000/books/v3"
    assert settings.zoho_books.refresh_token.get_secret_value() == SECRET


def test_secrets_never_show_in_repr_str_or_json(monkeypatch):
    monkeypatch.setenv("DEALER_SYNC_ZOHO_BOOKS__BASE_URL", "http://127.0.0.1:9000/books/v3")
    monkeypatch.setenv("DEALER_SYNC_ZOHO_BOOKS__ACCOUNTS_URL", "http://127.0.0.1:9001")
    monkeypatch.setenv("DEALER_SYNC_ZOHO_BOOKS__CLIENT_SECRET", SECRET)
    monkeypatch.setenv("DEALER_SYNC_SLACK_WEBHOOK_URL", "http://127.0.0.1:9/hooks/" + SECRET)
    settings = Settings()
    for rendering in (repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump())):
        assert SECRET not in rendering


def test_bad_values_fail_with_the_field_named(monkeypatch):
    monkeypatch.setenv("DEALER_SYNC_BUSINESS_TIMEZONE", "Asia/Mumbai")
    with pytest.raises(ValidationError, match="unknown timezone 'Asia/Mumbai'"):
        Settings()


def test_unknown_settings_in_a_dotenv_file_are_refused(tmp_path):
    (tmp_path / ".env").write_text("DEALER_SYNC_STORE_UR=sqlite:///typo.db\n")
    with pytest.raises(ValidationError, match="store_ur"):
        Settings()
