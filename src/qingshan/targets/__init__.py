"""Annual targets (年度目标): versioned per-city YAML (:mod:`.config`), year-to-date progress and what the rest of
the year must achieve (:mod:`.progress`, pure functions), the evaluation against the air engine (:mod:`.evaluate`)
and the ``targets`` CLI (:mod:`.cli`)."""

from .config import (
           INDICATORS,
           Target,
           TargetConfig,
           TargetConfigError,
           find_config,
           load_config,
           parse_config,
)
from .progress import Progress

__all__ = ["INDICATORS", "Progress", "Target", "TargetConfig", "TargetConfigError", "find_config", "load_config",
           "parse_config"]
