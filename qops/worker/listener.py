"""`Listener`: one Pub/Sub connection for cancel requests and wake-ups.

``asynq:cancel`` carries task ids to cancel (Go's inspector publishes there too);
``qops:wake:{q}`` tells that tasks became pending in a served queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from qops.storage import keys
from qops.storage.broker import AsyncBroker, RedisError
from qops.worker.processor import Processor
from qops.worker.waiting import wait_at_most

log = logging.getLogger("qops.worker")

RESUBSCRIBE_DELAY = 5.0  # seconds, as Asynq's subscriber


class Listener:
    def __init__(self, broker: AsyncBroker, processor: Processor, queues: Iterable[str]) -> None:
        self.broker = broker
        self.processor = processor
        self.channels = [keys.CANCEL_CHANNEL, *(keys.wake_channel(q) for q in queues)]
        self.ready = asyncio.Event()

    async def run(self, stopping: asyncio.Event) -> None:
        cancel = keys.CANCEL_CHANNEL.encode()
        while not stopping.is_set():
            pubsub = self.broker.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*self.channels)
                self.ready.set()
                # A wake-up sent while we were not subscribed would be lost: look once.
                self.processor.wake()
                async for message in pubsub.listen():
                    if message["type"] != "message":
                        continue
                    if message["channel"] == cancel:
                        self.processor.cancel(message["data"].decode(errors="replace"))
                    else:
                        self.processor.wake()
            except (RedisError, OSError) as exc:
                log.error(
                    "lost the subscription to cancel requests and wake-ups (retrying in %.0fs): %s",
                    RESUBSCRIBE_DELAY,
                    exc,
                )
                self.ready.set()
                await wait_at_most(stopping, RESUBSCRIBE_DELAY)
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
