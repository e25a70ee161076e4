"""Run metadata from the mzML header (everything before ``<run>``'s spectra)."""

from __future__ import annotations

from typing import Any

from lxml import etree

from msuite.core.model import RunMetadata
from msuite.io import cv
from msuite.io.mzml_context import ParseContext

__all__ = ["parse_header"]

Element = etree._Element
_COMPONENTS = ("source", "analyzer", "detector")
_FILE_FORMAT = "MS:1000560"  # mass spectrometer file format
_NATIVE_ID_FORMAT = "MS:1000767"  # native spectrum identifier format


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _terms(params: dict[str, Element]) -> list[dict[str, str]]:
    return [
        {"accession": acc, "name": el.get("name", ""), "value": el.get("value") or ""}
        for acc, el in params.items()
    ]


def _children(el: Element | None, name: str) -> list[Element]:
    if el is None:
        return []
    return [child for child in el if _local(child.tag) == name]


def _first(el: Element | None, name: str) -> Element | None:
    found = _children(el, name)
    return found[0] if found else None


def _instrument(ctx: ParseContext, config: Element | None) -> dict[str, Any]:
    if config is None:
        return {}
    params = ctx.collect(config, {})
    models = cv.descendants(cv.INSTRUMENT_MODEL)
    out: dict[str, Any] = {"id": config.get("id", ""), "model": "", "accession": "", "serial": ""}
    for acc, el in params.items():
        if acc in models and not out["accession"]:
            out["accession"] = acc
            out["model"] = el.get("value") or el.get("name", "")
    if cv.INSTRUMENT_SERIAL in params:
        out["serial"] = params[cv.INSTRUMENT_SERIAL].get("value") or ""
    components = []
    listing = _first(config, "componentList")
    for part in [] if listing is None else listing:
        kind = _local(part.tag)
        if kind in _COMPONENTS:
            order = part.get("order", "")
            components.append(
                {
                    "type": kind,
                    "order": int(order) if order.isdigit() else len(components) + 1,
                    "terms": _terms(ctx.collect(part, {})),
                }
            )
    out["components"] = components
    return out


def _software(ctx: ParseContext, mzml: Element) -> list[dict[str, Any]]:
    out = []
    for sw in _children(_first(mzml, "softwareList"), "software"):
        params = ctx.collect(sw, {})
        first = next(iter(params.items()), None)
        out.append(
            {
                "id": sw.get("id", ""),
                "name": first[1].get("name", "") if first else sw.get("id", ""),
                "version": sw.get("version", ""),
                "accession": first[0] if first else "",
            }
        )
    return out


def _source_files(ctx: ParseContext, mzml: Element) -> list[dict[str, Any]]:
    out = []
    formats = cv.descendants(_FILE_FORMAT)
    id_formats = cv.descendants(_NATIVE_ID_FORMAT)
    listing = _first(_first(mzml, "fileDescription"), "sourceFileList")
    for sf in _children(listing, "sourceFile"):
        params = ctx.collect(sf, {})
        entry = {
            "id": sf.get("id", ""),
            "name": sf.get("name", ""),
            "location": sf.get("location", ""),
            "format": "",
            "format_accession": "",
            "native_id_format": "",
            "sha1": "",
        }
        for acc, el in params.items():
            if acc in formats and not entry["format"]:
                entry["format"], entry["format_accession"] = el.get("name", ""), acc
            elif acc in id_formats and not entry["native_id_format"]:
                entry["native_id_format"] = acc
        if cv.SHA1 in params:
            entry["sha1"] = params[cv.SHA1].get("value") or ""
        out.append(entry)
    return out


def parse_header(ctx: ParseContext, mzml: Element, run: Element | None) -> RunMetadata:
    """Build :class:`RunMetadata` from the ``<mzML>`` element's header children.

    Every cvParam of the header is checked against the vocabulary, and the
    referenceable param groups are loaded into ``ctx`` for the spectra to use.

    Parameters
    ----------
    ctx
        Parse context of the file.
    mzml
        The ``<mzML>`` element, parsed at least up to the start of ``<run>``.
    run
        The ``<run>`` element (its attributes), when reached.
    """
    for child in mzml:
        if _local(child.tag) != "run":
            ctx.check_tree(child)
    ctx.load_groups(mzml)
    configs = _children(_first(mzml, "instrumentConfigurationList"), "instrumentConfiguration")
    default_ref = run.get("defaultInstrumentConfigurationRef") if run is not None else None
    config = next((c for c in configs if c.get("id") == default_ref), None)
    if config is None and configs:
        config = configs[0]
    samples = _children(_first(mzml, "sampleList"), "sample")
    sample = {"id": samples[0].get("id", ""), "name": samples[0].get("name", "")} if samples else {}
    file_content = _first(_first(mzml, "fileDescription"), "fileContent")
    content = {} if file_content is None else ctx.collect(file_content, {})
    return RunMetadata(
        run_id=(run.get("id") if run is not None else None) or mzml.get("id") or "run",
        instrument=_instrument(ctx, config),
        sample=sample,
        software=_software(ctx, mzml),
        source_files=_source_files(ctx, mzml),
        start_time=(run.get("startTimeStamp") if run is not None else None) or "",
        extra={"source_format": "mzML", "file_content": _terms(content)},
    )
