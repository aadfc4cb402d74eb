"""Energy profiles: shipped files are cited and well formed; bad profiles fail clearly."""
import copy
import json
import math

import pytest

from neurocore.energy.profiles import UNITS, Profile, list_profiles, load_profile
from neurocore.errors import FileFormatError, ProfileError

SHIPPED = ["cpu-demo-mlp", "dense-45nm", "gpu-h100", "gpu-h100-roofline", "loihi", "loihi-sanafe", "truenorth", "truenorth-per-term"]


def minimal_chip(**entries):
    d = {"name": "mine", "kind": "chip", "scope": "all_in", "citations": ["my lab notebook p. 3"],
         "entries": {"synop": {"value": 10, "unit": "pJ", "source": "measured"},
                     "step_time": {"value": 1, "unit": "us", "source": "measured"}}}
    d["entries"].update(entries)
    return d


def test_list_profiles_ships_all():
    assert list_profiles() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profiles_are_cited(name):
    p = load_profile(name)
    assert p.name == name and p.citations and all(c.strip() for c in p.citations)
    for key, e in p.entries.items():
        assert e.source.strip(), key
        assert e.unit in UNITS
        if e.priced:
            assert e.value is not None and math.isfinite(e.value) and e.value >= 0
        else:
            assert e.si == 0.0


def test_anchor_numbers():
    lo = load_profile("loihi").entries
    assert (lo["synop"].value, lo["neuron_update_active"].value, lo["neuron_update_idle"].value) == (23.6, 81, 52)
    assert (lo["intra_tile_packet"].value, lo["hop_ew"].value, lo["hop_ns"].value) == (1.7, 3.0, 4.0)
    assert lo["barrier_sync"].unpublished and lo["static_power"].value == 0.104
    assert lo["barrier_sync_latency"].table == ((1, 113), (32, 465))
    assert load_profile("truenorth").scope == "all_in"
    assert load_profile("truenorth").entries["synop"].si == pytest.approx(26e-12, rel=1e-12)
    d = load_profile("dense-45nm").entries
    assert (d["mac_int8"].value, d["mac_fp32"].value, d["sram_1MB_read_64b"].value) == (0.23, 4.6, 100)
    g = load_profile("gpu-h100").entries
    assert g["power"].si == 700 and g["peak_ops_int8"].si == pytest.approx(1978.9e12, rel=1e-12)
    assert g["memory_bandwidth"].si == pytest.approx(3.35e12, rel=1e-12)


def test_profile_dict_round_trip(tmp_path):
    for name in SHIPPED:
        p = load_profile(name)
        assert load_profile(p.to_dict()) == p
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(p.to_dict()))
        assert load_profile(path) == p
        assert load_profile(str(path)) == p
    assert load_profile(p) is p


def test_user_dict_profile():
    p = load_profile(minimal_chip())
    assert isinstance(p, Profile) and p.entries["synop"].si == pytest.approx(10e-12, rel=1e-12)


def test_corrupt_json_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"name": "x", "kind": "chip",\n  "scope": }')
    with pytest.raises(FileFormatError, match=r"broken\.json.*line 2"):
        load_profile(path)


def test_missing_file_and_unknown_name(tmp_path):
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "nope.json")
    with pytest.raises(ProfileError, match="unknown energy profile 'loihi3'"):
        load_profile("loihi3")
    with pytest.raises(ProfileError, match="must be a name"):
        load_profile(3.5)


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d.pop("citations"), "citations"),
    (lambda d: d.update(scope="partial"), "scope"),
    (lambda d: d.update(kind="gpu"), "kind"),
    (lambda d: d.update(colour="red"), "unknown field"),
    (lambda d: d["entries"]["synop"].update(unit="furlong"), "entry 'synop'.*unit"),
    (lambda d: d["entries"]["synop"].pop("source"), "entry 'synop'.*source"),
    (lambda d: d["entries"]["synop"].update(value=-1), "entry 'synop'.*finite number >= 0"),
    (lambda d: d["entries"]["synop"].update(value=None), "entry 'synop'.*unpublished"),
    (lambda d: d["entries"]["synop"].update(value="23.6"), "entry 'synop'"),
    (lambda d: d["entries"]["synop"].update(included_in="ghost"), "included_in 'ghost'"),
    (lambda d: d["entries"]["synop"].update(table=[[2, 1], [1, 2]]), "table"),
    (lambda d: d["entries"]["synop"].update(extra=1), "entry 'synop'.*unknown field"),
])
def test_malformed_profiles_name_what_and_where(mutate, match):
    d = copy.deepcopy(minimal_chip())
    mutate(d)
    with pytest.raises(ProfileError, match=match):
        load_profile(d)


def test_malformed_dense_profile():
    d = load_profile("dense-45nm").to_dict()
    d["memory_levels"] = [["sram_8KB_read_64b", 8192], ["nowhere", None]]
    with pytest.raises(ProfileError, match="memory level 'nowhere'"):
        load_profile(d)
    d = load_profile("gpu-h100").to_dict()
    d["precision"] = "int3"
    with pytest.raises(ProfileError, match="precision"):
        load_profile(d)


def test_entry_lookup_names_profile_and_key():
    p = load_profile(minimal_chip())
    with pytest.raises(ProfileError, match=r"profile 'mine' has no entry 'hop_ns'"):
        p.entry("hop_ns")
