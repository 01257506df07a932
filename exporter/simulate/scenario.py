"""What happens on the simulated host over time: I/O, interrupts, link flaps, logins, re-pinning.

`Scenario.advance(seconds)` moves the clock: SCSI I/O per initiator and LUN, interrupt counts,
fc_host statistics, automatic link flaps and their kernel log records. The other methods are the
single events a test or the demo triggers. Every change goes to the model first, then to the
files through the writer modules.

Counters are kept exactly (bytes, commands) so tests can derive the expected file contents:
every command an initiator sends to a mapped LUN counts once in that mapped LUN
(`scsi_auth_intr`), once in the TPG LUN it maps to (`scsi_tgt_port`) and once in the backstore
(`scsi_lu`); demo-mode (dynamic) sessions count in the LUN and the backstore only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from exporter.simulate import (
    configfs_alua,
    configfs_core,
    configfs_fabric,
    fc_sysfs,
    proc_interrupts,
)
from exporter.simulate.dev_kmsg import KmsgLog
from exporter.simulate.model import (
    SPREADS,
    Backstore,
    HostModel,
    Lun,
    Port,
    SimParams,
    apply_spread,
)
from exporter.simulate.model_lio import TgPtGp, UserDevice
from exporter.simulate.qla_debugfs import QlaDebugfs
from exporter.simulate.tree import Tree

HZ_LOC = 250  # local timer interrupts per second per CPU (HZ=250, busy CPU)
FLAP_DOWN_SECONDS = 2.0  # how long an automatic flap keeps the link down (simulated time)
# `--demo`: each port flaps every 2 minutes with the LIP debug lines on.
DEMO_PARAMS = SimParams(flap_every=120.0, extended_logging=True, seed=7)


@dataclass
class Traffic:
    """What one port moved in one step: commands, bytes to and from the initiators."""

    cmds: int = 0
    bytes_out: int = 0  # read data sent to initiators
    bytes_in: int = 0  # write data received from initiators

    def add(self, cmds: int, read_bytes: int, write_bytes: int) -> None:
        self.cmds += cmds
        self.bytes_out += read_bytes
        self.bytes_in += write_bytes


class Scenario:
    """Changes the model and rewrites the files those changes touch."""

    def __init__(self, tree: Tree, model: HostModel, kmsg: KmsgLog) -> None:
        self.tree = tree
        self.model = model
        self.kmsg = kmsg
        self.qla = QlaDebugfs(tree, model)

    def demo(self) -> None:
        """The `--demo` host's opening (after build): one ACL's initiator logged out, port 1's
        interrupts all on one CPU, a Standby ALUA group (no LUNs yet) on the first backstore,
        the second block backstore read-only, five seconds of traffic."""
        self.set_login(0, self.model.params.initiators - 1, logged_in=False)
        self.add_tg_pt_gp(0, "ha_standby", 1, state=2)
        if len(self.model.backstores) > 3:
            self.set_read_only(3, True)
        self.set_irq_spread("skewed", port=1)
        self.advance(5.0)

    # ------------------------------------------------------------------ events

    def set_link(self, port: Port, up: bool) -> None:
        """Link state change with its log records, fc_host counters and sessions."""
        if port.link_up == up:
            return
        port.link_up = up
        if up:
            self.kmsg.loop_up(port, lip=self.model.params.extended_logging)
            port.stats["lip_count"] += 1
            port.stats["nos_count"] += 1
        else:
            self.kmsg.loop_down(port)
            port.stats["link_failure_count"] += 1
            port.stats["loss_of_sync_count"] += 1
            port.stats["loss_of_signal_count"] += 1
        for acl in port.acls:
            acl.session = up and acl.logged_in
        fc_sysfs.write_port_state(self.tree, port)
        configfs_fabric.write_dynamic_sessions(self.tree, port)
        for acl in port.acls:
            configfs_fabric.write_sessions(self.tree, port, acl)
            self.qla.set_session(port, acl.wwpn, acl.session)
        for d in port.dynamic:
            self.qla.set_session(port, d.wwpn, up)

    def link_down(self, port: int) -> None:
        p = self.model.ports[port]
        p.down_until = None
        self.set_link(p, False)

    def link_up(self, port: int) -> None:
        p = self.model.ports[port]
        p.down_until = None
        self.set_link(p, True)

    def flap(self, port: int) -> None:
        """Link down and up again at once (records 1 ms apart)."""
        self.link_down(port)
        self.model.now += 0.001
        self.link_up(port)

    def set_irq_spread(self, mode: str, port: int | None = None) -> None:
        if mode not in SPREADS:
            raise ValueError(f"irq_spread: unknown mode {mode!r}")
        apply_spread(self.model, mode, port)
        for v in self.model.vectors():
            proc_interrupts.write_affinity(self.tree, self.model, v)

    def set_login(self, port: int, initiator: int, logged_in: bool) -> None:
        """The initiator's session ends or starts again (only while the link is up)."""
        p = self.model.ports[port]
        acl = p.acls[initiator]
        acl.logged_in = logged_in
        acl.session = logged_in and p.link_up
        configfs_fabric.write_sessions(self.tree, p, acl)
        self.qla.set_session(p, acl.wwpn, acl.session)

    def remove_lun(self, port: int, lun: int) -> None:
        target = self.model.lun(port, lun)
        configfs_fabric.remove_lun(self.tree, self.model.ports[port], target)
        bs = target.backstore
        bs.export_count -= 1
        configfs_alua.write_groups(self.tree, self.model, bs)
        configfs_core.write_backstore_stats(self.tree, bs)

    # ------------------------------------------------------- ALUA and backstores

    def add_tg_pt_gp(self, backstore: int, name: str, gp_id: int | None, state: int = 0) -> None:
        """mkdir alua/<name> on a backstore (then tg_pt_gp_id and alua_access_state set)."""
        self.model.lio.groups_of(backstore).append(TgPtGp(name, gp_id, state, 2 if state else 0))
        configfs_alua.write_groups(self.tree, self.model, self.model.backstores[backstore])

    def set_alua_state(self, backstore: int, group: str, state: int) -> None:
        """echo <state> > alua_access_state: an implicit transition (status 2)."""
        g = self.model.lio.group(backstore, group)
        g.state, g.status = state, 2
        configfs_alua.write_alua(self.tree, self.model, self.model.backstores[backstore])

    def move_lun(self, port: int, lun: int, group: str) -> None:
        """echo <group> > lun_N/alua_tg_pt_gp (the group must exist on the LUN's backstore)."""
        bs = self.model.lun(port, lun).backstore
        self.model.lio.group(bs.index, group)  # raises StopIteration for an unknown group
        self.model.lio.lun_group[(port, lun)] = group
        configfs_alua.write_alua(self.tree, self.model, bs)

    def set_lun_offline(self, port: int, lun: int, offline: bool) -> None:
        """echo 1 > lun_N/alua_tg_pt_offline: the port's secondary state Offline."""
        (self.model.lio.lun_offline.add if offline else self.model.lio.lun_offline.discard)(
            (port, lun)
        )
        configfs_alua.write_alua(self.tree, self.model, self.model.lun(port, lun).backstore)

    def set_read_only(self, backstore: int, read_only: bool) -> None:
        """A block backstore (re)created with `readonly=1` (its info says `readonly: 1`)."""
        bs = self.model.backstores[backstore]
        if bs.plugin != "iblock":
            raise ValueError("only block backstores can be read-only")
        (self.model.lio.read_only.add if read_only else self.model.lio.read_only.discard)(backstore)
        configfs_core.build_backstore(self.tree, self.model, bs)
        configfs_core.write_backstore_stats(self.tree, bs)

    def add_user_backstore(self, name: str, size: int = 1 << 30) -> int:
        """A tcmu backstore `user_<n>/<name>` exported by no LUN; returns its index."""
        i = len(self.model.backstores)
        bs = Backstore(
            index=i,
            plugin="user",
            hba_dir=f"user_{i}",
            name=name,
            hba_id=i + 1,
            hba_index=i + 2,
            dev_index=i + 1,
            serial=f"{i:08x}-0000-4000-8000-00000000{i:04x}",
            size=size,
            udev_path="",
            write_cache=False,
            creation_time=1300 + 7 * i,
        )
        self.model.backstores.append(bs)
        self.model.lio.users.append(UserDevice(i))
        configfs_core.build_backstore(self.tree, self.model, bs)
        configfs_core.write_backstore_stats(self.tree, bs)
        return i

    def set_user_blocked(self, backstore: int, blocked: bool) -> None:
        """echo 1 > action/block_dev (tcmu-runner blocks a device while it reopens it)."""
        ud = self.model.lio.user(backstore)
        if ud is None:
            raise ValueError(f"backstore {backstore} is not a user backstore")
        ud.blocked = blocked
        configfs_alua.write_user_action(self.tree, ud, self.model.backstores[backstore])

    # ----------------------------------------------------------------- advance

    def advance(self, seconds: float) -> None:
        """Move the simulated clock: I/O, interrupts, fc_host counters, automatic flaps."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        m = self.model
        t0, t1 = m.now, m.now + seconds
        up_time = self._run_link_events(t0, t1)
        m.now = t1
        busy = [0.0] * m.params.cpus
        for port in m.ports:
            self._advance_port(port, up_time[port.index], seconds, busy)
        for c in range(m.params.cpus):
            m.loc[c] += int(HZ_LOC * seconds * (0.3 + 0.7 * min(1.0, busy[c] / 5000.0 + 0.1)))
            m.res[c] += int(seconds * 3 + busy[c] * 0.001)
            m.cal[c] += int(seconds * 2)
        for bs in m.backstores:
            configfs_core.write_backstore_stats(self.tree, bs)
        proc_interrupts.write_interrupts(self.tree, m)

    def _link_events(self, t0: float, t1: float) -> list[tuple[float, int, bool]]:
        """Automatic flaps and pending link-ups in (t0, t1]: (time, port, up)."""
        flap_every = self.model.params.flap_every
        events: list[tuple[float, int, bool]] = []
        for port in self.model.ports:
            if port.down_until is not None and port.down_until <= t1:
                events.append((port.down_until, port.index, True))
            if flap_every <= 0:
                continue
            k = int((t0 - port.flap_phase) // flap_every) + 1
            while (tf := port.flap_phase + k * flap_every) <= t1:
                if tf > t0:
                    events.append((tf, port.index, False))
                    if tf + FLAP_DOWN_SECONDS <= t1:
                        events.append((tf + FLAP_DOWN_SECONDS, port.index, True))
                k += 1
        return sorted(events)

    def _run_link_events(self, t0: float, t1: float) -> dict[int, float]:
        """Apply the link events in time order; returns each port's seconds with link up."""
        m = self.model
        up_time = {port.index: 0.0 for port in m.ports}
        state = {port.index: port.link_up for port in m.ports}
        last = t0
        for when, idx, up in self._link_events(t0, t1):
            for i, s in state.items():
                if s:
                    up_time[i] += when - last
            last = when
            m.now = when
            port = m.ports[idx]
            if up:
                # only the end of an automatic flap; a link_down() port stays down
                if port.down_until is not None and when >= port.down_until:
                    port.down_until = None
                    self.set_link(port, True)
            elif port.link_up:
                self.set_link(port, False)
                port.down_until = when + FLAP_DOWN_SECONDS
            state[idx] = port.link_up
        for i, s in state.items():
            if s:
                up_time[i] += t1 - last
        return up_time

    def _advance_port(self, port: Port, up_s: float, seconds: float, busy: list[float]) -> None:
        rng = self.model.rng
        traffic = Traffic()
        if up_s > 0:
            self._acl_io(port, up_s, traffic)
            self._dynamic_io(port, up_s, traffic)
        for lun in port.luns:
            if lun.present:
                configfs_fabric.write_lun_stats(self.tree, port, lun)
        for acl in port.acls:
            for m in acl.mapped:
                if m.present:
                    configfs_fabric.write_mapped_stats(self.tree, port, acl, m)
        _count_interrupts(port, traffic, seconds, rng, busy)
        self.qla.advance(port, traffic.cmds, traffic.cmds * 6 // 10, seconds)
        # fc_host statistics (qla2xxx fills these from the firmware link statistics)
        s = port.stats
        s["seconds_since_last_reset"] = int(self.model.now)
        s["tx_frames"] += traffic.bytes_out // 2048 + traffic.cmds * 2
        s["rx_frames"] += traffic.bytes_in // 2048 + traffic.cmds
        s["tx_words"] += traffic.bytes_out // 4 + traffic.cmds * 16
        s["rx_words"] += traffic.bytes_in // 4 + traffic.cmds * 16
        fc_sysfs.write_port_state(self.tree, port)

    def _acl_io(self, port: Port, up_s: float, traffic: Traffic) -> None:
        """I/O of the logged-in ACLs' initiators to their mapped LUNs."""
        rng = self.model.rng
        for acl in port.acls:
            if not acl.session:
                continue
            for m in acl.mapped:
                if not m.present:
                    continue
                jitter = rng.uniform(0.8, 1.2)
                rc = int(m.read_iops * up_s * jitter)
                wc = int(m.write_iops * up_s * jitter)
                rb, wb = rc * m.read_size, wc * m.write_size
                m.cmds += rc + wc
                m.read_bytes += rb
                m.write_bytes += wb
                _account(m.lun, rc + wc, rb, wb)
                traffic.add(rc + wc, rb, wb)

    def _dynamic_io(self, port: Port, up_s: float, traffic: Traffic) -> None:
        """I/O of the demo-mode sessions, spread over every LUN of the TPG."""
        rng = self.model.rng
        present = [lun for lun in port.luns if lun.present]
        if not present:
            return
        for d in port.dynamic:
            per = d.iops * up_s * rng.uniform(0.8, 1.2) / len(present)
            for lun in present:
                rc = int(per * 0.6)
                wc = int(per * 0.4)
                rb, wb = rc * d.read_size, wc * d.write_size
                d.cmds += rc + wc
                d.read_bytes += rb
                d.write_bytes += wb
                _account(lun, rc + wc, rb, wb)
                traffic.add(rc + wc, rb, wb)


def _count_interrupts(
    port: Port, traffic: Traffic, seconds: float, rng: random.Random, busy: list[float]
) -> None:
    """Default vector a few per second (mailbox, async events), atio_q one per incoming command
    batch, qpairs the CTIO completions, rsp_q a small share; all on the effective CPU."""
    cmds = traffic.cmds
    nq = max(1, sum(1 for v in port.vectors if v.kind == "qpair"))
    for v in port.vectors:
        if v.kind == "default":
            n = int(seconds * 2 + rng.random() * 2)
        elif v.kind == "rsp_q":
            n = int(cmds * 0.02 + seconds * 0.5)
        elif v.kind == "atio_q":
            n = int(cmds * 0.9)
        else:
            n = int(cmds * 0.9 / nq * rng.uniform(0.85, 1.15))
        v.counts[v.effective] += n
        busy[v.effective] += n / max(seconds, 1e-9)


def _account(lun: Lun, cmds: int, rb: int, wb: int) -> None:
    """A command batch counts in the TPG LUN and in its backstore."""
    lun.cmds += cmds
    lun.read_bytes += rb
    lun.write_bytes += wb
    bs = lun.backstore
    bs.cmds += cmds
    bs.read_bytes += rb
    bs.write_bytes += wb
