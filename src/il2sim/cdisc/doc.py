"""Markdown tables of the schema (the variable lists of ``docs/cdisc.md``; a test checks that
the document holds exactly this text, so the document and the declaration cannot drift)."""

from __future__ import annotations

from collections.abc import Mapping

from il2sim.cdisc.schema import Codelist, Dataset

__all__ = ["codelist_table", "dataset_tables"]


def dataset_tables(specs: Mapping[str, Dataset]) -> str:
    """One table per dataset: variable, label, type, origin, core, codelist."""
    parts = []
    for ds in specs.values():
        flag = " (non-standard)" if ds.nonstandard else ""
        parts.append(f"#### {ds.name}: {ds.label}{flag}\n\n{ds.klass.title()}; {ds.structure}; "
                     f"keys {', '.join(ds.keys)}.\n\n"
                     "| variable | label | type | origin | core | codelist |\n| --- | --- | --- | --- | --- | --- |")  # fmt: skip
        for v in ds.variables:
            cl = v.codelist.name if v.codelist else ""
            parts.append(f"| {v.name} | {v.label} | {v.type} | {v.origin} | {v.core} | {cl} |")
        parts.append("")
    return "\n".join(parts)


def codelist_table(codelists: Mapping[str, Codelist]) -> str:
    """Codelists: name, NCI code, terms (NCI term codes in brackets, * = sponsor extension)."""
    rows = ["| codelist | NCI code | terms |", "| --- | --- | --- |"]
    for cl in codelists.values():
        terms = ", ".join(
            f"{t.value}{f' [{t.nci}]' if t.nci else ''}{'*' if t.extended else ''}" for t in cl.terms
        )
        rows.append(f"| {cl.name} ({cl.label}) | {cl.nci or 'sponsor'} | {terms} |")
    return "\n".join(rows) + "\n"


def used_codelists(*specs: Mapping[str, Dataset]) -> dict[str, Codelist]:
    """Every codelist a dataset of ``specs`` uses, by name, in first-use order."""
    out: dict[str, Codelist] = {}
    for s in specs:
        for ds in s.values():
            for v in ds.variables:
                if v.codelist is not None:
                    out.setdefault(v.codelist.name, v.codelist)
    return out
