"""packaging/systemd/fctarget-exporter-sfp.conf: the drop-in that grants the sfp collector its
privileges verifies with the unit, raises the exposure score only by what it grants, and
docs/security.md states both scores."""

from __future__ import annotations

from pathlib import Path

from tests.test_packaging import DOC, UNIT, exposure, run, unit_settings

DROPIN = UNIT.parent / "systemd" / "fctarget-exporter-sfp.conf"


def install(tmp_path: Path, with_dropin: bool) -> Path:
    """The unit (ExecStart pointed at a stand-in) and, optionally, the drop-in beside it."""
    stub = tmp_path / "fctarget-exporter"
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    real = "ExecStart=/usr/bin/fctarget-exporter "
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(real, f"ExecStart={stub} "))
    if with_dropin:
        d = tmp_path / (UNIT.name + ".d")
        d.mkdir()
        (d / "sfp.conf").write_text(DROPIN.read_text().replace(real, f"ExecStart={stub} "))
    return unit


def test_dropin_verifies_and_grants_only_what_the_sfp_file_needs(tmp_path: Path) -> None:
    unit = install(tmp_path, with_dropin=True)
    r = run(["systemd-analyze", "verify", str(unit)], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == ""
    s = unit_settings(DROPIN.read_text())
    want = "CAP_SYSLOG CAP_SYS_ADMIN CAP_DAC_READ_SEARCH"
    assert s["AmbientCapabilities"] == ["", want]
    assert s["CapabilityBoundingSet"] == ["", want]
    assert s["ExecStart"][-1].endswith("$ARGS $FCTARGET_EXPORTER_SFP_ARGS")
    assert "--collector.sfp" not in UNIT.read_text()  # the shipped unit stays least-privilege


def test_exposure_scores_are_documented(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    default = exposure(install(tmp_path / "a", with_dropin=False))
    sfp = exposure(install(tmp_path / "b", with_dropin=True))
    assert sfp > default
    text = DOC.read_text()
    assert f"exposure score of **{default:.1f}**" in text
    assert f"with the SFP drop-in, **{sfp:.1f}**" in text
