"""The OpenAPI schema itself, without a server (the fuzzing over it: tests/test_openapi_fuzz.py, whose collection
builds a test per operation)."""

from referrals.api.main import create_app
from referrals.config import Settings


def openapi() -> dict:
    return create_app(Settings(env="test", database_url="postgresql://unused")).openapi()


def test_every_error_is_documented_with_the_one_error_shape():
    spec = openapi()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/ErrorOut"
                    }, (method, path, status)
