"""The one settings object, read by the worker, the API and the CLI and passed down."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REFERRALS_", extra="ignore")

    env: Literal["development", "test", "production"] = "production"
    # Required: there is no database a production deployment could fall back on.
    database_url: str = Field(validation_alias=AliasChoices("DATABASE_URL", "REFERRALS_DATABASE_URL"))
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "incident-referrals"
    # Base URL of the Temporal Web UI, used for each case's `links.temporal_ui`.
    temporal_ui_url: str = "http://localhost:8233"
    policy_file: Path = ROOT / "policy" / "chicago.toml"
    log_format: Literal["json", "console"] | None = None
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _sqlalchemy_driver(self) -> "Settings":
        # Accept plain `postgresql://` URLs (as most tools print them) and use psycopg 3.
        for prefix in ("postgresql://", "postgres://"):
            if self.database_url.startswith(prefix):
                self.database_url = "postgresql+psycopg://" + self.database_url[len(prefix):]
        return self

    @property
    def effective_log_format(self) -> str:
        if self.log_format:
            return self.log_format
        return "json" if self.env == "production" else "console"


@lru_cache
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]
