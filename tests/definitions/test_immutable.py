"""Loaded definitions and norm tables are immutable all the way down, and their hashes never drift.

A library is shared by every session of the app: a definition that could be altered after loading would
keep its old content hash and compiled plan while scoring with the new content.
"""

from __future__ import annotations

import pytest

from scoring.definitions.library import Definition, Library, load_library
from scoring.norms.library import NormLibrary, load_norms

# The 1.0.0 content hashes of every shipped definition, computed on the tree before definitions became
# immutable (tuples and frozen mappings). They must never change without a version bump of the definition:
# stored scores are stamped with them.
HASHES_1_0_0 = {
    "audit@1.0.0": "e912260a383e83ecac0517b0870e9a3692e3e58950b24750603ffe4966be26b5",
    "audit_c@1.0.0": "3190dde0eeb49ced6fe9b798b9cc08430f1a0282eaac4dd48cc7f1b48a4da8cc",
    "cesd@1.0.0": "44552d10288bb5df4d7324fb8706fbedcabbbe25852d73febb9f3edea37ce294",
    "core10@1.0.0": "b8406ba90c8e68fdfedd1c0b927005db7ba059099e26dd9330f266e6cf6889f8",
    "cssrs_screener@1.0.0": "b71eca64c9ccd9e83ef49f1f97e748b03f29955b86fe174e2acd16e3089da5a7",
    "dass21@1.0.0": "f018160d924fcee00a8f931ec55db49321b68220451524f224a013f60abb3601",
    "dast10@1.0.0": "a5502db96f644ef4431f12feb91a8cc22eafcb6d588c12cac001a3c8ba8c7fe4",
    "epds@1.0.0": "641cb9c92ea5e39e6c09d779c6c005ce2df10036a976b09ba39ea0cd3fb86351",
    "gad2@1.0.0": "5954f1ab7b2abaca2da2f1b5ce51d7164bf61f290abcdfcbd4807e7be06911b8",
    "gad7@1.0.0": "e44f1c2c27865d3e490cc85fc46c46d06a7f13267ffd9a3283d668fdc345a408",
    "isi@1.0.0": "d421848faa5c7867fe26afc091897bc38e0420694dd73fadbb902c533e3cd266",
    "k10@1.0.0": "2739ed04583214b940662830f4b6d065547fd2e7575810ca31d91edb4c503a1d",
    "k6@1.0.0": "b80ef12e80eb78ad2237bb1754b9a25e7743ac1d0f40336b65e1ee3e6d9027ec",
    "mini_ipip@1.0.0": "44fcb73382fca6a402b40be6290d8f3b5b2ff4f3982a039253d0e125458a2c01",
    "mini_spin@1.0.0": "3f4ae3e6c3d973005dff67c7675ae0631434410ab387e2d05a7700eec45fc687",
    "pc_ptsd5@1.0.0": "89c0dc74e63e3e29fa02904e3d8807e9c2726f1bb04c1eb089ebe2370625c5a3",
    "pcl5@1.0.0": "817ff53d439f0c1561d6a5f926229ac0d0c9fee6dd8757ea680f09cf6d010015",
    "phq15@1.0.0": "46f24a7a5591cd38b7ebbae66e5520a557e6d847acf879cc1917110368aeaad2",
    "phq2@1.0.0": "08352e5f67ab0937e0d1ecaca909e5dc11c4fce00c13e9accd97e28c8e4db276",
    "phq9@1.0.0": "9ed11f02e07f9f4ad4321da3d7a887b3a4bde7682b3b932e719176f606f4a22f",
    "pss10@1.0.0": "9fcfe4246e9373a331a43a01ccff3c8bc256bdb16b2f3150b8bad35202f9b79d",
    "pswq@1.0.0": "1ed1423ba2b62f11e7686e43793d0ace3af3d4bf8ccdcae18409ea45901f1ef1",
    "rses@1.0.0": "a0c2c601e4c16cf9bdccb033774abed8cd8be7dc21938a0bc04648c23e1d9897",
    "swemwbs@1.0.0": "6d266230177a7e8fa4cca64e5bb2d1be00a11250ee18087dbba4981d408709c5",
    "swls@1.0.0": "d7366ba8cad1058719269fbb9a639a3d1cc4340fb612ea97791a4fa93a04e981",
    "ucla3@1.0.0": "0d0dea13785a0dd659d2f0c80bb8cfbacce04a1d7f603604941d73a5e2384f0a",
    "wemwbs@1.0.0": "94a6ac1a9e482a62463afe7dd21849109ab730814e2e598ea28dd7f49c53c09b",
    "who5@1.0.0": "42ee2439d76a7bf2aa616d38350f75a98d43f1c561615420b7d16d106b73c49f",
}

# Hashes of the bundled norm tables (metadata + rows), computed on the same tree.
NORM_HASHES = {
    "core10_connell_barkham2007_uk_general":
        "4cf9cc2ca43661006cdb09a0f1ea37369966cccc02d3747ee992275b492741b8",
    "core10_connell_barkham2007_uk_primarycare":
        "e851b35295480f670d265e98ef2dedbb773f206c47743887b544119c25b22374",
    "gad7_kliem2025_de_sex": "429fdd3fa3de866669e270aeaa4ba6b53535acc8330b0ec9d008ae7ad0728b82",
    "gad7_kliem2025_de_total": "41be2a2cae6345d516fb7a58b110a7b313933ef7efb1f6641a2b8a04c6981488",
    "gad7_lowe2008_de_sex": "3e81fb6490ba0c3c430104b53f3ce096a585054fe8f1cf2508ac04c696f7a375",
    "k10_lehmann2023_eu7": "3980be518b98a1195ddfa4b9de8ac68ea03b642910a05e2145a33aab61cade05",
    "phq15_kocalevent2013_de_sex": "84983bb41604c1c997fde591bf3c53462c2c971d165b4b163fa2c6e953eb851a",
    "phq9_kliem2024_de_sex": "4f32ccfb0abf4a89de14dd41a526ddbc16c1a25ed19b18a111e5163a8fa84695",
    "phq9_kliem2024_de_total": "11d0723180ad9506f107de0714e27ca7671e5f0fd799937f747817eafe3a6919",
    "phq9_kocalevent2013_de_age": "92d9eff67c03e24e99bea23acda76c18001ac5b2d94251c3ae843e51efc55932",
    "phq9_kocalevent2013_de_sex": "01bbffb3009c2ff51a8ef90c80e2785389f3ced0d5f5ba133548751788f5fd09",
    "pss10_cohen_janickideverts2012_us2009_age":
        "bf915e73e2357c00df8b37ee88a61a27aac3adeec61eb3884f055f0b0fb99b06",
    "pss10_cohen_janickideverts2012_us2009_sex":
        "a947355eb3e8528aacf05ac770ca1e822d7496635121a2c02c4ef3c82f711d8f",
    "pss10_cohen_williamson1988_us1983_sex":
        "f03f9718d895a40868969fbfa3f23022ccc9443b7a0d9b4c88524a55c616801a",
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
    assert Definition(d.definition).hash == d.hash
