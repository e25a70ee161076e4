"""Turn parsed mzML elements into msuite objects: spectra and chromatograms.

The functions here work on :mod:`lxml` elements that the reader hands over one at a
time; they never read files. They are shared by the mzML and mzMLb readers, which
differ only in where the binary arrays live (see
:attr:`msuite.io.mzml_context.ParseContext.decode_array`).
"""

from __future__ import annotations

import math

import numpy as np

from msuite.core.model import (
    Chromatogram,
    ChromatogramKind,
    Polarity,
    Precursor,
    ScanHeader,
    Spectrum,
)
from msuite.io import cv
from msuite.io.mzml_context import Element, Params, ParseContext, unit_seconds

__all__ = ["parse_spectrum", "parse_chromatogram", "CHROMATOGRAM_KINDS"]


CHROMATOGRAM_KINDS: dict[str, ChromatogramKind] = {
    cv.TIC_CHROMATOGRAM: ChromatogramKind.TIC,
    cv.BASEPEAK_CHROMATOGRAM: ChromatogramKind.BPC,
    cv.SRM_CHROMATOGRAM: ChromatogramKind.SRM,
    cv.SIM_CHROMATOGRAM: ChromatogramKind.SIM,
    cv.SELECTED_ION_CURRENT_CHROMATOGRAM: ChromatogramKind.XIC,
    cv.ABSORPTION_CHROMATOGRAM: ChromatogramKind.ABSORPTION,
    cv.PRESSURE_CHROMATOGRAM: ChromatogramKind.PRESSURE,
}
NAN = math.nan


def _arrays(
    ctx: ParseContext, el: Element, default_length: int
) -> dict[str, tuple[np.ndarray, Element]]:
    """Decode the m/z, intensity and time arrays: ``{kind: (values, type param)}``."""
    tags = ctx.tags
    out: dict[str, tuple[np.ndarray, Element]] = {}
    for bda in el:
        if bda.tag != tags.bda:
            ctx.check_tree(bda)
            continue
        params: Params = {}
        binary = None
        for child in ctx.walk(bda, params):
            if child.tag == tags.binary:
                binary = child
            else:
                ctx.check_tree(child)
        if cv.MZ_ARRAY in params:
            kind = cv.MZ_ARRAY
        elif cv.INTENSITY_ARRAY in params:
            kind = cv.INTENSITY_ARRAY
        elif cv.TIME_ARRAY in params:
            kind = cv.TIME_ARRAY
        else:
            continue  # non-standard arrays are not used
        if kind in out:
            continue
        length_attr = bda.get("arrayLength")
        try:
            length = int(length_attr) if length_attr else default_length
        except ValueError:
            raise ctx.error("bad arrayLength", bda, value=length_attr) from None
        try:
            values = ctx.decode_array(ctx, bda, params, binary, length)
        except ValueError as exc:
            raise ctx.error(str(exc), bda, field=params[kind].get("name")) from None
        if values.size != length:
            raise ctx.error(
                f"array holds {values.size} values, defaultArrayLength says {length}",
                bda,
                field=params[kind].get("name"),
                value=values.size,
                allowed=length,
            )
        out[kind] = (values, params[kind])
    return out


def _default_length(ctx: ParseContext, el: Element) -> int:
    text = el.get("defaultArrayLength", "0")
    try:
        return int(text)
    except ValueError:
        raise ctx.error("bad defaultArrayLength", el, value=text, allowed="an integer") from None


def _precursor(ctx: ParseContext, el: Element) -> Precursor:
    tags = ctx.tags
    window: Params = {}
    ion: Params = {}
    activation: Params = {}
    for child in ctx.walk(el, {}):
        tag = child.tag
        if tag == tags.isolation_window:
            ctx.collect(child, window)
        elif tag == tags.selected_ion_list:
            first = True
            for sel in child:
                if sel.tag == tags.selected_ion and first:
                    ctx.collect(sel, ion)
                    first = False
                elif sel.tag != tags.user:
                    ctx.check_tree(sel)
        elif tag == tags.activation:
            ctx.collect(child, activation)
        else:
            ctx.check_tree(child)
    target = ctx.number(window, cv.ISOLATION_TARGET)
    mz = ctx.number(ion, cv.SELECTED_ION_MZ, target)
    charge_el = ion.get(cv.CHARGE_STATE)
    charge = 0
    if charge_el is not None:
        charge = int(ctx.number(ion, cv.CHARGE_STATE, 0.0))
    method = next(
        (a for a in activation if a in ctx.dissociation and a != cv.DISSOCIATION_METHOD), ""
    )
    if not method and cv.DISSOCIATION_METHOD in activation:
        method = cv.DISSOCIATION_METHOD
    return Precursor(
        mz=mz,
        charge=charge,
        intensity=ctx.number(ion, cv.PEAK_INTENSITY),
        isolation_target=target,
        isolation_lower=ctx.number(window, cv.ISOLATION_LOWER),
        isolation_upper=ctx.number(window, cv.ISOLATION_UPPER),
        collision_energy=ctx.number(activation, cv.COLLISION_ENERGY),
        activation=method,
        spectrum_ref=el.get("spectrumRef") or "",
    )


def _scan_list(ctx: ParseContext, el: Element, scan: Params) -> tuple[float, float]:
    tags = ctx.tags
    window = (NAN, NAN)
    first = True
    for child in ctx.walk(el, {}):
        if child.tag == tags.scan and first:
            first = False
            for part in ctx.walk(child, scan):
                if part.tag == tags.scan_window_list:
                    wins = [w for w in part if w.tag == tags.scan_window]
                    for w in wins[1:]:
                        ctx.check_tree(w)
                    if wins:
                        wp = ctx.collect(wins[0], {})
                        window = (
                            ctx.number(wp, cv.SCAN_WINDOW_LOWER),
                            ctx.number(wp, cv.SCAN_WINDOW_UPPER),
                        )
                else:
                    ctx.check_tree(part)
        else:
            ctx.check_tree(child)
    return window


def _polarity(params: Params) -> Polarity:
    if cv.POSITIVE_SCAN in params:
        return Polarity.POSITIVE
    if cv.NEGATIVE_SCAN in params:
        return Polarity.NEGATIVE
    return Polarity.UNKNOWN


def parse_spectrum(ctx: ParseContext, el: Element, index: int) -> Spectrum:
    """Build a :class:`Spectrum` from a ``<spectrum>`` element.

    Parameters
    ----------
    ctx
        Parse context of the file.
    el
        The complete ``<spectrum>`` element.
    index
        Position of the spectrum when the element has no ``index`` attribute.
    """
    tags = ctx.tags
    params: Params = {}
    scan: Params = {}
    window = (NAN, NAN)
    precursors: tuple[Precursor, ...] = ()
    arrays: dict[str, tuple[np.ndarray, Element]] = {}
    length = _default_length(ctx, el)
    for child in ctx.walk(el, params):
        tag = child.tag
        if tag == tags.scan_list:
            window = _scan_list(ctx, child, scan)
        elif tag == tags.precursor_list:
            precursors = tuple(_precursor(ctx, p) for p in child if p.tag == tags.precursor)
        elif tag == tags.bda_list:
            arrays = _arrays(ctx, child, length)
        else:
            ctx.check_tree(child)
    if cv.MS_LEVEL in params:
        ms_level = int(ctx.number(params, cv.MS_LEVEL))
    else:
        ms_level = 2 if cv.MSN_SPECTRUM in params else 1
    centroid = True if cv.CENTROID in params else (False if cv.PROFILE in params else None)
    rt_params = scan if cv.SCAN_START_TIME in scan else params
    filter_el = scan.get(cv.FILTER_STRING, params.get(cv.FILTER_STRING))
    index_attr = el.get("index")
    header = ScanHeader(
        index=int(index_attr) if index_attr and index_attr.isdigit() else index,
        native_id=el.get("id", ""),
        ms_level=ms_level,
        rt=ctx.seconds(rt_params, cv.SCAN_START_TIME),
        centroid=centroid,
        polarity=_polarity(params),
        precursors=precursors,
        scan_window=window,
        tic=ctx.number(params, cv.TOTAL_ION_CURRENT),
        base_peak_mz=ctx.number(params, cv.BASE_PEAK_MZ),
        base_peak_intensity=ctx.number(params, cv.BASE_PEAK_INTENSITY),
        injection_time=ctx.number(scan, cv.ION_INJECTION_TIME),
        filter_string="" if filter_el is None else (filter_el.get("value") or ""),
    )
    if cv.MZ_ARRAY in arrays and cv.INTENSITY_ARRAY in arrays:
        mz, intensity = arrays[cv.MZ_ARRAY][0], arrays[cv.INTENSITY_ARRAY][0]
    elif length:
        missing = "intensity array" if cv.MZ_ARRAY in arrays else "m/z array"
        raise ctx.error("spectrum lacks an array", el, field=missing, value=header.native_id)
    else:
        mz = intensity = np.empty(0, dtype=np.float64)
    return Spectrum(header=header, mz=mz, intensity=intensity)


def parse_chromatogram(ctx: ParseContext, el: Element) -> Chromatogram:
    """Build a :class:`Chromatogram` from a ``<chromatogram>`` element (time in seconds)."""
    tags = ctx.tags
    params: Params = {}
    product: Params = {}
    precursor: Precursor | None = None
    arrays: dict[str, tuple[np.ndarray, Element]] = {}
    length = _default_length(ctx, el)
    for child in ctx.walk(el, params):
        tag = child.tag
        if tag == tags.precursor:
            precursor = _precursor(ctx, child)
        elif tag == tags.product:
            for part in child:
                if part.tag == tags.isolation_window:
                    ctx.collect(part, product)
                elif part.tag != tags.user:
                    ctx.check_tree(part)
        elif tag == tags.bda_list:
            arrays = _arrays(ctx, child, length)
        else:
            ctx.check_tree(child)
    kind = next((CHROMATOGRAM_KINDS[a] for a in params if a in CHROMATOGRAM_KINDS), None)
    native_id = el.get("id", "")
    if cv.TIME_ARRAY in arrays and cv.INTENSITY_ARRAY in arrays:
        time, time_param = arrays[cv.TIME_ARRAY]
        intensity = arrays[cv.INTENSITY_ARRAY][0]
        factor = unit_seconds(time_param)
        if factor != 1.0:
            time = time * factor
    elif length:
        missing = "intensity array" if cv.TIME_ARRAY in arrays else "time array"
        raise ctx.error("chromatogram lacks an array", el, field=missing, value=native_id)
    else:
        time = intensity = np.empty(0, dtype=np.float64)
    precursor_mz = NAN
    if precursor is not None:
        precursor_mz = precursor.isolation_target
        if math.isnan(precursor_mz):
            precursor_mz = precursor.mz
    return Chromatogram(
        native_id=native_id,
        kind=ChromatogramKind.UNKNOWN if kind is None else kind,
        time=time,
        intensity=intensity,
        precursor_mz=precursor_mz,
        product_mz=ctx.number(product, cv.ISOLATION_TARGET),
        polarity=_polarity(params),
        collision_energy=NAN if precursor is None else precursor.collision_energy,
    )
