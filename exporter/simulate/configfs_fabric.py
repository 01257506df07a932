"""Writer: the tcm_qla2xxx fabric tree in configfs, `<configfs>/target/qla2xxx/`.

Per HBA port a target WWN directory (tcm_qla2xxx_format_wwn spelling) with one TPG: its
attributes, `dynamic_sessions`, the LUNs linked to their backstores, the explicit ACLs with
their mapped LUNs, and the statistics target_core_stat.c keeps for each of them.

A regular file cannot fail the way the kernel's session attributes do: an ACL whose initiator
has no session has `scsi_att_intr_port/{port_ident,indx}` failing with ENODEV
(target_stat_iport_*_show: `if (!se_sess) return -ENODEV`); here those two files are empty
while the initiator is logged out (the exporter reads an empty port_ident as no session, as it
reads ENODEV), and filled again after login.
"""

from __future__ import annotations

from exporter.simulate.configfs_alua import lun_alua_files
from exporter.simulate.model import KERNEL_RELEASE, QLA_VERSION, Acl, HostModel, Lun, Mapped, Port
from exporter.simulate.tree import Tree

FABRIC = "sys/kernel/config/target/qla2xxx"


def wwn_naa(n: int) -> str:
    """tcm_qla2xxx lport_naa_name: `naa.%016llx`."""
    return f"naa.{n:016x}"


def tpg_dir(port: Port) -> str:
    return f"{FABRIC}/{port.wwpn_colon}/tpgt_1"


def lun_dir(port: Port, lun: Lun) -> str:
    return f"{tpg_dir(port)}/lun/lun_{lun.lun}"


def acl_dir(port: Port, acl: Acl) -> str:
    return f"{tpg_dir(port)}/acls/{acl.name}"


def mapped_dir(port: Port, acl: Acl, m: Mapped) -> str:
    return f"{acl_dir(port, acl)}/lun_{m.mapped_lun}"


def build_fabric(tree: Tree, model: HostModel) -> None:
    """`target/qla2xxx/`: the fabric module's version and one TPG per port."""
    tree.files(
        FABRIC,
        {
            # tcm_qla2xxx.c tcm_qla2xxx_wwn_version_show()
            "version": (
                f"TCM QLOGIC QLA2XXX NPIV capable fabric module {QLA_VERSION} on "
                f"Linux/x86_64 on {KERNEL_RELEASE}\n"
            ),
        },
    )
    tree.mkdir(f"{FABRIC}/discovery_auth")
    for port in model.ports:
        _build_tpg(tree, model, port)


def _build_tpg(tree: Tree, model: HostModel, port: Port) -> None:
    w = f"{FABRIC}/{port.wwpn_colon}"
    tree.mkdir(f"{w}/fabric_statistics")
    tree.files(f"{w}/param", {"cmd_completion_affinity": "-1\n"})
    tpg = tpg_dir(port)
    demo = 1 if port.dynamic else 0
    tree.files(tpg, {"enable": "1\n", "fabric_prot_type": "0\n"})
    write_dynamic_sessions(tree, port)
    # tcm_qla2xxx.c tcm_qla2xxx_tpg_attrib_attrs[] ("%d\n"; jam_host only with
    # CONFIG_TCM_QLA2XXX_DEBUG, later removed); make_tpg defaults except write protect
    tree.files(
        f"{tpg}/attrib",
        {
            "generate_node_acls": f"{demo}\n",
            "cache_dynamic_acls": "1\n",
            "demo_mode_write_protect": "0\n",
            "prod_mode_write_protect": "0\n",
            "demo_mode_login_only": "1\n",
        },
    )
    for sub in ("auth", "param", "np", "lun", "acls"):
        tree.mkdir(f"{tpg}/{sub}")
    for lun in port.luns:
        _build_lun(tree, model, port, lun)
    for acl in port.acls:
        _build_acl(tree, port, acl)


def write_dynamic_sessions(tree: Tree, port: Port) -> None:
    """target_core_fabric_configfs.c / tcm_qla2xxx: "%s\\n" per dynamic session + NUL byte."""
    text = "".join(f"{d.name}\n\0" for d in port.dynamic) if port.link_up else ""
    tree.put(f"{tpg_dir(port)}/dynamic_sessions", text)


def _build_lun(tree: Tree, model: HostModel, port: Port, lun: Lun) -> None:
    d = lun_dir(port, lun)
    bs = lun.backstore
    tree.files(d, lun_alua_files(model, port, lun))
    tree.symlink(f"{d}/{lun.link_name}", f"../../../../../../target/core/{bs.path}")
    sd = f"{d}/statistics"
    tree.files(
        f"{sd}/scsi_port",
        {
            "inst": f"{bs.hba_index}\n",
            "dev": f"{bs.dev_index}\n",
            "indx": f"{lun.rtpi}\n",
            "role": f"Device{bs.dev_index}\n",
            "busy_count": "0\n",
        },
    )
    tree.files(
        f"{sd}/scsi_tgt_port",
        {
            "inst": f"{bs.hba_index}\n",
            "dev": f"{bs.dev_index}\n",
            "indx": f"{lun.rtpi}\n",
            "name": f"qla2xxxPort#{lun.rtpi}\n",
            "port_index": f"{wwn_naa(port.wwpn)}+t+1\n",
            "hs_in_cmds": "0\n",
        },
    )
    write_lun_stats(tree, port, lun)
    tree.files(
        f"{sd}/scsi_transport",
        {
            "inst": f"{bs.hba_index}\n",
            "device": "scsiTransportqla2xxx\n",
            "indx": "1\n",
            "dev_name": f"{wwn_naa(port.wwpn)}+{bs.serial}\n",
            "proto_id": "0\n",
        },
    )


def write_lun_stats(tree: Tree, port: Port, lun: Lun) -> None:
    sd = f"{lun_dir(port, lun)}/statistics/scsi_tgt_port"
    tree.put(f"{sd}/in_cmds", f"{lun.cmds}\n")
    # target_core_stat.c: (u32)(octets >> 20); write = data received from initiators.
    tree.put(f"{sd}/write_mbytes", f"{(lun.write_bytes >> 20) & 0xFFFFFFFF}\n")
    tree.put(f"{sd}/read_mbytes", f"{(lun.read_bytes >> 20) & 0xFFFFFFFF}\n")


def _build_acl(tree: Tree, port: Port, acl: Acl) -> None:
    d = acl_dir(port, acl)
    for sub in ("attrib", "auth", "param", "fabric_statistics"):
        tree.mkdir(f"{d}/{sub}")
    for m in acl.mapped:
        _build_mapped(tree, port, acl, m)


def _build_mapped(tree: Tree, port: Port, acl: Acl, m: Mapped) -> None:
    d = mapped_dir(port, acl, m)
    bs = m.lun.backstore
    tree.files(d, {"write_protect": "0\n"})
    link = f"{(acl.wwpn * 31 + m.mapped_lun * 7919) & 0xFFFFFFFFFF:010x}"
    tree.symlink(
        f"{d}/{link}",
        f"../../../../../../../target/qla2xxx/{port.wwpn_colon}/tpgt_1/lun/lun_{m.lun.lun}",
    )
    sd = f"{d}/statistics"
    tree.files(
        f"{sd}/scsi_auth_intr",
        {
            "inst": "1\n",
            "dev": f"{bs.dev_index}\n",
            "port": "1\n",
            "indx": f"{acl.acl_index}\n",
            "dev_or_port": "1\n",
            "intr_name": f"{acl.name}\n",
            "map_indx": "0\n",
            "att_count": "1\n",
            "hs_num_cmds": "0\n",
            "creation_time": f"{m.creation_time}\n",
            "row_status": "Ready\n",
        },
    )
    tree.files(
        f"{sd}/scsi_att_intr_port",
        {
            "inst": "1\n",
            "dev": f"{bs.dev_index}\n",
            "port": "1\n",
            "port_auth_indx": f"{acl.acl_index}\n",
        },
    )
    write_mapped_stats(tree, port, acl, m)
    write_session(tree, port, acl, m)


def write_mapped_stats(tree: Tree, port: Port, acl: Acl, m: Mapped) -> None:
    sd = f"{mapped_dir(port, acl, m)}/statistics/scsi_auth_intr"
    tree.put(f"{sd}/num_cmds", f"{m.cmds}\n")
    tree.put(f"{sd}/read_mbytes", f"{(m.read_bytes >> 20) & 0xFFFFFFFF}\n")
    tree.put(f"{sd}/write_mbytes", f"{(m.write_bytes >> 20) & 0xFFFFFFFF}\n")


def write_session(tree: Tree, port: Port, acl: Acl, m: Mapped) -> None:
    """port_ident / indx say something only while the initiator has a session (module docstring)."""
    sd = f"{mapped_dir(port, acl, m)}/statistics/scsi_att_intr_port"
    ident, indx = f"{sd}/port_ident", f"{sd}/indx"
    if acl.session:
        # tcm_qla2xxx has no sess_get_initiator_sid: "%s+i+%s\n" with an empty SID;
        # tcm_qla2xxx_sess_get_index() returns 0.
        tree.put(ident, f"{acl.name}+i+\n")
        tree.put(indx, "0\n")
    else:
        tree.put(ident, "")
        tree.put(indx, "")


def write_sessions(tree: Tree, port: Port, acl: Acl) -> None:
    """The session files of every mapped LUN of one ACL (after a login, logout or link change)."""
    for m in acl.mapped:
        if m.present:
            write_session(tree, port, acl, m)


def remove_lun(tree: Tree, port: Port, target: Lun) -> None:
    """Unmap a LUN from every ACL, then delete the TPG LUN (as targetcli does)."""
    for acl in port.acls:
        for m in acl.mapped:
            if m.lun is target and m.present:
                m.present = False
                tree.remove(mapped_dir(port, acl, m))
    target.present = False
    tree.remove(lun_dir(port, target))
