"""Group coordinator: the classic JoinGroup/SyncGroup rebalance protocol.

States follow Apache Kafka's GroupMetadata: Empty -> PreparingRebalance ->
CompletingRebalance -> Stable, back to PreparingRebalance whenever a member
joins, leaves, changes its metadata or its session expires.

* Join barrier: once a rebalance starts every known member must send JoinGroup
  within the rebalance timeout (the largest of the members'); members that do
  not are removed. Then the generation increments; the leader (the earliest
  joined member still present) receives every member's protocol metadata, the
  followers an empty list.
* Sync barrier: followers' SyncGroup calls wait until the leader's SyncGroup
  delivers the assignments; each member receives its own (opaque) bytes.
* Sessions: any JoinGroup/SyncGroup/Heartbeat/OffsetCommit refreshes a member's
  session; a member silent for session_timeout_ms is evicted, which starts a
  rebalance. Members blocked inside a JoinGroup or SyncGroup barrier are kept
  alive, as in Kafka.
* JoinGroup v4+ semantics: a JoinGroup with an empty member id is answered with
  MEMBER_ID_REQUIRED and a fresh id; the client must join again with it.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from .errors import ErrorCode

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_MAX_METADATA_LENGTH = 4096


class GroupState(enum.Enum):
    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"


@dataclass(frozen=True)
class JoinResult:
    error: ErrorCode
    generation_id: int = -1
    protocol: str = ""
    leader_id: str = ""
    member_id: str = ""
    members: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class SyncResult:
    error: ErrorCode
    assignment: bytes = b""


@dataclass(frozen=True)
class CommittedOffset:
    offset: int
    metadata: str


@dataclass(eq=False)
class _Member:
    member_id: str
    client_id: str
    session_timeout: float
    rebalance_timeout: float
    protocols: list[tuple[str, bytes]]
    deadline: float = 0.0
    timer: asyncio.TimerHandle | None = None
    join_waiter: asyncio.Future[JoinResult] | None = None
    sync_waiter: asyncio.Future[SyncResult] | None = None
    assignment: bytes = b""

    def protocol_names(self) -> list[str]:
        return [name for name, _ in self.protocols]

    def metadata(self, protocol: str) -> bytes:
        for name, data in self.protocols:
            if name == protocol:
                return data
        return b""


@dataclass(eq=False)
class _Group:
    group_id: str
    state: GroupState = GroupState.EMPTY
    generation: int = 0
    protocol_type: str | None = None
    protocol: str | None = None
    leader_id: str | None = None
    members: dict[str, _Member] = field(default_factory=dict)
    pending: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    join_timer: asyncio.TimerHandle | None = None
    offsets: dict[tuple[str, int], CommittedOffset] = field(default_factory=dict)

    def candidate_protocols(self) -> set[str]:
        names: set[str] | None = None
        for member in self.members.values():
            mine = set(member.protocol_names())
            names = mine if names is None else names & mine
        return names or set()

    def supports(self, protocol_type: str, protocol_names: Sequence[str]) -> bool:
        if not self.members:
            return True
        return protocol_type == self.protocol_type and bool(
            self.candidate_protocols() & set(protocol_names)
        )


def _resolve(waiter: asyncio.Future[_T] | None, result: _T) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(result)


class GroupCoordinator:
    def __init__(
        self,
        *,
        partition_exists: Callable[[str, int], bool],
        min_session_timeout_ms: int,
        max_session_timeout_ms: int,
    ) -> None:
        self._partition_exists = partition_exists
        self._min_session_timeout_ms = min_session_timeout_ms
        self._max_session_timeout_ms = max_session_timeout_ms
        self._groups: dict[str, _Group] = {}

    # -- JoinGroup -----------------------------------------------------------------

    def join(
        self,
        *,
        group_id: str,
        member_id: str,
        client_id: str,
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        protocol_type: str,
        protocols: list[tuple[str, bytes]],
    ) -> asyncio.Future[JoinResult]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[JoinResult] = loop.create_future()

        def answer(error: ErrorCode, new_member_id: str = member_id) -> asyncio.Future[JoinResult]:
            fut.set_result(JoinResult(error, member_id=new_member_id))
            return fut

        if not group_id:
            return answer(ErrorCode.INVALID_GROUP_ID)
        if not self._min_session_timeout_ms <= session_timeout_ms <= self._max_session_timeout_ms:
            return answer(ErrorCode.INVALID_SESSION_TIMEOUT)
        names = [name for name, _ in protocols]
        if not protocol_type or not protocols:
            return answer(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
        group = self._groups.get(group_id)
        if group is None:
            if member_id:
                return answer(ErrorCode.UNKNOWN_MEMBER_ID)
            group = self._groups[group_id] = _Group(group_id)
        if not group.supports(protocol_type, names):
            return answer(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
        session_timeout = session_timeout_ms / 1000
        rebalance_timeout = max(rebalance_timeout_ms, 0) / 1000

        if not member_id:
            new_id = f"{client_id}-{uuid.uuid4()}"
            group.pending[new_id] = loop.call_later(
                session_timeout, self._expire_pending, group, new_id
            )
            return answer(ErrorCode.MEMBER_ID_REQUIRED, new_id)

        if member_id in group.pending:
            group.pending.pop(member_id).cancel()
            joined = _Member(member_id, client_id, session_timeout, rebalance_timeout, protocols)
            if not group.members:
                group.protocol_type = protocol_type
            group.members[member_id] = joined
            if group.leader_id is None:
                group.leader_id = member_id
            joined.join_waiter = fut
            self._touch(group, joined)
            self._prepare_rebalance(group, f"new member {member_id} joined")
            return fut

        member = group.members.get(member_id)
        if member is None:
            return answer(ErrorCode.UNKNOWN_MEMBER_ID)
        self._touch(group, member)
        unchanged = member.protocols == protocols
        if group.state is GroupState.COMPLETING_REBALANCE and unchanged:
            fut.set_result(self._join_result(group, member))
            return fut
        if group.state is GroupState.STABLE and unchanged and member_id != group.leader_id:
            fut.set_result(self._join_result(group, member))
            return fut
        member.protocols = protocols
        member.session_timeout = session_timeout
        member.rebalance_timeout = rebalance_timeout
        _resolve(member.join_waiter, JoinResult(ErrorCode.UNKNOWN_MEMBER_ID, member_id=member_id))
        member.join_waiter = fut
        if group.state is GroupState.PREPARING_REBALANCE:
            self._maybe_complete_join(group)
        else:
            self._prepare_rebalance(group, f"member {member_id} rejoined")
        return fut

    def _join_result(self, group: _Group, member: _Member) -> JoinResult:
        assert group.protocol is not None
        assert group.leader_id is not None
        members: tuple[tuple[str, bytes], ...] = ()
        if member.member_id == group.leader_id:
            members = tuple(
                (m.member_id, m.metadata(group.protocol)) for m in group.members.values()
            )
        return JoinResult(
            ErrorCode.NONE,
            generation_id=group.generation,
            protocol=group.protocol,
            leader_id=group.leader_id,
            member_id=member.member_id,
            members=members,
        )

    def _expire_pending(self, group: _Group, member_id: str) -> None:
        if group.pending.pop(member_id, None) is not None:
            log.info("group %s: pending member %s never joined", group.group_id, member_id)
            self._maybe_complete_join(group)

    # -- rebalance state machine ----------------------------------------------------

    def _prepare_rebalance(self, group: _Group, reason: str) -> None:
        if group.state is GroupState.COMPLETING_REBALANCE:
            for member in group.members.values():
                waiter, member.sync_waiter = member.sync_waiter, None
                _resolve(waiter, SyncResult(ErrorCode.REBALANCE_IN_PROGRESS))
        if group.state is not GroupState.PREPARING_REBALANCE:
            log.info(
                "group %s: preparing rebalance from generation %d: %s",
                group.group_id,
                group.generation,
                reason,
            )
            group.state = GroupState.PREPARING_REBALANCE
            timeout = max((m.rebalance_timeout for m in group.members.values()), default=0.0)
            loop = asyncio.get_running_loop()
            group.join_timer = loop.call_later(timeout, self._complete_join, group)
        self._maybe_complete_join(group)

    def _maybe_complete_join(self, group: _Group) -> None:
        if group.state is not GroupState.PREPARING_REBALANCE or group.pending:
            return
        if all(m.join_waiter is not None for m in group.members.values()):
            self._complete_join(group)

    def _complete_join(self, group: _Group) -> None:
        if group.state is not GroupState.PREPARING_REBALANCE:
            return
        if group.join_timer is not None:
            group.join_timer.cancel()
            group.join_timer = None
        for member in list(group.members.values()):
            if member.join_waiter is None:
                self._remove_member(group, member, "did not rejoin in time", rebalance=False)
        group.generation += 1
        if not group.members:
            group.state = GroupState.EMPTY
            group.protocol = group.protocol_type = group.leader_id = None
            log.info("group %s: generation %d is empty", group.group_id, group.generation)
            return
        if group.leader_id not in group.members:
            group.leader_id = next(iter(group.members))
        group.protocol = self._select_protocol(group)
        group.state = GroupState.COMPLETING_REBALANCE
        log.info(
            "group %s: generation %d with %d member(s), leader %s, protocol %s",
            group.group_id,
            group.generation,
            len(group.members),
            group.leader_id,
            group.protocol,
        )
        for member in group.members.values():
            waiter, member.join_waiter = member.join_waiter, None
            self._touch(group, member)
            _resolve(waiter, self._join_result(group, member))

    @staticmethod
    def _select_protocol(group: _Group) -> str:
        candidates = group.candidate_protocols()
        votes: Counter[str] = Counter()
        for member in group.members.values():
            votes[next(n for n in member.protocol_names() if n in candidates)] += 1
        best = max(votes.values())
        assert group.leader_id is not None
        leader = group.members[group.leader_id]
        return next(n for n in leader.protocol_names() if votes.get(n) == best)

    def _remove_member(
        self, group: _Group, member: _Member, reason: str, *, rebalance: bool = True
    ) -> None:
        if member.timer is not None:
            member.timer.cancel()
            member.timer = None
        group.members.pop(member.member_id, None)
        waiter, member.join_waiter = member.join_waiter, None
        _resolve(waiter, JoinResult(ErrorCode.UNKNOWN_MEMBER_ID, member_id=member.member_id))
        sync_waiter, member.sync_waiter = member.sync_waiter, None
        _resolve(sync_waiter, SyncResult(ErrorCode.UNKNOWN_MEMBER_ID))
        if group.leader_id == member.member_id:
            group.leader_id = next(iter(group.members), None)
        log.info("group %s: removed member %s (%s)", group.group_id, member.member_id, reason)
        if not rebalance:
            return
        if group.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
            self._prepare_rebalance(group, f"member {member.member_id} removed ({reason})")
        elif group.state is GroupState.PREPARING_REBALANCE:
            self._maybe_complete_join(group)

    # -- sessions ---------------------------------------------------------------------

    def _touch(self, group: _Group, member: _Member) -> None:
        loop = asyncio.get_running_loop()
        member.deadline = loop.time() + member.session_timeout
        if member.timer is None:
            member.timer = loop.call_at(member.deadline, self._on_session_timer, group, member)

    def _on_session_timer(self, group: _Group, member: _Member) -> None:
        member.timer = None
        if group.members.get(member.member_id) is not member:
            return
        if member.join_waiter is not None or member.sync_waiter is not None:
            self._touch(group, member)  # blocked in a barrier: kept alive
            return
        loop = asyncio.get_running_loop()
        if loop.time() < member.deadline:
            member.timer = loop.call_at(member.deadline, self._on_session_timer, group, member)
            return
        self._remove_member(
            group, member, f"session timeout of {member.session_timeout * 1000:.0f} ms expired"
        )

    # -- SyncGroup / Heartbeat / LeaveGroup ---------------------------------------------

    def sync(
        self,
        *,
        group_id: str,
        generation: int,
        member_id: str,
        assignments: Sequence[tuple[str, bytes | None]],
    ) -> asyncio.Future[SyncResult]:
        fut: asyncio.Future[SyncResult] = asyncio.get_running_loop().create_future()
        group = self._groups.get(group_id)
        member = group.members.get(member_id) if group is not None else None
        if group is None or member is None:
            fut.set_result(SyncResult(ErrorCode.UNKNOWN_MEMBER_ID))
            return fut
        if generation != group.generation:
            fut.set_result(SyncResult(ErrorCode.ILLEGAL_GENERATION))
            return fut
        if group.state is GroupState.PREPARING_REBALANCE:
            fut.set_result(SyncResult(ErrorCode.REBALANCE_IN_PROGRESS))
            return fut
        self._touch(group, member)
        if group.state is GroupState.STABLE:
            fut.set_result(SyncResult(ErrorCode.NONE, member.assignment))
            return fut
        _resolve(member.sync_waiter, SyncResult(ErrorCode.REBALANCE_IN_PROGRESS))
        member.sync_waiter = fut
        if member_id == group.leader_id:
            given = {mid: data or b"" for mid, data in assignments}
            for m in group.members.values():
                m.assignment = given.get(m.member_id, b"")
            group.state = GroupState.STABLE
            log.info("group %s: generation %d is stable", group.group_id, group.generation)
            for m in group.members.values():
                waiter, m.sync_waiter = m.sync_waiter, None
                if waiter is not None:
                    self._touch(group, m)
                _resolve(waiter, SyncResult(ErrorCode.NONE, m.assignment))
        return fut

    def heartbeat(self, group_id: str, generation: int, member_id: str) -> ErrorCode:
        group = self._groups.get(group_id)
        member = group.members.get(member_id) if group is not None else None
        if group is None or member is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if generation != group.generation:
            return ErrorCode.ILLEGAL_GENERATION
        self._touch(group, member)
        if group.state is GroupState.PREPARING_REBALANCE:
            return ErrorCode.REBALANCE_IN_PROGRESS
        return ErrorCode.NONE

    def leave(self, group_id: str, member_id: str) -> ErrorCode:
        group = self._groups.get(group_id)
        if group is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        pending = group.pending.pop(member_id, None)
        if pending is not None:
            pending.cancel()
            self._maybe_complete_join(group)
            return ErrorCode.NONE
        member = group.members.get(member_id)
        if member is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        self._remove_member(group, member, "left the group")
        return ErrorCode.NONE

    # -- offsets --------------------------------------------------------------------------

    def commit(
        self,
        group_id: str,
        generation: int,
        member_id: str,
        offsets: Sequence[tuple[str, int, int, str | None]],
    ) -> list[tuple[str, int, ErrorCode]]:
        error, group = self._commit_check(group_id, generation, member_id)
        results: list[tuple[str, int, ErrorCode]] = []
        for topic, partition, offset, metadata in offsets:
            if group is None:
                results.append((topic, partition, error))
            elif not self._partition_exists(topic, partition):
                results.append((topic, partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
            elif metadata is not None and len(metadata) > _MAX_METADATA_LENGTH:
                results.append((topic, partition, ErrorCode.OFFSET_METADATA_TOO_LARGE))
            else:
                group.offsets[(topic, partition)] = CommittedOffset(offset, metadata or "")
                results.append((topic, partition, ErrorCode.NONE))
        return results

    def _commit_check(
        self, group_id: str, generation: int, member_id: str
    ) -> tuple[ErrorCode, _Group | None]:
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID, None
        group = self._groups.get(group_id)
        if group is None:
            if generation >= 0:
                return ErrorCode.ILLEGAL_GENERATION, None
            group = self._groups[group_id] = _Group(group_id)
            return ErrorCode.NONE, group
        if generation < 0 and group.state is GroupState.EMPTY:
            return ErrorCode.NONE, group
        if group.state is GroupState.COMPLETING_REBALANCE:
            return ErrorCode.REBALANCE_IN_PROGRESS, None
        member = group.members.get(member_id)
        if member is None:
            return ErrorCode.UNKNOWN_MEMBER_ID, None
        if generation != group.generation:
            return ErrorCode.ILLEGAL_GENERATION, None
        self._touch(group, member)
        return ErrorCode.NONE, group

    def fetch_offsets(
        self, group_id: str, partitions: Sequence[tuple[str, int]] | None
    ) -> list[tuple[str, int, CommittedOffset | None]]:
        group = self._groups.get(group_id)
        stored = group.offsets if group is not None else {}
        if partitions is None:
            return [(t, p, stored[(t, p)]) for t, p in sorted(stored)]
        return [(t, p, stored.get((t, p))) for t, p in partitions]

    # -- introspection -----------------------------------------------------------------

    def members(self, group_id: str) -> list[str]:
        group = self._groups.get(group_id)
        return list(group.members) if group is not None else []

    def generation(self, group_id: str) -> int:
        group = self._groups.get(group_id)
        return group.generation if group is not None else 0

    def state(self, group_id: str) -> str | None:
        group = self._groups.get(group_id)
        return group.state.value if group is not None else None

    def leader(self, group_id: str) -> str | None:
        group = self._groups.get(group_id)
        return group.leader_id if group is not None else None

    def assignments(self, group_id: str) -> dict[str, bytes]:
        group = self._groups.get(group_id)
        if group is None or group.state is not GroupState.STABLE:
            return {}
        return {m.member_id: m.assignment for m in group.members.values()}

    def committed(self, group_id: str, topic: str, partition: int) -> int | None:
        group = self._groups.get(group_id)
        stored = group.offsets.get((topic, partition)) if group is not None else None
        return stored.offset if stored is not None else None

    def group_ids(self) -> list[str]:
        return sorted(self._groups)

    def close(self) -> None:
        """Cancel every timer and release every request blocked in a barrier."""
        for group in self._groups.values():
            if group.join_timer is not None:
                group.join_timer.cancel()
                group.join_timer = None
            for handle in group.pending.values():
                handle.cancel()
            group.pending.clear()
            for member in group.members.values():
                if member.timer is not None:
                    member.timer.cancel()
                    member.timer = None
                waiter, member.join_waiter = member.join_waiter, None
                _resolve(waiter, JoinResult(ErrorCode.NOT_COORDINATOR))
                sync_waiter, member.sync_waiter = member.sync_waiter, None
                _resolve(sync_waiter, SyncResult(ErrorCode.NOT_COORDINATOR))
