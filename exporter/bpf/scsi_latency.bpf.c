// SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0-only)
/*
 * scsi_latency: per-LUN SCSI command latency and status of a Linux LIO target, aggregated in
 * the kernel. Loaded by exporter/readers/scsi_latency.py through libbpf (CO-RE): the structure
 * layouts below name only the members read; libbpf relocates every access against the running
 * kernel's BTF (vmlinux and target_core_mod's module BTF) at load time.
 *
 * Hooks (include/trace/events/target.h, TP_PROTO(struct se_cmd *cmd), since Linux 3.13), as
 * BTF-enabled raw tracepoints (tp_btf, Linux >= 5.5; in a module >= 5.11):
 *   target_sequencer_start  target_cmd_init_cdb(): the CDB was received;
 *   target_cmd_complete     the status is about to be queued (target_complete_ok_work,
 *                           transport_generic_request_failure, transport_send_check_condition_
 *                           and_sense after the sense data is built, target_send_busy, TAS).
 *
 * Build: clang -target bpf -O2 -g -c scsi_latency.bpf.c (Makefile rule `bpf`).
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

typedef __u64 u64;
typedef __u32 u32;
typedef __u16 u16;
typedef __u8 u8;

/* --- the members read (include/target/target_core_base.h, include/linux/configfs.h) --- */
struct config_item {
	char *ci_name;
} __attribute__((preserve_access_index));

struct config_group {
	struct config_item cg_item;
} __attribute__((preserve_access_index));

struct target_core_fabric_ops {
	const char *fabric_alias; /* the configfs directory name when set ("iscsi") */
	const char *fabric_name;  /* otherwise this ("loopback", "qla2xxx"; "iSCSI") */
} __attribute__((preserve_access_index));

struct se_wwn {
	struct config_group wwn_group;
} __attribute__((preserve_access_index));

struct se_portal_group {
	const struct target_core_fabric_ops *se_tpg_tfo;
	struct se_wwn *se_tpg_wwn;
	struct config_group tpg_group;
} __attribute__((preserve_access_index));

struct se_lun {
	u64 unpacked_lun;
} __attribute__((preserve_access_index));

struct se_node_acl {
	char initiatorname[224];
} __attribute__((preserve_access_index));

struct se_session {
	struct se_node_acl *se_node_acl;
	struct se_portal_group *se_tpg;
} __attribute__((preserve_access_index));

struct se_cmd {
	u8 scsi_status;
	void *sense_buffer;
	struct se_lun *se_lun;
	struct se_session *se_sess;
	unsigned char *t_task_cdb;
} __attribute__((preserve_access_index));

/* --- maps (layouts mirrored in exporter/parsers/scsi_latency.py) --- */
#define NSLOTS 64 /* slot k: ns in (2^(k-1), 2^k]; slot 0: ns <= 1 */
#define NO_LUN (~0ULL)
#define NAME_LEN 32
#define WWN_LEN 224

struct start {
	u64 ns;
	u64 tpg;
	u64 acl;
};

struct lat_key {
	u64 tpg;
	u64 acl;
	u64 lun; /* se_lun->unpacked_lun (configfs lun_N); NO_LUN before a LUN was resolved */
	u64 op;  /* 0 other, 1 read, 2 write */
};

struct lat_val {
	u64 slots[NSLOTS];
	u64 sum_ns;
};

struct status_key {
	u64 tpg;
	u64 acl;
	u64 lun;
	u64 code; /* SAM status | sense key << 8 (sense key only for CHECK CONDITION) */
};

struct nexus_key {
	u64 tpg;
	u64 acl;
};

struct nexus_val {
	u64 started;   /* starts recorded */
	u64 done;      /* completions matched to a recorded start */
	u64 lost;      /* a start replaced by a new command at the same address */
	u64 dropped;   /* starts that could not be recorded */
	u64 unmatched; /* completions without a recorded start */
};

struct tpg_names {
	char fabric[NAME_LEN];
	char wwn[WWN_LEN];
	char tpgt[NAME_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384); /* the loader may set another bound before loading */
	__type(key, u64);           /* struct se_cmd * */
	__type(value, struct start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct lat_key);
	__type(value, struct lat_val);
} lat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct status_key);
	__type(value, u64);
} status SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct nexus_key);
	__type(value, struct nexus_val);
} nexus SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u64); /* struct se_portal_group * */
	__type(value, struct tpg_names);
} tpgs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u64); /* struct se_node_acl * */
	__type(value, char[WWN_LEN]);
} inis SEC(".maps");

/* zero values to insert (global: the stack is too small for them) */
struct lat_val zero_lat;
struct nexus_val zero_nexus;
struct tpg_names zero_names;
char zero_ini[WWN_LEN];
u64 zero_u64;

static __always_inline void *get_or_init(void *map, const void *key, const void *zero)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

static __always_inline void remember_names(u64 tpgp, u64 aclp)
{
	struct se_portal_group *tpg = (void *)tpgp;
	struct se_node_acl *acl = (void *)aclp;

	if (tpgp && !bpf_map_lookup_elem(&tpgs, &tpgp)) {
		struct tpg_names *n = get_or_init(&tpgs, &tpgp, &zero_names);

		if (n) {
			const char *fabric = BPF_CORE_READ(tpg, se_tpg_tfo, fabric_alias);

			if (!fabric)
				fabric = BPF_CORE_READ(tpg, se_tpg_tfo, fabric_name);
			bpf_probe_read_kernel_str(n->fabric, sizeof(n->fabric), fabric);
			bpf_probe_read_kernel_str(n->wwn, sizeof(n->wwn),
						  BPF_CORE_READ(tpg, se_tpg_wwn, wwn_group.cg_item.ci_name));
			bpf_probe_read_kernel_str(n->tpgt, sizeof(n->tpgt),
						  BPF_CORE_READ(tpg, tpg_group.cg_item.ci_name));
		}
	}
	if (aclp && !bpf_map_lookup_elem(&inis, &aclp)) {
		char *s = get_or_init(&inis, &aclp, zero_ini);

		if (s)
			bpf_probe_read_kernel_str(s, WWN_LEN, acl->initiatorname);
	}
}

static __always_inline struct nexus_val *nexus_of(u64 tpg, u64 acl)
{
	struct nexus_key k = {.tpg = tpg, .acl = acl};

	return get_or_init(&nexus, &k, &zero_nexus);
}

SEC("tp_btf/target_sequencer_start")
int BPF_PROG(scsi_start, struct se_cmd *cmd)
{
	u64 key = (u64)cmd;
	struct se_session *sess = BPF_CORE_READ(cmd, se_sess);
	struct start s = {
		.ns = bpf_ktime_get_ns(),
		.tpg = (u64)BPF_CORE_READ(sess, se_tpg),
		.acl = (u64)BPF_CORE_READ(sess, se_node_acl),
	};
	struct nexus_val *nv;
	struct start *old;

	remember_names(s.tpg, s.acl);
	old = bpf_map_lookup_elem(&starts, &key);
	if (old) { /* its command ended without a traced status: charged to its own nexus */
		nv = nexus_of(old->tpg, old->acl);
		if (nv)
			__sync_fetch_and_add(&nv->lost, 1);
	}
	nv = nexus_of(s.tpg, s.acl);
	if (!nv)
		return 0;
	if (bpf_map_update_elem(&starts, &key, &s, BPF_ANY) == 0)
		__sync_fetch_and_add(&nv->started, 1);
	else
		__sync_fetch_and_add(&nv->dropped, 1);
	return 0;
}

static __always_inline u64 op_class(struct se_cmd *cmd)
{
	unsigned char *cdb = BPF_CORE_READ(cmd, t_task_cdb);
	u8 op = 0;

	bpf_probe_read_kernel(&op, 1, cdb);
	switch (op) {
	case 0x08: case 0x28: case 0xa8: case 0x88: /* READ(6/10/12/16) */
		return 1;
	case 0x0a: case 0x2a: case 0xaa: case 0x8a: /* WRITE(6/10/12/16) */
	case 0x2e: case 0xae: case 0x8e:            /* WRITE AND VERIFY(10/12/16) */
		return 2;
	}
	return 0;
}

static __always_inline u64 slot_of(u64 ns)
{
	u64 v = ns > 0 ? ns - 1 : 0, k = 0; /* k = bit length of ns - 1 */

	if (v >> 32) { v >>= 32; k += 32; }
	if (v >> 16) { v >>= 16; k += 16; }
	if (v >> 8) { v >>= 8; k += 8; }
	if (v >> 4) { v >>= 4; k += 4; }
	if (v >> 2) { v >>= 2; k += 2; }
	if (v >> 1) { v >>= 1; k += 1; }
	return k + v;
}

SEC("tp_btf/target_cmd_complete")
int BPF_PROG(scsi_complete, struct se_cmd *cmd)
{
	u64 now = bpf_ktime_get_ns(), key = (u64)cmd;
	struct se_session *sess = BPF_CORE_READ(cmd, se_sess);
	u64 tpg = (u64)BPF_CORE_READ(sess, se_tpg), acl = (u64)BPF_CORE_READ(sess, se_node_acl);
	struct se_lun *se_lun = BPF_CORE_READ(cmd, se_lun);
	struct status_key sk = {.tpg = tpg, .acl = acl,
				.lun = se_lun ? BPF_CORE_READ(se_lun, unpacked_lun) : NO_LUN};
	struct lat_key lk = {.tpg = tpg, .acl = acl, .lun = sk.lun};
	u8 code = BPF_CORE_READ(cmd, scsi_status), sense[3] = {};
	struct nexus_val *nv = nexus_of(tpg, acl);
	struct start *s;
	u64 *cnt;

	if (code == 0x02) { /* CHECK CONDITION: fixed (0x70/0x71) or descriptor (0x72/0x73) */
		bpf_probe_read_kernel(sense, sizeof(sense), BPF_CORE_READ(cmd, sense_buffer));
		sk.code = ((sense[0] & 0x7f) >= 0x72 ? sense[1] : sense[2]) & 0x0f;
		sk.code <<= 8;
	}
	sk.code |= code;
	cnt = get_or_init(&status, &sk, &zero_u64);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	s = bpf_map_lookup_elem(&starts, &key);
	if (!s) {
		if (nv)
			__sync_fetch_and_add(&nv->unmatched, 1);
		return 0;
	}
	/* the start's own nexus: the one its counters were charged to */
	nv = nexus_of(s->tpg, s->acl);
	lk.op = op_class(cmd);
	{
		u64 d = now > s->ns ? now - s->ns : 0;
		struct lat_val *lv = get_or_init(&lat, &lk, &zero_lat);

		if (lv) {
			u64 k = slot_of(d);

			__sync_fetch_and_add(&lv->slots[k < NSLOTS ? k : NSLOTS - 1], 1);
			__sync_fetch_and_add(&lv->sum_ns, d);
		}
	}
	bpf_map_delete_elem(&starts, &key);
	if (nv)
		__sync_fetch_and_add(&nv->done, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
