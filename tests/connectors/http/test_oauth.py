import os
import stat

from connectors.http.oauth import AccessToken, FileRefreshTokenStore


def test_a_rotated_refresh_token_replaces_the_old_one_whole_and_privately(tmp_path):
    store = FileRefreshTokenStore(tmp_path / "tokens" / "quickbooks")
    assert store.load() is None
    store.save("AB11-first")
    store.save("AB11-second")
    assert store.load() == "AB11-second"
    mode = stat.S_IMODE(os.stat(store.path).st_mode)
    assert mode == 0o600
    assert [p.name for p in store.path.parent.iterdir()] == ["quickbooks"]  # no temp file left


def test_tokens_never_show_in_their_repr():
    token = AccessToken(value="1000.secret-access", expires_at=0.0, refresh_token="1000.secret-refresh")
    assert "secret" not in repr(token)
