#!/bin/sh
# The real-kernel scenario (runs in the guest as root, one boot). Configures LIO with the real
# targetcli, runs the exporter itself against the real /sys/kernel/config and /dev/kmsg around
# known I/O, and leaves everything the host-side tests check in /xchg/out.
O=/xchg/out
mkdir -p $O
up() { cut -d' ' -f1 /proc/uptime; }
step() { echo "[$(up)] $*" | tee -a $O/steps.log; }
fail() { echo "!! $*" | tee -a $O/steps.log; FAIL=1; }
FAIL=0
# A copy of the package everyone can read: the checkout shared as /src may be mode 0700 (a
# mktemp -d clone), which the unprivileged runs below could not enter.
mkdir -p /opt/fctarget-exporter && cp -r /src/exporter /opt/fctarget-exporter/
chmod -R a+rX /opt/fctarget-exporter
export PYTHONPATH=/opt/fctarget-exporter:/site PYTHONDONTWRITEBYTECODE=1
EXP="/usr/bin/python3 -m exporter"
ONCE="$EXP --once --collector.disable-defaults --collector.lio --collector.kmsg"
scrape() {   # $1: output name
    /usr/bin/python3 - "$1" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen("http://127.0.0.1:19181/metrics", timeout=60).read()
open(f"/xchg/out/{sys.argv[1]}", "wb").write(body)
PY
}
find_disk() {   # $1: glob on the resolved /sys/block/sdX path; waits up to 20 s
    i=0
    while [ $i -lt 200 ]; do
        for b in /sys/block/sd*; do
            [ -e "$b" ] || continue
            case "$(readlink -f "$b")" in $1) echo "/dev/${b##*/}"; return 0;; esac
        done
        sleep 0.1; i=$((i+1))
    done
    return 1
}
dump() { /usr/bin/python3 /xchg/dump_configfs.py /sys/kernel/config/target > $O/$1; }

step "begin $(uname -r)"
# brd is loaded at boot with Debian's defaults (16 RAM disks of CONFIG_BLK_DEV_RAM_SIZE)
modprobe brd || fail "modprobe brd"
cat /sys/block/ram0/size > $O/ram0.sectors
LWWN=naa.50014050000000a1
TIQN=iqn.2003-01.org.linux-iscsi.lab:tgt0
IIQN=iqn.1994-05.com.example:lab-init
cat > /tmp/tc.cmds <<TC
set global auto_save_on_exit=false
set global auto_add_default_portal=false
/backstores/fileio create disk0 /tmp/disk0.img 64M
/backstores/ramdisk create rd0 32M
/backstores/block create blk0 /dev/ram0
/backstores/fileio create disk1 /tmp/disk1.img 16M
/loopback create $LWWN
/loopback/$LWWN/luns create /backstores/fileio/disk0
/loopback/$LWWN/luns create /backstores/ramdisk/rd0
/loopback/$LWWN/luns create /backstores/fileio/disk1
/iscsi create $TIQN
/iscsi/$TIQN/tpg1/portals create 127.0.0.1 3260
/iscsi/$TIQN/tpg1/luns create /backstores/block/blk0
/iscsi/$TIQN/tpg1/acls create $IIQN
TC
step "targetcli batch"
targetcli < /tmp/tc.cmds > $O/targetcli.txt 2>&1 || fail "targetcli"
for d in "core/fileio_*/disk0" "core/rd_mcp_*/rd0" "core/iblock_*/blk0" \
         "loopback/$LWWN/tpgt_1/lun/lun_2" "iscsi/$TIQN/tpgt_1/acls/$IIQN/lun_0"; do
    ls -d /sys/kernel/config/target/$d >/dev/null 2>&1 || fail "missing configfs object $d"
done
LDISK0=$(find_disk '*tcm_loop*:0:1:0/block/sd*') || fail "no tcm_loop LUN 0"
LDISK1=$(find_disk '*tcm_loop*:0:1:1/block/sd*') || fail "no tcm_loop LUN 1"
step "iSCSI login"
echo "InitiatorName=$IIQN" > /etc/iscsi/initiatorname.iscsi
mkdir -p /run/lock/iscsi
iscsid || fail "iscsid"
sleep 1
timeout 60 iscsiadm -m discovery -t sendtargets -p 127.0.0.1:3260 > $O/iscsi.txt 2>&1
timeout 60 iscsiadm -m node -T $TIQN -p 127.0.0.1:3260 --login >> $O/iscsi.txt 2>&1 \
    || fail "iscsi login"
IDISK=$(find_disk '*/session*/target*/block/sd*') || fail "no iSCSI disk"
echo "LDISK0=$LDISK0 LDISK1=$LDISK1 IDISK=$IDISK" >> $O/steps.log
# What the initiator side sees as each disk's identity (VPD page 0x83, as udev's wwid)
for d in $LDISK0 $LDISK1 $IDISK; do
    echo "${d#/dev/} $(cat /sys/block/${d#/dev/}/device/wwid)" >> $O/wwid.txt
done
# One small read per disk consumes pending Unit Attentions, so the I/O deltas below are exact.
for d in $LDISK0 $LDISK1 $IDISK; do dd if=$d of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null; done

# The scsi_latency collector (eBPF, root) starts now: its Python start-up under TCG overlaps
# the steps below; its checks come after the unprivileged runs (which compare their counters
# with root's "after I/O" and so must see no I/O in between).
LT0=$(up)
$EXP --collector.disable-defaults --collector.scsi_latency --collector.scsi_latency.initiator-label     --web.listen-address=127.0.0.1:19182 > $O/lat-http.out 2> $O/lat-http.err &
LPID=$!

step "before I/O: exporter --once and configfs dump"
$ONCE > $O/once-before.prom 2> $O/once-before.err; echo $? > $O/once-before.rc
dump configfs-before.txt

step "I/O"
dd if=/dev/urandom of=/tmp/pattern bs=1M count=8 2>/dev/null
ddio() {   # device write_MiB read_MiB
    dd if=/tmp/pattern of=$1 bs=1M count=$2 oflag=direct conv=fsync 2>/dev/null || fail "dd w $1"
    dd if=$1 of=/dev/null bs=1M count=$3 iflag=direct 2>/dev/null || fail "dd r $1"
}
ddio $LDISK0 8 16
ddio $LDISK1 4 4
ddio $IDISK 8 16

step "after I/O: exporter --once (root), configfs dump"
$ONCE > $O/once-after.prom 2> $O/once-after.err; echo $? > $O/once-after.rc
dump configfs-after.txt

step "unprivileged exporter (uid 65534), dmesg_restrict=0 and =1"
cat /proc/sys/kernel/dmesg_restrict > $O/dmesg_restrict.default
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all"
echo 0 > /proc/sys/kernel/dmesg_restrict
$NOBODY $ONCE > $O/nobody-open.prom 2> $O/nobody-open.err; echo $? > $O/nobody-open.rc
echo 1 > /proc/sys/kernel/dmesg_restrict
$NOBODY $ONCE > $O/nobody-restricted.prom 2> $O/nobody-restricted.err
echo $? > $O/nobody-restricted.rc
# CAP_SYSLOG alone (what the systemd unit grants) is enough for the restricted log.
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all,+syslog \
    --ambient-caps=+syslog $ONCE > $O/nobody-syslog.prom 2> $O/nobody-syslog.err
echo $? > $O/nobody-syslog.rc

step "scsi_latency: eBPF collector as root"
lscrape() {   # $1: output name; waits (one process, <= 60 s) until the tracer is up
    /usr/bin/python3 - "$1" <<'PY'
import sys, time, urllib.request
for _ in range(240):
    try:
        body = urllib.request.urlopen("http://127.0.0.1:19182/metrics", timeout=60).read()
    except OSError:
        body = b""
    if b"\nfctarget_scsi_tracer_up 1" in body:
        break
    time.sleep(0.25)
open(f"/xchg/out/{sys.argv[1]}", "wb").write(body)
PY
}
lscrape lat-0.prom
echo "$LT0 $(up)" > $O/lat-startup.txt
echo 1 > /proc/sys/kernel/bpf_stats_enabled
# window 1: known dd I/O on every LUN, configfs counters and the histograms around it
dump configfs-lat-1.txt
lscrape lat-1.prom
echo "$(up)" > $O/lat-io.txt
ddio $LDISK0 8 8
ddio $LDISK1 4 4
ddio $IDISK 8 8
echo "$(up)" >> $O/lat-io.txt
lscrape lat-2.prom
dump configfs-lat-2.txt
bpftool -j prog show > $O/lat-progs-stats.json 2>&1
echo 0 > /proc/sys/kernel/bpf_stats_enabled
# window 2: a READ(10) past the end of loopback LUN 0 (64 MiB): CHECK CONDITION, ILLEGAL REQUEST
sg_raw -r 512 $LDISK0 28 00 ff ff ff 00 00 00 01 00 > $O/lat-sgraw.txt 2>&1
echo $? > $O/lat-sgraw.rc
# A second initiator on disk0: another loopback target (its own I_T nexus) with a LUN on it,
# made in configfs directly (targetcli's start-up costs seconds under TCG).
L2=/sys/kernel/config/target/loopback/naa.50014050000000b2/tpgt_1
ls /sys/block > /tmp/disks-before
# (tcm_loop scans a LUN when it is linked: the I_T nexus must exist first)
mkdir -p $L2 && echo naa.50014050000000c3 > $L2/nexus && mkdir $L2/lun/lun_0 \
    && ln -s $(ls -d /sys/kernel/config/target/core/fileio_*/disk0) $L2/lun/lun_0/lat0 \
    || fail "second loopback"
LDISK2=
i=0
while [ -z "$LDISK2" ] && [ $i -lt 200 ]; do   # the disk that was not there before, <= 20 s
    LDISK2=$(ls /sys/block | grep '^sd' | grep -vxF -f /tmp/disks-before | head -1)
    [ -z "$LDISK2" ] && sleep 0.1; i=$((i+1))
done
[ -n "$LDISK2" ] || fail "no disk behind the second loopback target"
LDISK2=/dev/$LDISK2
echo "LDISK2=$LDISK2" >> $O/steps.log
dd if=$LDISK2 of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null   # pending Unit Attentions
# Initiator 1 (the first loopback nexus) registers and holds WRITE EXCLUSIVE; initiator 2
# writes one block. LIO rewrites its APTPL file on every registration: it needs db_root/pr.
mkdir -p "$(cat /sys/kernel/config/target/dbroot)/pr"
sg_persist --out --register --param-sark=0x1 $LDISK0 > $O/lat-pr.txt 2>&1 || fail "PR register"
sg_persist --out --reserve --param-rk=0x1 --prout-type=1 $LDISK0 >> $O/lat-pr.txt 2>&1 \
    || fail "PR reserve"
sg_raw -s 512 -i /tmp/pattern $LDISK2 2a 00 00 00 00 00 00 00 01 00 > $O/lat-conflict.txt 2>&1
echo $? > $O/lat-conflict.rc
sg_persist --out --clear --param-rk=0x1 $LDISK0 >> $O/lat-pr.txt 2>&1 || fail "PR clear"
lscrape lat-3.prom
for m in tpgs inis lat status nexus starts; do
    bpftool -j map dump name $m > $O/lat-map-$m.json 2>&1
done
bpftool prog list > $O/lat-progs-before-term.txt 2>&1
kill -TERM $LPID; wait $LPID; echo $? > $O/lat-http.rc
bpftool prog list > $O/lat-progs-after-term.txt 2>&1
rm $L2/lun/lun_0/lat0 && rmdir $L2/lun/lun_0 && echo NULL > $L2/nexus && rmdir $L2 \
    && rmdir ${L2%/tpgt_1} || fail "remove the second loopback target"
step "scsi_latency: as uid 65534"
setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
    $EXP --once --collector.disable-defaults --collector.scsi_latency \
    > $O/lat-nobody.prom 2> $O/lat-nobody.err
echo $? > $O/lat-nobody.rc
echo "$(up)" > $O/lat-end.txt

step "HTTP exporter"
echo on > /proc/sys/kernel/printk_devkmsg   # no rate limit on writes from user space
$EXP --web.listen-address=127.0.0.1:19181 --collector.fc_host.stats-min-interval=0 \
    > $O/http.out 2> $O/http.err &
EPID=$!
i=0
until scrape http-1.prom 2>/dev/null; do
    i=$((i+1)); [ $i -gt 120 ] && { fail "HTTP exporter did not come up"; break; }
    sleep 0.5
done
step "user-space qla2xxx lines"
echo 'qla2xxx [0000:02:00.0]-500b:3: LOOP DOWN detected (2 7 0 0).' > /dev/kmsg
echo '<4>qla2xxx [0000:02:00.0]-500a:3: LOOP UP detected (8 Gbps).' > /dev/kmsg
scrape http-2.prom
$ONCE --collector.kmsg.accept-user-records > $O/once-accept.prom 2> $O/once-accept.err
echo $? > $O/once-accept.rc

step "iSCSI logout"
timeout 60 iscsiadm -m node -T $TIQN -p 127.0.0.1:3260 --logout >> $O/iscsi.txt 2>&1 \
    || fail "iscsi logout"
sleep 1
scrape http-3.prom
dump configfs-logout.txt

step "remove loopback LUN 2 while the exporter runs"
echo "/loopback/$LWWN/luns delete lun2" | targetcli > $O/targetcli-delete.txt 2>&1
[ -e /sys/kernel/config/target/loopback/$LWWN/tpgt_1/lun/lun_2 ] && fail "lun_2 still there"
scrape http-4.prom

step "ALUA: a Standby target port group and an offline LUN port"
AWWN=naa.5001405000000aa1
{
    echo "/backstores/fileio create alua0 /tmp/alua0.img 16M write_back=true"
    echo "/loopback create $AWWN"
    echo "/loopback/$AWWN/luns create /backstores/fileio/alua0"
    echo "/backstores/fileio/alua0/alua create ha_b 5"
    echo "/backstores/fileio/alua0/alua/ha_b set alua alua_access_state=2"
    echo "/loopback/$AWWN/luns/lun0 set alua alua_tg_pt_gp_name=ha_b"
} | targetcli > $O/targetcli-alua.txt 2>&1 || fail "targetcli alua"
echo 1 > /sys/kernel/config/target/loopback/$AWWN/tpgt_1/lun/lun_0/alua_tg_pt_offline \
    || fail "alua_tg_pt_offline"
scrape http-alua.prom
dump configfs-alua.txt

step "ring-buffer overrun while the follower is stopped"
kill -STOP $EPID
/usr/bin/python3 /xchg/kmsg_flood.py 20000 || fail "kmsg flood"
kill -CONT $EPID
sleep 3
scrape http-5.prom
kill $EPID; wait $EPID; echo $? > $O/http.rc
step "done FAIL=$FAIL"
exit $FAIL
