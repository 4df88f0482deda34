"""The app's topic class: Faust's, with a name for a subscription to several topics.

Faust names a topic only when it has one name (``get_topic_name`` raises ValueError
otherwise), and ``faust -A streams.app agents`` asks every agent's channel for its name,
so the projections and the saga, which each consume several topics through one
subscription, made it crash. Such a subscription is only consumed, never sent to; its
name here is for display: the topic names, comma-separated (not a valid topic name, so
a send to it would still fail).
"""

from __future__ import annotations

import faust


class Topic(faust.Topic):
    def get_topic_name(self) -> str:
        if not self.pattern and self.topics and len(self.topics) > 1:
            return ", ".join(self.topics)
        return super().get_topic_name()
