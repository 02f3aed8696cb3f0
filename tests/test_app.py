def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_config_classes_differ(app):
    from grader import create_app

    assert app.config["TESTING"] is True
    assert create_app("production").config["TESTING"] is False
