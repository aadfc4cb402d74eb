"""The documents the energy profiles cite ship with the package (issue 9, defect 10)."""
import json
import re
from pathlib import Path

import neurocore

PKG = Path(neurocore.__file__).parent
PROFILES = sorted((PKG / "energy" / "profiles").glob("*.json"))


def test_every_cited_document_ships_with_the_package():
    cited = set()
    for path in PROFILES:
        text = path.read_text()
        cited |= set(re.findall(r"([A-Za-z0-9_]+\.md)", text))
        for c in json.loads(text)["citations"]:
            for ref in re.findall(r"(\S+/[A-Za-z0-9_]+\.md)", c):
                if ref.startswith("neurocore/"):  # a document of this package: it must be installed
                    assert (PKG.parent / ref).is_file(), (path.name, ref)
                else:
                    assert "shared/reference" not in ref, (path.name, ref)  # not shipped: cite the copy instead
    external = {"loihi_constants_research.md", "truenorth_constants_research.md"}  # in another public repository
    for name in cited - external:
        assert (PKG / "energy" / "sources" / name).is_file(), f"{name} is cited but not in neurocore/energy/sources"


def test_sources_are_package_data():
    import pytest

    if not (PKG.parent / "pyproject.toml").is_file():
        pytest.skip("an installed copy: no pyproject.toml next to the package")
    text = (PKG.parent / "pyproject.toml").read_text()
    assert '"energy/sources/*.md"' in text
