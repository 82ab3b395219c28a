"""The one errors module.

Hierarchy::

    CopilotError
    ├── ConfigError            bad configuration (file, env var, CLI flag)
    ├── PlaybookError          a playbook file that does not validate (carries file and line)
    ├── CaseError              an eval dataset case that cannot be loaded (carries case id, file)
    ├── ProtocolError          a client frame we cannot accept (bad JSON, unknown type, …)
    │   ├── AudioFormatError   audio that does not fit its declared format
    │   └── MessageTooLarge    a frame over the configured size limit
    ├── UnknownCall            a call id the store or server does not know
    ├── AuthError              missing or wrong credentials
    └── BackendError           a model, store or LLM failed; ``retryable`` says if retrying may help
        ├── AsrError
        ├── LlmError
        │   └── LlmDeclined  the model answered NO_ANSWER / an ungrounded reply
        └── StoreError

Each error has a stable ``code`` that appears on the wire (``error`` events) and in CLI messages;
the mapping to websocket close codes lives in exactly one place, :func:`close_code_for`.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AsrError",
    "AudioFormatError",
    "AuthError",
    "BackendError",
    "CaseError",
    "ConfigError",
    "CopilotError",
    "LlmDeclined",
    "LlmError",
    "MessageTooLarge",
    "PlaybookError",
    "ProtocolError",
    "StoreError",
    "UnknownCall",
    "close_code_for",
]


class CopilotError(Exception):
    """Base of every error this package raises on purpose."""

    code = "internal"
    #: whether the call can go on after this error (the server keeps the socket open)
    recoverable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(CopilotError):
    code = "bad_config"


class PlaybookError(CopilotError):
    """A playbook file failed validation. ``file`` and ``line`` point at the culprit."""

    code = "bad_playbook"

    def __init__(self, message: str, file: str | Path | None = None, line: int | None = None) -> None:
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line is not None else f"{file}: "
        super().__init__(where + message)
        self.file = str(file) if file is not None else None
        self.line = line
        self.reason = message


class CaseError(CopilotError):
    """An eval dataset case (manifest entry, label or reference file) that cannot be loaded.

    The dataset loader collects these and goes on with the other cases.
    """

    code = "bad_case"

    def __init__(self, message: str, *, case_id: str | None = None,
                 file: str | Path | None = None) -> None:
        prefix = f"case {case_id!r}: " if case_id else ""
        where = f" ({file})" if file is not None else ""
        super().__init__(prefix + message + where)
        self.case_id = case_id
        self.file = str(file) if file is not None else None
        self.reason = message


class ProtocolError(CopilotError):
    """A client frame we cannot accept. The call goes on; nothing received is dropped."""

    code = "bad_message"
    recoverable = True


class AudioFormatError(ProtocolError):
    code = "bad_audio"


class MessageTooLarge(ProtocolError):
    code = "message_too_large"


class UnknownCall(CopilotError):
    code = "unknown_call"


class AuthError(CopilotError):
    code = "unauthorized"


class BackendError(CopilotError):
    code = "backend"

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class AsrError(BackendError):
    code = "asr_failed"


class LlmError(BackendError):
    code = "llm_failed"


class LlmDeclined(LlmError):
    """The model answered, but not with a reply we may show; the extractive reply stands.

    ``reason``: ``no_answer`` (it said the sources do not cover the claim), ``ungrounded`` (it
    introduced a number absent from the sources) or ``empty``. Not retryable: the same prompt
    would most likely get the same answer.
    """

    code = "llm_declined"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, retryable=False)
        self.reason = reason


class StoreError(BackendError):
    code = "store_failed"


# RFC 6455 §7.4: 1008 policy violation, 1009 too big, 1011 server error; 4xxx is ours.
_CLOSE_CODES: dict[type[CopilotError], int] = {
    MessageTooLarge: 1009,
    AuthError: 4401,
    UnknownCall: 4404,
    ProtocolError: 1008,
    BackendError: 1011,
}


def close_code_for(error: BaseException) -> int:
    """Websocket close code for an error that ends a connection (the only such mapping)."""
    for cls in type(error).__mro__:
        if cls in _CLOSE_CODES:
            return _CLOSE_CODES[cls]  # type: ignore[index]
    return 1011
