"""The one answer to a failure nobody foresaw: a fresh error id, in the log with the traceback
and in the apology the person reads, so the operator can find one from the other."""

from __future__ import annotations

import logging
import secrets

from bot.core.reply import Reply, message_reply

ExcInfo = BaseException | bool


def apology(log: logging.Logger, what: str, *args: object, exc_info: ExcInfo = True) -> Reply:
    """Log `what % args` with the error id and the exception (the one being handled unless
    `exc_info` names another); return the apology naming the same id."""
    error_id = secrets.token_hex(4)
    log.error(what + " (error id %s)", *args, error_id, exc_info=exc_info)
    return message_reply("internal_error", "error", error_id=error_id)
