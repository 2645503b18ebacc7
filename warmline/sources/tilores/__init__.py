"""The Tilores source: OAuth2 client credentials, GraphQL search/entity, mapping to Customer."""

from .auth import TokenProvider
from .mapping import MappingRules
from .source import TiloresConfig, TiloresSource

__all__ = ["MappingRules", "TiloresConfig", "TiloresSource", "TokenProvider"]
