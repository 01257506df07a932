"""Member offsets of LIO's structures from the running kernel's BTF, as `bpftool -j btf dump
file /sys/kernel/btf/target_core_mod` prints them (pure: JSON in, offsets out).

Debian 12's bpftrace 0.17 resolves casts only against vmlinux BTF, where `struct se_cmd` is a
bare forward declaration, so the scsi_latency program reads the fields by offset. The offsets
come from this kernel's own module BTF at start-up (never compiled in), which keeps the
program correct across kernel versions the way CO-RE relocations would.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

# struct -> members the program reads (include/target/target_core_base.h,
# target_core_fabric.h). config_group.cg_item and config_item.ci_name are the first members of
# their structs (include/linux/configfs.h, unchanged since 2.6.16): offset 0, not looked up.
FIELDS: Mapping[str, tuple[str, ...]] = {
    "se_cmd": ("se_sess", "se_lun", "t_task_cdb", "scsi_status", "sense_buffer"),
    "se_session": ("se_tpg", "se_node_acl"),
    "se_portal_group": ("se_tpg_tfo", "se_tpg_wwn", "tpg_group"),
    "se_wwn": ("wwn_group",),
    "target_core_fabric_ops": ("fabric_name",),
    "se_node_acl": ("initiatorname",),
    "se_lun": ("unpacked_lun",),
}


def parse_offsets(doc: bytes | str) -> dict[str, int]:
    """`"struct.member" -> byte offset` for every member of FIELDS; ValueError when the dump
    is not bpftool's JSON or a member is missing (a kernel this program does not fit)."""
    try:
        data = json.loads(doc)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"bpftool btf dump: not JSON: {exc}") from None
    types = data.get("types") if isinstance(data, dict) else None
    if not isinstance(types, list):
        raise ValueError("bpftool btf dump: no types list")
    structs: dict[str, dict[str, object]] = {}
    for t in types:
        if isinstance(t, dict) and t.get("kind") == "STRUCT" and t.get("name") in FIELDS:
            structs[str(t["name"])] = t
    out: dict[str, int] = {}
    for name, members in FIELDS.items():
        st = structs.get(name)
        if st is None:
            raise ValueError(f"struct {name} is not in this BTF")
        listed = st.get("members")
        if not isinstance(listed, list):
            raise ValueError(f"struct {name}: no members")
        bitfields = bool(st.get("kind_flag"))
        by_name = {m.get("name"): m.get("bits_offset") for m in listed if isinstance(m, dict)}
        for member in members:
            bits = by_name.get(member)
            if isinstance(bits, bool) or not isinstance(bits, int) or bits < 0:
                raise ValueError(f"struct {name} has no member {member}")
            if bitfields:
                bits &= 0xFFFFFF  # BTF_MEMBER_BIT_OFFSET: the low 24 bits with kind_flag
            if bits % 8:
                raise ValueError(f"{name}.{member} is not byte aligned")
            out[f"{name}.{member}"] = bits // 8
    return out
