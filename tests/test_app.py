def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_config_classes_differ(app):
    from grader import create_app

    assert app.config["TESTING"] is True
    assert create_app("production").config["TESTING"] is False


def test_concurrent_workers_share_one_complete_secret_key(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from grader import _instance_secret_key

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: _instance_secret_key(str(tmp_path)), range(32)))
    assert len(keys) == 1 and len(keys.pop()) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_a_new_instance_folder_is_private_and_can_live_elsewhere(tmp_path, monkeypatch):
    from grader import create_app

    monkeypatch.setenv("GRADGATE_INSTANCE", str(tmp_path / "var" / "gradgate"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app("production")
    instance = tmp_path / "var" / "gradgate"
    assert app.instance_path == str(instance)
    assert instance.stat().st_mode & 0o777 == 0o700  # the SQLite file and the secret key live here
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'gradgate.db'}"
    assert (instance / "secret_key").exists()


def test_every_response_carries_the_security_headers(client):
    for path in ("/login", "/api/v1/courses", "/healthz", "/static/app.css"):
        headers = client.get(path).headers
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "same-origin", path
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'self'" in policy, path
        assert "unsafe-eval" not in policy and "http" not in policy, path


def test_production_cookies_are_https_only_and_same_site(monkeypatch):
    from grader import create_app

    production = create_app("production", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert production.config["SESSION_COOKIE_SECURE"] and production.config["REMEMBER_COOKIE_SECURE"]
    assert production.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    client = production.test_client()
    page = client.get("/login")
    cookie = next(v for k, v in page.headers.items() if k == "Set-Cookie")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    framed = create_app("production", {"SQLALCHEMY_DATABASE_URI": "sqlite://",
                                       "FRAME_ANCESTORS": "'self' https://lms.example.edu"})
    policy = framed.test_client().get("/login").headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://lms.example.edu" in policy


def test_a_frame_ancestors_value_that_cannot_be_a_header_is_refused_at_start():
    import pytest

    from grader import ConfigError, create_app

    with pytest.raises(ConfigError, match="FRAME_ANCESTORS must be one line"):
        create_app("production", {"SQLALCHEMY_DATABASE_URI": "sqlite://", "FRAME_ANCESTORS": "'self'\nX-Evil: 1"})
