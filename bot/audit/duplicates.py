"""Group members whose avatars are the same or nearly the same picture (perceptual hash).

64-bit pHashes within `max_distance` bits must agree exactly on at least one of
max_distance + 1 bands (pigeonhole), so we only compare hashes that share a band:
near-linear for real servers instead of comparing every pair."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable


def _bands(h: int, count: int) -> list[tuple[int, int]]:
    width = 64 // count
    mask = (1 << width) - 1
    return [(i, (h >> (i * width)) & mask) for i in range(count)]


def duplicate_groups(hashes: Iterable[tuple[str, str]], max_distance: int = 4) -> list[list[str]]:
    """[(member_id, hex phash)] -> groups (2+ members), largest first."""
    items = [(mid, int(h, 16)) for mid, h in hashes if h]
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
    for idx, (_mid, h) in enumerate(items):
        for band in _bands(h, max_distance + 1):
            buckets[band].append(idx)
    for members in buckets.values():
        for a_pos, a in enumerate(members):
            for b in members[a_pos + 1 :]:
                if find(a) != find(b) and (items[a][1] ^ items[b][1]).bit_count() <= max_distance:
                    parent[find(a)] = find(b)
    groups: dict[int, list[str]] = defaultdict(list)
    for idx, (mid, _h) in enumerate(items):
        groups[find(idx)].append(mid)
    return sorted((sorted(g) for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g))
