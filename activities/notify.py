"""The notification activity: a reminder, escalation, expiry or overdue notice goes into the
outbox (once, by its key) and into the log, for a mail or Teams integration to deliver."""

from __future__ import annotations

import asyncio

from temporalio import activity

from activities.deps import ActivityDeps
from domain.messages import NotifyInput
from infra.logs import get_logger
from store.outbox import enqueue

log = get_logger(component="notify")


class NotifyActivities:
    def __init__(self, deps: ActivityDeps) -> None:
        self.deps = deps

    @activity.defn(name="notify")
    async def notify(self, inp: NotifyInput) -> bool:
        notice = inp.notice
        new = await asyncio.to_thread(
            enqueue,
            self.deps.engine,
            change_id=inp.change_id,
            key=notice.key,
            kind=notice.kind,
            recipient=notice.to,
            approval=notice.approval,
            message=notice.message,
        )
        log.info(
            "notification",
            change_id=inp.change_id,
            kind=notice.kind,
            to=notice.to,
            approval=notice.approval,
            message=notice.message,
            new=new,
        )
        return new
