"""Loaded definitions and norm tables are immutable all the way down, and their hashes never drift.

A library is shared by every session of the app: a definition that could be altered after loading would
keep its old content hash and compiled plan while scoring with the new content.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pydantic
import pytest

from scoring.definitions.library import Definition, Library, content_hash, load_definition, load_library
from scoring.definitions.schema import FrozenDict, Instrument, definition_json_schema
from scoring.norms.library import NormLibrary, load_norms

# The 1.0.0 content hashes of every shipped definition, computed on the tree before definitions became
# immutable (tuples and frozen mappings). They must never change without a version bump of the definition:
# stored scores are stamped with them.
HASHES_1_0_0 = {
    "aaq2@1.0.0": "b9429db9b078a29d76332bb977ff4c08552f324449eea6ed03b56c528afc3fb3",  # added with aaq2
    "ace@1.0.0": "bf3aa40bb39f269709755a5850a5aa91ddcf2118a6ca5502fa80a4fbb8f9463b",  # added with ace
    "aq10@1.0.0": "a4f27fda433d913bedc465cb548bb15064875d6bddcab9742630cdcf6558f7f2",  # added with aq10
    "asrs18@1.0.0": "40402fb0779eda5126071be8b03fe635af24f37e685d9ec3ed15c9c10bfac5ee",  # added with asrs18
    "asrs6@1.0.0": "63d6ddee308d63b8f15c0d543858c2323fb3ce2c28f4fc2e4878a100fc29f810",  # added with asrs6
    "audit@1.0.0": "e912260a383e83ecac0517b0870e9a3692e3e58950b24750603ffe4966be26b5",
    "audit_c@1.0.0": "3190dde0eeb49ced6fe9b798b9cc08430f1a0282eaac4dd48cc7f1b48a4da8cc",
    "brs@1.0.0": "47b751015845cfdec80773f103d1fd389a60e80e305260697989f1fd950eafad",  # added with brs
    "cesd@1.0.0": "44552d10288bb5df4d7324fb8706fbedcabbbe25852d73febb9f3edea37ce294",
    "core10@1.0.0": "b8406ba90c8e68fdfedd1c0b927005db7ba059099e26dd9330f266e6cf6889f8",
    "cssrs_screener@1.0.0": "b71eca64c9ccd9e83ef49f1f97e748b03f29955b86fe174e2acd16e3089da5a7",
    "cuditr@1.0.0": "8de0db9fd59a8937ee90c121682507d2a638f9817a882c91dfbe3c8ada568808",  # added with cuditr
    "dass21@1.0.0": "f018160d924fcee00a8f931ec55db49321b68220451524f224a013f60abb3601",
    "dass21@1.1.0": "114fb5dae79212b5322cb7569cf617a8acb6407bb1455aa089da873c3f52ca9e",  # issue 14
    "dast10@1.0.0": "a5502db96f644ef4431f12feb91a8cc22eafcb6d588c12cac001a3c8ba8c7fe4",
    "epds@1.0.0": "641cb9c92ea5e39e6c09d779c6c005ce2df10036a976b09ba39ea0cd3fb86351",
    "gad2@1.0.0": "5954f1ab7b2abaca2da2f1b5ce51d7164bf61f290abcdfcbd4807e7be06911b8",
    "gad7@1.0.0": "e44f1c2c27865d3e490cc85fc46c46d06a7f13267ffd9a3283d668fdc345a408",
    "gad7@1.1.0": "a102319ab8fa8742f17e0482efaddfcfd7bf9402c29b474bd1fdc955bb8a3c81",  # issue 14
    "gad7@1.2.0": "a1b450d47f20962af061be0782cce3843ce415786ede317a15dc43ccec18232e",  # issue 14: German translation
    "gds15@1.0.0": "fd4b3cd7f7b2b7b9f4827b4152955988ce52a9b952278b634e960fac8ec8ff3c",  # added with gds15
    "gse@1.0.0": "4d9f204b1543630e92612a68137ba7b02f010ffeefaea77a6dd1393358ab527f",  # added with gse
    "iesr@1.0.0": "1717222c77cdfcd120e26ab1ae070825fe3344391d8b6e742a2a24ee5909fb90",  # added with iesr
    "isi@1.0.0": "d421848faa5c7867fe26afc091897bc38e0420694dd73fadbb902c533e3cd266",
    "itq@1.0.0": "75c26e417b83e270ecceff832aee5307426c3d6b562f19cc406fc793cb01f336",  # added with itq
    "k10@1.0.0": "2739ed04583214b940662830f4b6d065547fd2e7575810ca31d91edb4c503a1d",
    "k10@1.1.0": "a0b487c6eb7b9a0cfa137e70c90bbfeacccf6445197fe00cfd5a533965b76651",  # issue 14
    "k6@1.0.0": "b80ef12e80eb78ad2237bb1754b9a25e7743ac1d0f40336b65e1ee3e6d9027ec",
    "mdq@1.0.0": "3ce211c735788ff87a3fa911784f3ebf89ec417c78a65fc13ed15f50c40f4020",  # added with mdq
    "mini_ipip@1.0.0": "44fcb73382fca6a402b40be6290d8f3b5b2ff4f3982a039253d0e125458a2c01",
    "mini_spin@1.0.0": "3f4ae3e6c3d973005dff67c7675ae0631434410ab387e2d05a7700eec45fc687",
    "ocir@1.0.0": "8562d0b3b54d647e6f8299957f0f8d9cd5dc18b284b32e3895850e6d09436c0e",  # added with ocir
    "pc_ptsd5@1.0.0": "89c0dc74e63e3e29fa02904e3d8807e9c2726f1bb04c1eb089ebe2370625c5a3",
    "pcl5@1.0.0": "817ff53d439f0c1561d6a5f926229ac0d0c9fee6dd8757ea680f09cf6d010015",
    "pcl5@2.0.0": "0928d852ce742b10a05c29f19861b472afb9845355f7fe0e44f05cc247969f1a",  # issue 14
    "phq15@1.0.0": "46f24a7a5591cd38b7ebbae66e5520a557e6d847acf879cc1917110368aeaad2",
    "phq2@1.0.0": "08352e5f67ab0937e0d1ecaca909e5dc11c4fce00c13e9accd97e28c8e4db276",
    "phq8@1.0.0": "575ec585ee5388965ba006b69876190d636b052b33e13644789cee233ff321bc",  # added with PHQ-8 (4fdf806)
    "phq4@1.0.0": "f47890f6362226d15a6f59242360b97344d5e930e89cb4ed509075819fa0a23d",  # added with PHQ-4
    "phqa@1.0.0": "1edd5fa5f0ae7607e386ac1c95fbce235179ea6eadf75e7cf53337bc9cee1c3b",  # added with phqa
    "phq9@1.0.0": "9ed11f02e07f9f4ad4321da3d7a887b3a4bde7682b3b932e719176f606f4a22f",
    "phq9@1.1.0": "bed64449a07b80b103baafef30471dd855df92190d0b93b1d797e6badeb99892",  # issue 14: German translation
    "pss4@1.0.0": "7ff4661de833f7c3ef21a9d3e042f94f0bed0e84a7101f9cd2b103564f817347",  # added with pss4
    "pss10@1.0.0": "9fcfe4246e9373a331a43a01ccff3c8bc256bdb16b2f3150b8bad35202f9b79d",
    "pswq@1.0.0": "1ed1423ba2b62f11e7686e43793d0ace3af3d4bf8ccdcae18409ea45901f1ef1",
    "rses@1.0.0": "a0c2c601e4c16cf9bdccb033774abed8cd8be7dc21938a0bc04648c23e1d9897",
    "scoff@1.0.0": "7edef9846aff6e6da7403e580d997518223c9a97dfba9ab6e5681f0fbecf1cb3",  # added with scoff
    "spin@1.0.0": "7f7c17be2d6682925fd3e6ac7fb88a3d876963e4970465bbab328b86f30705eb",  # added with spin
    "swemwbs@1.0.0": "6d266230177a7e8fa4cca64e5bb2d1be00a11250ee18087dbba4981d408709c5",
    "swls@1.0.0": "d7366ba8cad1058719269fbb9a639a3d1cc4340fb612ea97791a4fa93a04e981",
    "swls@1.1.0": "990768f69ffafa1c09e2a2faf4204284dc9700e8a00d365b5a3fd40b5029e79d",  # issue 14
    "ucla3@1.0.0": "0d0dea13785a0dd659d2f0c80bb8cfbacce04a1d7f603604941d73a5e2384f0a",
    "wemwbs@1.0.0": "94a6ac1a9e482a62463afe7dd21849109ab730814e2e598ea28dd7f49c53c09b",
    "who5@1.0.0": "42ee2439d76a7bf2aa616d38350f75a98d43f1c561615420b7d16d106b73c49f",
    "wsas@1.0.0": "e67b9de64b10ea4220bddfcd7b1ab15840c7c8c650392a684a2633098e0c65ee",  # added with wsas
}

# Hashes of the bundled norm tables (metadata + rows), computed on the same tree.
NORM_HASHES = {
    "core10_connell_barkham2007_uk_general":
        "4cf9cc2ca43661006cdb09a0f1ea37369966cccc02d3747ee992275b492741b8",
    "core10_connell_barkham2007_uk_primarycare":
        "e851b35295480f670d265e98ef2dedbb773f206c47743887b544119c25b22374",
    "gad7_kliem2025_de_sex": "3a22cc9064de743e5f9bc48b60faff3c3b4b83358c1d0d723e0b7bb248d0791d",
    "gad7_kliem2025_de_total": "8046b55b95ecce4279136cb0e1fb79dd1b229508ad755f698d56016cbcda8655",
    "gad7_lowe2008_de_sex": "a62faacb2121fd5f529dc4b5b521fa3328ea63cb861edb2f7577ba2d11995a94",
    "k10_lehmann2023_eu7": "67bf226651bab1c9abce5311ec4eda772c90791345fad84fe3f8b9610eb420c2",
    "k6_prbm2023_jp_web_panel": "05d3a48e47303c7a9434125802f7001ac7686735a8585599fd916a14631e922b",
    "phq15_kocalevent2013_de_sex": "84983bb41604c1c997fde591bf3c53462c2c971d165b4b163fa2c6e953eb851a",
    "phq9_kliem2024_de_sex": "c560267ab570b84615e24bca9a5d6acc2166fd28855fe538b74bdaa8cc63501e",
    "phq9_kliem2024_de_total": "f3c44733e0db2784885ae8b72d2146ec3cd7b794112bbebfd451a1b9b7c58377",
    "phq9_kocalevent2013_de_age": "8448b55a3fe0781dcd90d1e3ca996e63e1dc33fb68093442e268a9de00cd69d7",
    "phq9_kocalevent2013_de_sex": "804ca047684d3c31bf86a4006b464b0149b928313ca17c565eb60b534e8b1a29",
    "isi_gerber2016_adolescents": "568f361e96817c7552e17017f3606e41271b6fe05118dbc1353163c67c028438",
    "pcl5_ashbaugh2016_ca_students": "58f7ae7807f8703c36825d49cc8b19e5856e8850980d92625042547c8a944e73",
    "pcl5_bovin2016_us_veterans": "d664270384086cf63fe5b466a0155b5d6e6bd0f5b27020b5f76bed6af6026778",
    "pss10_cohen_janickideverts2012_us2009_age":
        "bf915e73e2357c00df8b37ee88a61a27aac3adeec61eb3884f055f0b0fb99b06",
    "pss10_cohen_janickideverts2012_us2009_sex":
        "a947355eb3e8528aacf05ac770ca1e822d7496635121a2c02c4ef3c82f711d8f",
    "pss10_cohen_williamson1988_us1983_sex":
        "f03f9718d895a40868969fbfa3f23022ccc9443b7a0d9b4c88524a55c616801a",
    "swemwbs_peitz2024_de_total": "fb04df13640b4d843dc19cd2ea77abb18bae021489845d6dae9d02ddd13a5d20",
    "wemwbs_clarke2011_uk_teen": "d25cd12cb7e61843fc3296a30e0c7ce16b6541b0dc0e1a75bd6b484b46aabb54",
}


@pytest.fixture(scope="module")
def lib() -> Library:
    return load_library()


@pytest.fixture(scope="module")
def norms(lib: Library) -> NormLibrary:
    return load_norms(library=lib)


def test_every_shipped_definition_keeps_its_1_0_0_hash(lib: Library) -> None:
    got = {f"{i}@{v}": d.hash for (i, v), d in lib.definitions.items()}
    assert got == HASHES_1_0_0


def test_every_bundled_norm_table_keeps_its_hash(norms: NormLibrary) -> None:
    assert {t.id: t.hash for t in norms.tables.values()} == NORM_HASHES


def test_hash_is_recomputed_from_content_not_cached_from_a_mutable_copy(lib: Library) -> None:
    d = lib["phq9"]
    assert Definition(d.instrument).hash == d.hash


# --- mutating a loaded definition raises, at every level --------------------------------------------------

#: (what, mutation) on lib["phq9"]'s instrument ``i`` (and pcl5/pc_ptsd5/phq15 where phq9 lacks the part)
Mutation = Callable[[Library], Any]
MUTATIONS: list[tuple[str, Mutation]] = [
    ("items.pop", lambda lib: lib["phq9"].instrument.items.pop()),  # type: ignore[attr-defined]
    ("items.append", lambda lib: lib["phq9"].instrument.items.append(None)),  # type: ignore[attr-defined]
    ("items[0] =", lambda lib: lib["phq9"].instrument.items.__setitem__(0, None)),  # type: ignore[attr-defined]
    ("item field", lambda lib: setattr(lib["phq9"].instrument.items[0], "reverse", True)),
    ("instrument field", lambda lib: setattr(lib["phq9"].instrument, "version", "9.9.9")),
    ("option_sets.append", lambda lib: lib["phq9"].instrument.option_sets.append(None)),  # type: ignore[attr-defined]
    ("options.pop", lambda lib: lib["phq9"].instrument.option_sets[0].options.pop()),  # type: ignore[attr-defined]
    ("option value", lambda lib: setattr(lib["phq9"].instrument.option_sets[0].options[0], "value", 7)),
    ("scales.pop", lambda lib: lib["phq9"].instrument.scales.pop()),  # type: ignore[attr-defined]
    ("scale items.append", lambda lib: lib["phq9"].instrument.scales[0].items.append("x")),  # type: ignore[attr-defined]
    ("scale weights[...] =", lambda lib: lib["phq9"].instrument.scales[0].weights.__setitem__("phq9_1", 2)),  # type: ignore[attr-defined]
    ("bands ranges.pop", lambda lib: lib["phq9"].instrument.scales[0].bands.ranges.pop()),  # type: ignore[union-attr]
    ("band min", lambda lib: setattr(lib["phq9"].instrument.scales[0].bands.ranges[0], "min", 3)),  # type: ignore[union-attr]
    ("cutoffs.append", lambda lib: lib["phq9"].instrument.scales[0].cutoffs.append(None)),  # type: ignore[attr-defined]
    ("translations[...] =", lambda lib: lib["phq9"].instrument.translations.__setitem__("xx", None)),  # type: ignore[attr-defined]
    ("translations.pop", lambda lib: lib["phq9"].instrument.translations.pop("de")),  # type: ignore[attr-defined]
    ("translation items[...] =",
     lambda lib: next(iter(lib["phq9"].instrument.translations.values())).items.__setitem__("phq9_1", "x")),
    ("translation option_sets inner",
     lambda lib: next(iter(next(iter(lib["phq9"].instrument.translations.values())).option_sets.values()))
     .__setitem__(0, "x")),
    ("FrozenDict internals", lambda lib: setattr(lib["phq9"].instrument.translations, "_data", {})),
    ("gate op", lambda lib: setattr(_gated(lib).shown_if, "op", "<")),
    ("gate value", lambda lib: setattr(_gated(lib).shown_if, "value", 9)),
    ("applies_if value list", lambda lib: _applies(lib).applies_if.value.append("male")),
    ("change parameters", lambda lib: setattr(lib["phq9"].instrument.scales[0].change, "sd", None)),
    ("change reliability value", lambda lib: setattr(lib["phq9"].instrument.scales[0].change.reliability,  # type: ignore[union-attr]
                                                     "value", 0.1)),
    ("critical_items.pop", lambda lib: lib["phq9"].instrument.critical_items.pop()),  # type: ignore[attr-defined]
    ("flags conditions", lambda lib: lib["pcl5"].instrument.flags[0].all_of.append(None)),  # type: ignore[union-attr]
    ("citations.append", lambda lib: lib["phq9"].instrument.citations.append("x")),  # type: ignore[attr-defined]
    ("transform table", lambda lib: _transformed(lib).transform.table.__setitem__(0, 99)),
    ("count_if per_item", lambda lib: _counted(lib).count_if.per_item.__setitem__("x", 1)),
    ("Definition wrapper", lambda lib: setattr(lib["phq9"], "definition", None)),
]


def _gated(lib: Library) -> Any:
    return next(i for d in lib.values() for i in d.instrument.items if i.shown_if is not None)


def _applies(lib: Library) -> Any:
    return next(i for d in lib.values() for i in d.instrument.items
                if i.applies_if is not None and isinstance(i.applies_if.value, tuple))


def _transformed(lib: Library) -> Any:
    return next(s for d in lib.values() for s in d.instrument.scales if s.transform is not None)


def _counted(lib: Library) -> Any:
    return next(s for d in lib.values() for s in d.instrument.scales if s.count_if is not None)


@pytest.mark.parametrize(("what", "mutate"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_mutating_a_loaded_definition_raises(lib: Library, what: str, mutate: Mutation) -> None:
    before = {k: d.hash for k, d in lib.definitions.items()}
    dumps = {k: d.instrument.model_dump(mode="json") for k, d in lib.definitions.items()}
    with pytest.raises((TypeError, AttributeError, pydantic.ValidationError, dataclasses.FrozenInstanceError)):
        mutate(lib)
    # nothing changed: the content, hence the hash, is what was loaded
    assert {k: d.instrument.model_dump(mode="json") for k, d in lib.definitions.items()} == dumps
    assert {k: content_hash(d.instrument) for k, d in lib.definitions.items()} == before


def test_the_parts_the_mutations_reach_exist(lib: Library) -> None:
    """Guard the list above: each part it mutates is present in the bundled library."""
    phq9 = lib["phq9"].instrument
    assert phq9.translations and phq9.critical_items and phq9.scales[0].bands and phq9.scales[0].change
    assert phq9.scales[0].change.reliability is not None
    assert _gated(lib) and _applies(lib) and _transformed(lib) and _counted(lib) and lib["pcl5"].instrument.flags
    assert next(iter(phq9.translations.values())).option_sets


def test_every_collection_in_every_definition_is_immutable(lib: Library) -> None:
    """Walk every shipped definition: no list, dict or set anywhere, only tuples and FrozenDicts."""
    def walk(node: object, path: str) -> None:
        assert not isinstance(node, (list, dict, set)), f"{path} is a mutable {type(node).__name__}"
        if isinstance(node, pydantic.BaseModel):
            for name in type(node).model_fields:
                walk(getattr(node, name), f"{path}.{name}")
        elif isinstance(node, tuple):
            for k, v in enumerate(node):
                walk(v, f"{path}[{k}]")
        elif isinstance(node, FrozenDict):
            for k, v in node.items():
                walk(v, f"{path}[{k!r}]")

    for (iid, version), d in lib.definitions.items():
        walk(d.instrument, f"{iid}@{version}")


def test_plan_arrays_are_read_only_and_its_rules_frozen(lib: Library) -> None:
    for d in lib.values():
        plan = d.plan
        arrays = [*plan.allowed, plan.lo, plan.hi, plan.integer_codes, plan.reverse, plan.scored, plan.keys]
        for sp in plan.scales:
            arrays += [a for a in (sp.index, sp.weights, sp.count_thresholds, sp.transform_keys,
                                   sp.transform_values, sp.band_mins, sp.reason_lut) if a is not None]
        for array in arrays:
            assert not array.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            plan.keys[0, 0] = 5.0
        with pytest.raises(dataclasses.FrozenInstanceError):
            plan.scales[0].method = "max"  # type: ignore[misc]
    pc = lib["pc_ptsd5"].plan
    assert pc.gates
    with pytest.raises(dataclasses.FrozenInstanceError):
        pc.gates[0].value = 0.0  # type: ignore[misc]


def test_mutating_a_norm_table_raises(norms: NormLibrary) -> None:
    table = next(iter(norms.tables.values()))
    before = table.hash
    for mutate in (
        lambda: table.meta.strata.append(None),  # type: ignore[attr-defined]
        lambda: table.meta.versions.pop(),  # type: ignore[attr-defined]
        lambda: table.meta.caveats.append("x"),  # type: ignore[attr-defined]
        lambda: setattr(table.meta.strata[0], "sex", "male"),
        lambda: setattr(table.meta, "scale", "x"),
        lambda: setattr(table, "rows", ()),
        lambda: setattr(table.rows[0], "value", 1.0),
        lambda: table.rows.append(None),  # type: ignore[attr-defined]
    ):
        with pytest.raises((TypeError, AttributeError, pydantic.ValidationError, dataclasses.FrozenInstanceError)):
            mutate()
    assert json.dumps(table.meta.model_dump(mode="json"), sort_keys=True)
    assert table.hash == before


def test_json_dump_schema_copy_and_pickle_behave_as_before(lib: Library) -> None:
    ins = lib["phq9"].instrument
    dumped = ins.model_dump(mode="json")
    assert isinstance(dumped["items"], list) and isinstance(dumped["translations"], dict)
    again = Instrument.model_validate(dumped)
    assert again == ins and content_hash(again) == lib["phq9"].hash
    assert pickle.loads(pickle.dumps(ins)) == ins
    assert copy.deepcopy(ins) == ins
    hash(ins)  # frozen all the way down, so hashable
    schema = definition_json_schema()
    assert schema["properties"]["items"]["type"] == "array"
    assert schema["properties"]["items"]["minItems"] == 1
    assert schema["properties"]["translations"]["type"] == "object"


def test_committed_json_schema_is_the_models_schema() -> None:
    committed = json.loads((Path(__file__).parents[2] / "instruments" / "schema.json").read_text(encoding="utf-8"))
    assert committed == definition_json_schema()


def test_frozen_dict_is_read_only_and_compares_like_a_dict() -> None:
    d: FrozenDict[str, int] = FrozenDict({"a": 1})
    assert d == {"a": 1} and d == FrozenDict([("a", 1)]) and d != {"a": 2}
    assert dict(d) == {"a": 1} and len(d) == 1 and "a" in d and list(d) == ["a"]
    assert hash(d) == hash(FrozenDict({"a": 1}))
    for mutate in (lambda: d.__setitem__("b", 2), lambda: d.pop("a"), lambda: d.update({}),  # type: ignore[attr-defined]
                   lambda: d.clear(), lambda: setattr(d, "_data", {})):  # type: ignore[attr-defined]
        with pytest.raises((TypeError, AttributeError)):
            mutate()
    assert d == {"a": 1}


def test_validation_messages_still_speak_of_lists(tmp_path: Path) -> None:
    """Tuples are validated as lists: a YAML author never reads 'tuple'."""
    good = (Path(__file__).parents[1] / "fixtures" / "definitions" / "good" / "demo_scale.yaml").read_text(
        encoding="utf-8")
    path = tmp_path / "demo_scale.yaml"
    path.write_text(good.replace("citations: [\"Test fixture\"]", "citations: []"), encoding="utf-8")
    definition, issues = load_definition(path)
    assert definition is None
    text = " ".join(str(i) for i in issues)
    assert "citations" in text and "tuple" not in text.lower()


def test_plan_values_are_numbers_where_compared_numerically(lib: Library) -> None:
    for d in lib.values():
        for gate in d.plan.gates:
            values = gate.value if isinstance(gate.value, tuple) else (gate.value,)
            assert all(type(v) is float for v in values)
        for rule in d.plan.applicability:
            assert rule.respondent != "sex" or rule.target in ("female", "male", ("female",), ("male",),
                                                               ("female", "male"))
        assert isinstance(d.plan.keys, np.ndarray)


def test_norm_lookup_arrays_are_read_only(norms: NormLibrary) -> None:
    for table in norms.tables.values():
        c = table.compiled
        for array in (c.values, c.implied, c.mean, c.sd):
            assert not array.flags.writeable
