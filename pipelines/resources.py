"""Dagster resources: where the configuration is, and the secrets it names.

``tieout.toml`` is the one source of settings; the only thing read from the environment is
each API source's token, through ``dg.EnvVar`` at execution time, so a files-mode run needs
no secrets and nothing reads the environment at import.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from tieout.config import TieoutConfig, load_config
from tieout.errors import TieoutError


class TieoutSettings(dg.ConfigurableResource):  # type: ignore[misc]
    """Path of the ``tieout.toml`` a run uses."""

    config_path: str

    def load(self) -> TieoutConfig:
        """Parse and validate the configuration."""
        return load_config(Path(self.config_path))


class SourceSecrets(dg.ConfigurableResource):  # type: ignore[misc]
    """API tokens, read from the environment variables the configuration names."""

    def token(self, env_name: str) -> str:
        """The secret in ``env_name``; a clear error (naming the variable only) if unset."""
        value = dg.EnvVar(env_name).get_value()
        if not value:
            raise TieoutError(f"environment variable {env_name} is not set (API mode needs it)")
        return value
