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
