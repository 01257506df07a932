"""Writer: the qla2xxx debugfs tree, `sys/kernel/debug/qla2xxx/qla2xxx_<N>/`, in the byte formats
of drivers/scsi/qla2xxx/qla_dfs.c for two kernel eras (`SimParams.qla_debugfs`):

- "4.5": tgt_counters with the nine target counters; fw_resource_count with the values cached at
  init (lower-case `current TGT` / `original Initiator`, kernel order of v4.5); tgt_sess; no
  rports/ directory.
- "6.x": current mainline: tgt_counters with the DIF lines and the `Initiator Error Counters`
  block (tab-separated, %14lld); fw_resource_count from the Get Resource Counts mailbox (reordered,
  capitalised, XCB buffer lines, ql2xenforce_iocb_limit=1 estimates); tgt_sess; rports/pn-*/.
- "none": no debugfs tree (an unmounted debugfs: an empty `sys/kernel/debug`).

What moves (`advance`): the target counters follow the traffic; windows of the simulated clock
(period `PERIOD`) make a QUEUE FULL burst with exchange exhaustion on port 0 under load, ABTS
bursts (terminated exchanges) on every port, and a re-login storm of port 0's first initiator.
This module draws from its own random generator, so the other files stay as they were.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from exporter.parsers import qla_debugfs as q
from exporter.simulate.model import HostModel, Port
from exporter.simulate.tree import Tree

ERAS = ("4.5", "6.x", "none")
PERIOD = 600.0  # seconds: the scenario's windows repeat
QFULL_WINDOW = (60.0, 120.0)  # port 0: QUEUE FULL burst and exchanges nearly exhausted
ABTS_WINDOW = (200.0, 230.0)  # every port: initiators abort commands
RELOGIN_WINDOW = (400.0, 460.0)  # port 0, first initiator: a login every RELOGIN_EVERY seconds
RELOGIN_EVERY = 2.0
QFULL_MIN_IOPS = 200.0  # the burst needs load
DSC_DELETED = 0
DSC_LOGIN_COMPLETE = 6  # enum discovery_state of current mainline (no DSC_GNN_ID)
FW_RESOURCE_LIMITS = {"target_exchanges": 4096, "initiator_exchanges": 2048, "iocbs": 2078}
_XCB = (  # the XCB buffer lines of the mailbox era, constant here
    ("Current free pageable XCB buffer cnt", 1024),
    ("Original Initiator fast XCB buffer cnt", 512),
    ("Current free Initiator fast XCB buffer cnt", 512),
    ("Original Target fast XCB buffer cnt", 2048),
)
TGT_KEYS = (  # kernel text, in qla_dfs_tgt_counters_show() order
    "qla_core_sbt_cmd",
    "qla_core_ret_sta_ctio",
    "qla_core_ret_ctio",
    "core_qla_que_buf",
    "core_qla_snd_status",
    "core_qla_free_cmd",
    "num alloc iocb failed",
    "num term exchange sent",
    "num Q full sent",
)
DIF_KEYS = (
    "DIF Inp Bytes",
    "DIF Outp Bytes",
    "DIF Inp Req",
    "DIF Outp Req",
    "DIF Guard err",
    "DIF Ref tag err",
    "DIF App tag err",
)
# v5.12 "Initiator Error Counters": the key and the tabs after its " ="
INI_KEYS = (
    ("HW Error Count", "\t\t"),
    ("Link Down Count", "\t"),
    ("Interface Err Count", "\t"),
    ("Cmd Timeout Count", "\t"),
    ("Reset Count", "\t\t"),
)


@dataclass
class Login:
    """One initiator's fc_port as the driver keeps it."""

    wwpn: int
    port_id: int
    loop_id: int
    session: bool = True
    login_gen: int = 1
    rscn_gen: int = 0


@dataclass
class QlaPortState:
    counters: dict[str, int] = field(default_factory=dict)  # kernel key text -> value
    logins: list[Login] = field(default_factory=list)
    in_use: dict[str, int] = field(default_factory=dict)  # fw resource -> in use
    relogin_due: float = 0.0


class QlaDebugfs:
    """The per-port driver state and the files it is written to."""

    def __init__(self, tree: Tree, model: HostModel) -> None:
        self.era = model.params.qla_debugfs
        if self.era not in ERAS:
            raise ValueError(f"qla_debugfs: unknown era {self.era!r} (one of {ERAS})")
        self.tree, self.model = tree, model
        self.rng = random.Random(model.params.seed * 7919 + 13)
        self.state: dict[int, QlaPortState] = {p.index: self._initial(p) for p in model.ports}

    def _initial(self, port: Port) -> QlaPortState:
        keys = TGT_KEYS + (DIF_KEYS + tuple(k for k, _ in INI_KEYS) if self.era == "6.x" else ())
        st = QlaPortState(counters=dict.fromkeys(keys, 0))
        sessions = [(a.wwpn, a.session) for a in port.acls] + [(d.wwpn, True) for d in port.dynamic]
        for i, (wwpn, up) in enumerate(sessions):
            pid = 0x010000 | ((port.index + 1) << 8) | (i + 1)
            st.logins.append(Login(wwpn, pid, 0x80 + i, up and port.link_up))
        st.in_use = dict.fromkeys(FW_RESOURCE_LIMITS, 0)
        st.in_use["iocbs"] = 11  # the firmware's own at idle
        return st

    def host_dir(self, port: Port) -> str:
        return f"sys/kernel/debug/{q.DRIVER_DIR}/qla2xxx_{port.host_no}"

    # ------------------------------------------------------------------ writing

    def build(self) -> None:
        self.tree.mkdir("sys/kernel/debug")
        if self.era == "none":
            return
        for port in self.model.ports:
            self.write(port)

    def write(self, port: Port) -> None:
        if self.era == "none":
            return
        st, d = self.state[port.index], self.host_dir(port)
        self.tree.files(
            d,
            {
                "tgt_counters": self.tgt_counters(st),
                "tgt_sess": tgt_sess(port, st),
                "fw_resource_count": self.fw_resource_count(st),
            },
        )
        if self.era == "6.x":
            for login in st.logins:
                self.tree.files(f"{d}/rports/pn-{login.wwpn:016x}", rport_files(login))

    def tgt_counters(self, st: QlaPortState) -> str:
        c = st.counters
        out = [q.TGT_COUNTERS_HEADER + "\n"]
        out += [f"{k} = {c[k]}\n" for k in TGT_KEYS]
        if self.era == "6.x":
            out += [f"{k} = {c[k]}\n" for k in DIF_KEYS]
            out += ["\n", "Initiator Error Counters\n"]
            out += [f"{k} ={tabs}{c[k]:14d}\n" for k, tabs in INI_KEYS]
            out += ["\n", "\n"]  # no per-rport lines: target mode registers no FC rports
        return "".join(out)

    def fw_resource_count(self, st: QlaPortState) -> str:
        lim, free = FW_RESOURCE_LIMITS, self.free(st)
        if self.era == "4.5":
            rows = [
                ("Original TGT exchg count", lim["target_exchanges"]),
                ("current TGT exchg count", free["target_exchanges"]),
                ("original Initiator Exchange count", lim["initiator_exchanges"]),
                ("Current Initiator Exchange count", free["initiator_exchanges"]),
                ("Original IOCB count", lim["iocbs"]),
                ("Current IOCB count", free["iocbs"]),
                ("MAX VP count", 254),
                ("MAX FCF count", 0),
            ]
            tail = ""
        else:
            rows = [
                ("Original TGT exchg count", lim["target_exchanges"]),
                ("Current TGT exchg count", free["target_exchanges"]),
                ("Current Initiator Exchange count", free["initiator_exchanges"]),
                ("Original Initiator Exchange count", lim["initiator_exchanges"]),
                ("Current IOCB count", free["iocbs"]),
                ("Original IOCB count", lim["iocbs"]),
                ("MAX VP count", 254),
                ("MAX FCF count", 0),
                *_XCB,
            ]
            used = st.in_use
            tail = (
                f"Driver: estimate iocb used [{used['iocbs']}] high water limit "
                f"[{lim['iocbs'] * 9 // 10}]\n"
                f"estimate exchange used[{used['target_exchanges']}] high water limit "
                f"[{lim['target_exchanges'] * 9 // 10}]\n"
            )
        body = "".join(f"{label}[{value}]\n" for label, value in rows)
        return f"{q.FW_RESOURCE_HEADER}\n\n{body}{tail}"

    def free(self, st: QlaPortState) -> dict[str, int]:
        return {k: v - st.in_use[k] for k, v in FW_RESOURCE_LIMITS.items()}

    # ------------------------------------------------------------------ scenario

    def set_session(self, port: Port, wwpn: int, up: bool) -> None:
        """An initiator's session starts (a new login: login_gen + 1) or ends."""
        for login in self.state[port.index].logins:
            if login.wwpn == wwpn and login.session != up:
                login.session = up
                login.login_gen += int(up)
                login.rscn_gen += 1
        self.write(port)

    def advance(self, port: Port, cmds: int, reads: int, seconds: float) -> None:
        """Counters after `cmds` commands (`reads` of them with data-in) in `seconds`."""
        st, c = self.state[port.index], self.state[port.index].counters
        for key in ("qla_core_sbt_cmd", "core_qla_snd_status", "qla_core_ret_sta_ctio"):
            c[key] += cmds
        c["core_qla_que_buf"] += reads
        c["qla_core_ret_ctio"] += reads
        c["core_qla_free_cmd"] += cmds
        phase = self.model.now % PERIOD
        iops = cmds / seconds if seconds > 0 else 0.0
        busy = port.index == 0 and _inside(phase, QFULL_WINDOW) and iops >= QFULL_MIN_IOPS
        exch = min(FW_RESOURCE_LIMITS["target_exchanges"] - 40, int(iops * 0.002) + 8)
        if busy:
            c["num Q full sent"] += int(cmds * 0.01) + 1
            c["num alloc iocb failed"] += int(cmds * 0.001)
            exch = FW_RESOURCE_LIMITS["target_exchanges"] - self.rng.randint(8, 40)
        if _inside(phase, ABTS_WINDOW) and cmds:
            c["num term exchange sent"] += int(seconds * self.rng.uniform(4.0, 12.0)) + 1
        st.in_use["target_exchanges"] = exch
        st.in_use["iocbs"] = 11 + min(1800, exch // 3)
        if port.index == 0 and _inside(phase, RELOGIN_WINDOW) and st.logins:
            self._relogin(st, seconds)
        self.write(port)

    def _relogin(self, st: QlaPortState, seconds: float) -> None:
        st.relogin_due += seconds
        login = st.logins[0]
        while st.relogin_due >= RELOGIN_EVERY and login.session:
            st.relogin_due -= RELOGIN_EVERY
            login.login_gen += 1


def _inside(phase: float, window: tuple[float, float]) -> bool:
    return window[0] <= phase < window[1]


def tgt_sess(port: Port, st: QlaPortState) -> str:
    """qla2x00_dfs_tgt_sess_show(): host_str, header, `%02x:%02x:%02x  %8phC  %d` per session."""
    lines = [f"qla2xxx_{port.host_no}\n", q.TGT_SESS_HEADER + "\n"]
    for login in st.logins:
        if not login.session:
            continue
        pid = login.port_id
        wwpn = ":".join(f"{b:02x}" for b in login.wwpn.to_bytes(8, "big"))
        lines.append(
            f"{pid >> 16:02x}:{(pid >> 8) & 0xFF:02x}:{pid & 0xFF:02x}  {wwpn}  {login.loop_id}\n"
        )
    return "".join(lines)


def rport_files(login: Login) -> dict[str, str]:
    """qla2x00_dfs_create_rport(): every field `"%llu\\n"`."""
    up = login.session
    values = {
        "disc_state": DSC_LOGIN_COMPLETE if up else DSC_DELETED,
        "scan_state": 2 if up else 1,
        "fw_login_state": q.FW_LOGIN_PRLI_COMPLETE if up else 0,
        "login_pause": 0,
        "flags": 0,
        "nvme_flag": 0,
        "last_rscn_gen": login.rscn_gen,
        "rscn_gen": login.rscn_gen,
        "login_gen": login.login_gen,
        "loop_id": login.loop_id if up else 0xFFFF,
        "port_id": login.port_id,
        "sess_kref": 2 if up else 1,
    }
    return {k: f"{v}\n" for k, v in values.items()}
