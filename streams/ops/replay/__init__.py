"""Replay: seek the event topics to a time and feed the same projection code again.

``plan`` fixes where each partition starts and ends, ``reader`` reads those ranges,
``shadow`` builds and swaps shadow targets, ``repair`` recomputes the orders a window
touched, ``run`` puts them together and ``consumer_groups`` (in ``streams``) moves a
consumer group for users who want that instead.
"""
