"""Sales Copilot: a self-hosted, real-time sales conversation copilot."""

from copilot.errors import CopilotError
from copilot.events import SCHEMA_VERSION, Event

__all__ = ["SCHEMA_VERSION", "CopilotError", "Event"]
__version__ = "0.1.0"
