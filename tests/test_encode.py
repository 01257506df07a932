"""The fast encoder must produce exactly prometheus_client's bytes, in both formats."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.core import GaugeMetricFamily

from exporter.collector import Family
from exporter.encode import Encoder, reference_encode

label_value = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=0, max_value=2**64).map(float),
)


@st.composite
def families(draw: st.DrawFn) -> list[Family]:
    out = []
    for i in range(draw(st.integers(1, 4))):
        names = draw(
            st.lists(
                st.sampled_from(["pci", "host", "cpu", "a", "zz", "wwpn"]), unique=True, max_size=4
            )
        )
        kind = draw(st.sampled_from(["counter", "gauge"]))
        doc = draw(st.text(max_size=20))
        fam = Family(f"fctarget_test_{i}", doc, kind, names)
        for _ in range(draw(st.integers(0, 6))):
            fam.add([draw(label_value) for _ in names], draw(values))
        out.append(fam)
    return out


@settings(max_examples=300, deadline=None)
@given(families())
def test_fast_encoder_matches_prometheus_client(fams: list[Family]) -> None:
    enc = Encoder()
    for om in (False, True):
        expected = reference_encode(fams, om)
        assert enc.encode(fams, om) == expected
        # second pass uses the cached label strings
        assert enc.encode(fams, om) == expected


def test_known_rendering_and_escaping() -> None:
    fam = Family("fctarget_lun_read_bytes", 'Bytes "read"\nfrom \\ LUN', "counter", ["wwpn", "lun"])
    fam.add(["21:00:00:24:ff:31:4c:48", 'a"b\\c\nd'], 16 * 2**20)
    fam.add(["x", "1"], math.nan)
    text = Encoder().encode([fam]).decode()
    assert text == (
        '# HELP fctarget_lun_read_bytes_total Bytes "read"\\nfrom \\\\ LUN\n'
        "# TYPE fctarget_lun_read_bytes_total counter\n"
        'fctarget_lun_read_bytes_total{lun="a\\"b\\\\c\\nd",wwpn="21:00:00:24:ff:31:4c:48"}'
        " 1.6777216e+07\n"
        'fctarget_lun_read_bytes_total{lun="1",wwpn="x"} NaN\n'
    )
    om = Encoder().encode([fam], openmetrics=True).decode()
    assert om.startswith('# HELP fctarget_lun_read_bytes Bytes \\"read\\"')
    assert "# TYPE fctarget_lun_read_bytes counter\n" in om
    assert om.endswith("# EOF\n")


def test_generic_metrics_are_encoded_after_families() -> None:
    g = GaugeMetricFamily("process_x", "x", labels=["a"])
    g.add_metric(["1"], 2.0)
    fam = Family("fctarget_y", "y", "gauge", [])
    fam.add([], 3)
    body = Encoder().encode([fam, g], openmetrics=True)
    assert body == reference_encode([fam, g], True)


def test_cache_drops_vanished_series() -> None:
    enc = Encoder()
    fam = Family("fctarget_z", "z", "gauge", ["lun"])
    fam.add(["0"], 1)
    fam.add(["1"], 1)
    enc.encode([fam])
    fam2 = Family("fctarget_z", "z", "gauge", ["lun"])
    fam2.add(["1"], 5)
    assert enc.encode([fam2]).decode().splitlines()[2:] == ['fctarget_z{lun="1"} 5.0']
    assert list(enc._cache[("fctarget_z", ("lun",))]) == [("1",)]
