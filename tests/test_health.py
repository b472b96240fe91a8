from django.urls import reverse


def test_healthz_reports_each_dependency_without_sign_in(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["healthy"] is True
    assert set(body["checks"]) == {"database", "broker", "storage"}


def test_healthz_answers_503_when_a_dependency_fails(client, db, monkeypatch):
    from config import health

    def broken():
        raise ConnectionError("down")

    monkeypatch.setitem(health.CHECKS, "storage", broken)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["checks"]["storage"]["status"] == "error: ConnectionError"
