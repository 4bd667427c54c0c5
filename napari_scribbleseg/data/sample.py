"""Sample datasets: a synthetic cardiac cine-MRI benchmark and a real brain MRI.

``cardiac``
    Synthetic short-axis cine-MRI-like volumes with RV, MYO and LV masks, generated from a seed. Made
    to be hard rather than pretty: thin, blurred myocardium of varying thickness, papillary muscles
    inside the LV, bright pericardial fat and a basal outflow tract next to the myocardium, vessels as
    bright as the blood pool, a liver as bright as the RV, bias field, gamma changes, Rician noise and
    ghosting, per-subject pixel spacing. Training scribbles are made the way Valvano et al. (001)
    Sec. IV-A made theirs (skeletons for LV and RV, random walks for the thin MYO, a background
    scribble around the heart), see :mod:`napari_scribbleseg.scribbles`.
``brain``
    The MNI ICBM152 2009 (sym., release a) T1 template, with grey- and white-matter masks from its
    probability maps, as shipped inside the nilearn wheel (files and notice in ``sample_data/brain``).

:func:`write_sample` writes a dataset as NIfTI files in the layout the CLI expects;
:func:`load_sample_volume` returns one subject as arrays for napari's sample-data menu.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy import ndimage as ndi

from ..errors import ConfigError, DataError
from ..labels import DEFAULT_CARDIAC_CLASSES
from ..registry import Registry
from ..scribbles import scribbles_from_mask

__all__ = [
    "BRAIN_CLASSES",
    "CARDIAC_CLASSES",
    "CardiacSubject",
    "SAMPLES",
    "SampleDataset",
    "SampleVolume",
    "load_sample_volume",
    "make_cardiac_subject",
    "sample_data_dir",
    "write_sample",
]

CARDIAC_CLASSES: tuple[str, ...] = tuple(DEFAULT_CARDIAC_CLASSES)
BRAIN_CLASSES: tuple[str, ...] = ("background", "GM", "WM")

#: How the default 30 cardiac subjects are split: train (scribbled), unpaired masks, test.
_CARDIAC_SPLIT = (16, 6, 8)

_ENCODING = {
    "masks": "0 = background, k = structure k (k-th class name)",
    "scribbles": "0 = not annotated, 1 = background, k + 1 = structure k",
}

_BRAIN_FILES = {
    "t1": "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
    "gm": "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
    "wm": "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz",
}


class SampleVolume(NamedTuple):
    """One subject of a sample dataset, arrays in NIfTI ``(x, y, z)`` order.

    Attributes
    ----------
    image
        float32 intensities.
    mask
        uint8 dense mask (``0`` background, ``k`` structure ``k``).
    scribbles
        uint8 scribbles (``0`` not annotated, ``1`` background, ``k + 1`` structure ``k``).
    spacing
        Voxel size (mm) per axis.
    affine
        4x4 voxel-to-world matrix (mm).
    class_names
        Background first.
    """

    image: np.ndarray
    mask: np.ndarray
    scribbles: np.ndarray
    spacing: tuple[float, float, float]
    affine: np.ndarray
    class_names: tuple[str, ...]


@dataclass(frozen=True)
class SampleDataset:
    """A registered sample dataset.

    Attributes
    ----------
    name
        Registry name.
    description
        One line for menus and ``--help``.
    class_names
        Background first.
    write
        ``write(out_dir, seed, n_subjects) -> out_dir``, see :func:`write_sample`.
    load
        ``load(seed, slices) -> SampleVolume``, see :func:`load_sample_volume`.
    """

    name: str
    description: str
    class_names: tuple[str, ...]
    write: Callable[[Path, int, int | None], Path]
    load: Callable[[int, str | int | Sequence[int] | None], SampleVolume]


SAMPLES: Registry[SampleDataset] = Registry("sample dataset")


# ----------------------------------------------------------------------------------------------------
# files


def sample_data_dir() -> Path:
    """The folder of the files shipped with the package (``brain/`` ...).

    ``<repository>/sample_data`` (next to the package folder, in a source checkout) when it exists,
    else ``napari_scribbleseg/sample_data`` (installed wheel).
    """
    package = Path(__file__).resolve().parent.parent
    checkout = package.parent / "sample_data"
    return checkout if checkout.is_dir() else package / "sample_data"


def _save_nifti(path: Path, data: np.ndarray, affine: np.ndarray) -> Path:
    """Write ``data`` (labels as uint8, else float32) with qform = sform = ``affine`` (code 1), atomically.

    A stand-in until the package's NIfTI module takes over.
    """
    import nibabel as nib

    arr = np.asarray(data)
    if arr.dtype == bool or np.issubdtype(arr.dtype, np.integer):
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise DataError(f"{path}: label values outside 0..255")
        arr = arr.astype(np.uint8)
    else:
        arr = arr.astype(np.float32)
    img = nib.Nifti1Image(arr, np.asarray(affine, float))
    img.header.set_data_dtype(arr.dtype)
    img.header.set_xyzt_units("mm")
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = ".nii.gz" if path.name.endswith(".gz") else ".nii"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        nib.save(img, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_classes(out: Path, class_names: Sequence[str]) -> None:
    content = {"classes": list(class_names), "encoding": _ENCODING}
    _write_text(out / "classes.json", json.dumps(content, indent=2) + "\n")


# ----------------------------------------------------------------------------------------------------
# synthetic cardiac MRI


@dataclass(frozen=True)
class CardiacSubject:
    """One synthetic short-axis cine-MRI volume.

    Attributes
    ----------
    image
        ``(X, Y, Z)`` float32, arbitrary MR units; ``z`` is the slice axis (slice 0 = base).
    mask
        ``(X, Y, Z)`` uint8: 0 background, 1 RV, 2 MYO, 3 LV.
    spacing
        ``(sx, sy, sz)`` mm.
    affine
        Voxel-to-world matrix (mm), ``diag(spacing)`` with a small rotation and an offset.
    phase
        ``"ED"`` or ``"ES"`` (sets cavity sizes and wall thickness).
    """

    image: np.ndarray
    mask: np.ndarray
    spacing: tuple[float, float, float]
    affine: np.ndarray
    phase: str


def _ellipse(
    x: np.ndarray,
    y: np.ndarray,
    cx: float,
    cy: float,
    a: float,
    b: float,
    angle: float,
    wobble: Sequence[tuple[int, float, float]] = (),
) -> np.ndarray:
    """Squared normalised radius in an ellipse centred at (cx, cy) rotated by ``angle`` (< 1 inside).

    ``wobble`` = (harmonic, amplitude, phase) terms that make the outline irregular.
    """
    ca, sa = np.cos(angle), np.sin(angle)
    u = ((x - cx) * ca + (y - cy) * sa) / a
    v = (-(x - cx) * sa + (y - cy) * ca) / b
    r2 = u**2 + v**2
    if wobble:
        t = np.arctan2(v, u)
        f = 1.0
        for k, amp, ph in wobble:
            f = f + amp * np.cos(k * t + ph)
        r2 = r2 / f**2
    return r2


def _wobble(rng: np.random.Generator, amplitude: float) -> list[tuple[int, float, float]]:
    return [(k, rng.uniform(0, amplitude / k), rng.uniform(0, 2 * np.pi)) for k in (2, 3, 4, 5)]


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Zero-mean, unit-std smooth noise."""
    field = ndi.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return field / max(float(field.std()), 1e-6)


def _wrap(angle: np.ndarray | float) -> np.ndarray:
    return np.mod(np.asarray(angle) + np.pi, 2 * np.pi) - np.pi


def _rotation(ax: float, ay: float, az: float) -> np.ndarray:
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def make_cardiac_subject(index: int, seed: int = 0) -> CardiacSubject:
    """Generate synthetic cardiac subject ``index`` of the dataset made with ``seed``.

    The anatomy is described in millimetres and rasterised on a per-subject grid (160-192 pixels of
    1.3-1.7 mm, 8-12 slices of 8 mm), so pixel sizes differ between subjects as in real data (ACDC,
    Valvano et al. (001) Sec. IV-A). Along the stack (base at slice 0, apex at the end) the LV cavity
    shrinks and vanishes before the myocardium, the RV crescent on the septal side shrinks and may be
    absent at the apex, and the heart drifts and rotates; basal slices may cut the outflow tract and an
    atrium (bright, background). Around it: body, subcutaneous fat, chest-wall muscle, lungs with
    vessels, liver and stomach toward the apex, spine, descending aorta and random blobs, some as bright
    as the blood pool. Then texture, Gaussian blur, a smooth bias field, gamma, ghosting and Rician
    noise with a per-subject SNR.

    Parameters
    ----------
    index
        Subject number (any non-negative int); subjects are independent of each other.
    seed
        Dataset seed.

    Returns
    -------
    CardiacSubject
    """
    rng = np.random.default_rng([int(seed), int(index), 0xCA4D])
    n = int(rng.choice([160, 168, 176, 184, 192]))
    s = float(rng.uniform(1.3, 1.7))
    sz = 8.0
    nz = int(rng.integers(8, 13))
    fov = n * s
    phase = "ED" if rng.random() < 0.5 else "ES"
    ed = phase == "ED"

    # --- intensities (SSFP-like: blood and fat bright, muscle dark, lung black)
    i_lv = rng.uniform(0.8, 1.0)
    inten = {
        "lv": i_lv,
        "rv": i_lv * rng.uniform(0.72, 0.95),
        "myo": rng.uniform(0.18, 0.38),
        "fat": rng.uniform(0.75, 0.95),
        "muscle": rng.uniform(0.25, 0.4),
        "tissue": rng.uniform(0.3, 0.5),
        "lung": rng.uniform(0.02, 0.1),
        "liver": rng.uniform(0.45, 0.72),
        "aorta": i_lv * rng.uniform(0.85, 1.05),
        "spine": rng.uniform(0.35, 0.55),
        "csf": rng.uniform(0.7, 0.95),
    }

    # --- body and surroundings (mm)
    bx, by = fov / 2 + rng.uniform(-10, 10), fov / 2 + rng.uniform(-8, 8)
    # a chest of 300-360 mm by 190-250 mm: wider than the field of view, as in cardiac cine MRI
    body_a, body_b = rng.uniform(150, 180), rng.uniform(95, 125)
    body_angle = rng.uniform(-0.1, 0.1)
    fat_t, muscle_t = rng.uniform(4, 12), rng.uniform(6, 14)
    hx0, hy0 = bx + rng.uniform(0, 35), by + rng.uniform(-35, 0)  # heart: anterior, image right
    spine = (bx + rng.uniform(-5, 5), by + body_b - rng.uniform(40, 50), rng.uniform(14, 19))
    aorta = (spine[0] + rng.uniform(12, 25), spine[1] - rng.uniform(20, 30), rng.uniform(9, 13))
    lungs = [
        (hx0 + rng.uniform(45, 65), by + rng.uniform(0, 25), rng.uniform(40, 60), rng.uniform(60, 85)),
        (hx0 - rng.uniform(75, 100), by + rng.uniform(0, 25), rng.uniform(40, 60), rng.uniform(60, 85)),
    ]
    lung_angles = rng.uniform(-0.4, 0.4, size=2)
    lung_wobble = [_wobble(rng, 0.25), _wobble(rng, 0.25)]
    liver_wobble, stomach_wobble = _wobble(rng, 0.2), _wobble(rng, 0.3)
    liver = (hx0 - rng.uniform(30, 70), hy0 + rng.uniform(30, 60), rng.uniform(70, 100), rng.uniform(45, 70))
    liver_angle, z_liver = rng.uniform(-0.4, 0.4), rng.uniform(0.3, 0.75)
    stomach = (
        (hx0 + rng.uniform(25, 55), hy0 + rng.uniform(30, 55), rng.uniform(20, 35), rng.uniform(15, 25))
        if rng.random() < 0.6
        else None
    )
    z_stomach = rng.uniform(0.5, 0.9)
    blobs = []
    for _ in range(int(rng.integers(3, 9))):
        bright = rng.random() < 0.35
        blobs.append(
            {
                "c": np.array([bx + rng.uniform(-0.8, 0.8) * body_a, by + rng.uniform(-0.8, 0.8) * body_b]),
                "v": rng.uniform(-2, 2, size=2),
                "r": rng.uniform(3, 12),
                "i": i_lv * rng.uniform(0.85, 1.05) if bright else rng.uniform(0.05, 0.9),
                "k": sorted(rng.integers(0, nz, size=2)),
            }
        )

    # --- heart (mm, angles in radians; +x = image right, +y = posterior)
    r_lv0 = rng.uniform(22, 30) if ed else rng.uniform(13, 22)
    t0 = rng.uniform(3.5, 5.5) if ed else rng.uniform(4.5, 6.5)
    w_rv0 = rng.uniform(15, 28) if ed else rng.uniform(10, 18)
    half_rv0 = rng.uniform(np.deg2rad(55), np.deg2rad(85))
    z_rv = rng.uniform(0.85, 1.05)
    rv_skew = rng.uniform(-0.3, 0.3)
    psi0 = np.pi + rng.uniform(0.1, 0.6)  # septum direction: image left, slightly anterior
    dpsi = rng.uniform(-0.07, 0.07)
    ecc, theta0, dtheta = rng.uniform(0.0, 0.15), rng.uniform(0, np.pi), rng.uniform(-0.1, 0.1)
    harmonics = [(k, rng.uniform(0, 0.04), rng.uniform(0, 2 * np.pi)) for k in (3, 4, 5)]
    thick_var, thick_phase = rng.uniform(0.1, 0.25), rng.uniform(0, 2 * np.pi)
    apex_p = rng.uniform(2.0, 3.0)
    drift = rng.uniform(-2.5, 2.5, size=2)
    z0 = rng.uniform(-0.05, 0.08)
    length = nz * sz * rng.uniform(0.92, 1.12)
    fat_dir, fat_max = rng.uniform(-np.pi, np.pi), rng.uniform(0, 5)
    papillary = [psi0 + np.pi + rng.uniform(0.4, 0.8), psi0 + np.pi - rng.uniform(0.4, 0.8)]
    n_trabeculae = int(rng.integers(0, 7)) if ed else int(rng.integers(3, 10))
    lvot = rng.random() < 0.5
    atrium = rng.random() < 0.4

    # --- acquisition
    sigma_blur = rng.uniform(0.7, 1.2)
    snr = rng.uniform(6, 20)
    gamma = rng.uniform(0.75, 1.35)
    scale = rng.uniform(200, 1200)
    ghost = rng.uniform(0.03, 0.1) if rng.random() < 0.4 else 0.0
    bias_terms = [
        (rng.uniform(0.05, 0.15), rng.normal(size=3) / rng.uniform(200, 400), rng.uniform(0, 2 * np.pi))
        for _ in range(3)
    ]
    coil = rng.uniform(0, 0.5)

    xs = (np.arange(n) + 0.5) * s
    x, y = np.meshgrid(xs, xs, indexing="ij")  # arrays are (x, y)
    image = np.zeros((n, n, nz), np.float32)
    mask = np.zeros((n, n, nz), np.uint8)

    for k in range(nz):
        z = z0 + k * sz / length
        img = np.zeros((n, n))
        lab = np.zeros((n, n), np.uint8)

        # body, fat, muscle
        eb = np.sqrt(_ellipse(x, y, bx, by, body_a, body_b, body_angle))
        mean_ax = 0.5 * (body_a + body_b)
        img[eb < 1] = inten["fat"]
        img[eb < 1 - fat_t / mean_ax] = inten["muscle"]
        interior = eb < 1 - (fat_t + muscle_t) / mean_ax
        img[interior] = inten["tissue"]
        # lungs shrink toward the apex (diaphragm), liver and stomach appear
        lung_scale = np.clip(1.1 - 0.5 * z, 0.4, 1.0)
        for (lx, ly, la, lb), ang, wob in zip(lungs, lung_angles, lung_wobble):
            inside = interior & (_ellipse(x, y, lx, ly, la * lung_scale, lb * lung_scale, ang, wob) < 1)
            img[inside] = inten["lung"]
            for _ in range(int(rng.integers(4, 12))):  # pulmonary vessels
                vx, vy = lx + rng.uniform(-0.7, 0.7) * la, ly + rng.uniform(-0.7, 0.7) * lb
                dot = inside & ((x - vx) ** 2 + (y - vy) ** 2 < rng.uniform(1.5, 3.0) ** 2)
                img[dot] = rng.uniform(0.3, 0.8)
        if z > z_liver:
            grow = min(1.0, 0.4 + (z - z_liver) * 2.0)
            lx, ly, la, lb = liver
            img[interior & (_ellipse(x, y, lx, ly, la * grow, lb * grow, liver_angle, liver_wobble) < 1)] = (
                inten["liver"]
            )
        if stomach is not None and z > z_stomach:
            gx, gy, ga, gb = stomach
            e = _ellipse(x, y, gx, gy, ga, gb, 0.3, stomach_wobble)
            img[interior & (e < 1)] = inten["tissue"] * 0.6
            img[interior & (e < 1) & (y > gy)] = inten["csf"] * 0.8  # fluid level
        # spine, spinal canal, descending aorta
        sx0, sy0, sr = spine
        img[(x - sx0) ** 2 + (y - sy0) ** 2 < sr**2] = inten["spine"] * 0.5
        img[(x - sx0) ** 2 + (y - sy0) ** 2 < (sr - 2) ** 2] = inten["spine"]
        img[(x - sx0) ** 2 + (y - sy0 - sr - 6) ** 2 < 5**2] = inten["csf"]
        ax0, ay0, ar = aorta
        img[(x - ax0 - 0.5 * k) ** 2 + (y - ay0) ** 2 < ar**2] = inten["aorta"]
        for b in blobs:
            if b["k"][0] <= k <= b["k"][1]:
                cx, cy = b["c"] + k * b["v"]
                img[interior & ((x - cx) ** 2 + (y - cy) ** 2 < b["r"] ** 2)] = b["i"]

        # heart geometry of this slice
        hx, hy = hx0 + k * drift[0] + rng.normal(0, 0.8), hy0 + k * drift[1] + rng.normal(0, 0.8)
        zc = float(np.clip(z, 0.0, 1.0))
        g = (1 - zc**apex_p) ** 0.5 if zc < 1 else 0.0
        r_epi_mean = (r_lv0 + t0) * g
        thick = t0 * (1 + 0.1 * zc)
        r_endo_mean = r_epi_mean - thick
        rho = np.hypot(x - hx, y - hy)
        phi = np.arctan2(y - hy, x - hx)
        psi = psi0 + k * dpsi
        theta = theta0 + k * dtheta

        def outline(angle: np.ndarray | float, theta: float = theta) -> np.ndarray:
            out = 1 + ecc * np.cos(2 * (angle - theta))
            for hk, amp, ph in harmonics:
                out = out + amp * np.cos(hk * angle + ph)
            return out

        shape = outline(phi)
        t_phi = thick * (1 + thick_var * np.cos(phi - thick_phase))
        if r_epi_mean > 2.0:
            r_endo = np.maximum(r_endo_mean, 0.0) * shape
            r_epi = r_endo + t_phi if r_endo_mean > 2.5 else np.full_like(rho, r_epi_mean) * shape
            blood = inten["lv"] * rng.uniform(0.92, 1.05)
            if k == 0 and atrium:  # an atrium behind the base: blood, but background
                d = psi + np.pi + rng.uniform(-0.6, 0.6)
                dist = r_epi_mean + rng.uniform(8, 15)
                ar_ = rng.uniform(12, 20)
                blob = (x - hx - dist * np.cos(d)) ** 2 + (y - hy - dist * np.sin(d)) ** 2 < ar_**2
                img[blob] = blood * rng.uniform(0.8, 1.0)
            # pericardial fat hugging part of the epicardium
            fat_w = fat_max * np.maximum(np.cos(phi - fat_dir), 0) ** 2
            img[(rho >= r_epi) & (rho < r_epi + fat_w)] = inten["fat"]
            # RV crescent on the septal side, its thin free wall (background) outside
            w_rv = w_rv0 * max(0.0, 1 - zc / z_rv) ** 0.7
            if w_rv > 2.0:
                half = half_rv0 * (1 - 0.3 * zc)
                u = _wrap(phi - psi) / half
                prof = np.where(np.abs(u) < 1, (1 - np.minimum(u**2, 1)) ** 0.6 * (1 + rv_skew * u), 0.0)
                depth = w_rv * prof
                wall = rng.uniform(2.0, 3.5)
                img[(np.abs(u) < 1.08) & (rho >= r_epi) & (rho < r_epi + depth + wall)] = inten["myo"] * 1.1
                rv = (depth > 0.5) & (rho >= r_epi) & (rho < r_epi + depth)
                img[rv] = inten["rv"] * rng.uniform(0.92, 1.05)
                lab[rv] = 1
            myo = rho < r_epi
            img[myo] = inten["myo"]
            lab[myo] = 2
            if r_endo_mean > 2.5:
                lv = rho < r_endo
                img[lv] = blood
                lab[lv] = 3
                if 0.2 < zc < 0.75:  # papillary muscles: dark, inside the LV label
                    for pa in papillary:
                        pr = rng.uniform(2.0, 4.0)
                        pd = min(r_endo_mean * float(outline(pa)) - pr, 0.8 * r_endo_mean)
                        pm = (x - hx - pd * np.cos(pa)) ** 2 + (y - hy - pd * np.sin(pa)) ** 2 < pr**2
                        img[pm & lv] = inten["myo"] * rng.uniform(0.9, 1.2)
                if zc > 0.15:  # trabeculae: small dark spots on the endocardium, inside the LV label
                    for ta in rng.uniform(-np.pi, np.pi, size=n_trabeculae):
                        tr = rng.uniform(1.0, 2.2)
                        td = r_endo_mean * float(outline(ta)) - 0.7 * tr
                        spot = (x - hx - td * np.cos(ta)) ** 2 + (y - hy - td * np.sin(ta)) ** 2 < tr**2
                        img[spot & lv] = inten["myo"] * rng.uniform(1.0, 1.6)
                if k == 0 and lvot:  # outflow tract: the ring opens into bright background
                    gap = np.abs(_wrap(phi - (psi - rng.uniform(0.6, 1.0)))) < rng.uniform(0.3, 0.6)
                    out = gap & (rho >= r_endo) & (rho < r_epi + rng.uniform(6, 12)) & (lab != 1)
                    img[out] = blood * rng.uniform(0.85, 1.0)
                    lab[out] = 0

        # texture, blur
        img = img * (1 + 0.06 * _smooth_noise(rng, (n, n), 3.0))
        img = ndi.gaussian_filter(img, sigma_blur)
        if ghost:
            heart_only = np.where(ndi.binary_dilation(lab > 0, iterations=3), img, 0.0)
            img = img + ghost * np.roll(heart_only, n // 2 + int(rng.integers(-5, 6)), axis=1)
        # bias field (slowly varying in 3D) and surface-coil fall-off
        log_b = -coil * (y - by) / fov
        for amp, freq, ph in bias_terms:
            log_b = log_b + amp * np.cos(2 * np.pi * (freq[0] * x + freq[1] * y + freq[2] * k * sz) + ph)
        img = np.clip(img * np.exp(log_b), 0, None) ** gamma
        # Rician noise: magnitude of a complex signal with Gaussian noise in both channels
        sigma = inten["lv"] ** gamma / snr
        img = np.hypot(img + sigma * rng.standard_normal((n, n)), sigma * rng.standard_normal((n, n)))
        image[:, :, k] = (img * scale).astype(np.float32)
        mask[:, :, k] = lab

    spacing = (s, s, sz)
    rot = _rotation(*np.deg2rad(rng.uniform(-6, 6, size=3)))
    affine = np.eye(4)
    affine[:3, :3] = rot @ np.diag(spacing)
    centre = (np.array([n, n, nz]) - 1) / 2 * np.array(spacing)
    affine[:3, 3] = -rot @ centre + rng.uniform(-30, 30, size=3)
    return CardiacSubject(image, mask, spacing, affine, phase)


def _cardiac_scribbles(
    mask: np.ndarray, seed: int, index: int, slices: str | int | Sequence[int]
) -> np.ndarray:
    """Paper-style scribbles of a cardiac subject: skeleton for RV and LV, random walk for MYO."""
    rng = np.random.default_rng([int(seed), int(index), 0x5C21])
    return scribbles_from_mask(
        mask,
        len(CARDIAC_CLASSES),
        slice_axis=2,
        style="paper",
        rng=rng,
        slices=slices,
        thin_classes=(CARDIAC_CLASSES.index("MYO"),),
    )


def _cardiac_split(n_subjects: int | None) -> tuple[int, int, int]:
    if n_subjects is None:
        return _CARDIAC_SPLIT
    if n_subjects < 3:
        raise ConfigError(
            f"the cardiac sample needs at least 3 subjects (train, unpaired masks, test), got {n_subjects}"
        )
    total = sum(_CARDIAC_SPLIT)
    n_unpaired = max(1, round(n_subjects * _CARDIAC_SPLIT[1] / total))
    n_test = max(1, round(n_subjects * _CARDIAC_SPLIT[2] / total))
    n_train = n_subjects - n_unpaired - n_test
    if n_train < 1:
        n_train, n_unpaired, n_test = 1, 1, n_subjects - 2
    return n_train, n_unpaired, n_test


_CARDIAC_README = """\
napari-scribbleseg sample dataset "cardiac" (synthetic short-axis cine MRI), seed {seed}
{n_total} subjects: {n_train} training, {n_unpaired} unpaired-mask, {n_test} test.

train/images/caseNN.nii.gz     training images (float32)
train/scribbles/caseNN.nii.gz  scribbles on every slice, made as in Valvano et al. (001) Sec. IV-A:
                               skeletons of LV and RV, a 2500-step random walk in the thin MYO, and a
                               background scribble around the heart (a broken band a few pixels out
                               plus random-walk strokes further out)
train/masks/caseNN.nii.gz      dense masks of the training subjects: NOT used by default (for mixed
                               supervision and for making other scribble styles)
unpaired_masks/caseNN.nii.gz   masks of other subjects, for the adversarial shape prior
unlabeled/images/caseNN.nii.gz the images of those subjects (semi-supervised experiments)
test/images, test/masks        held-out subjects
classes.json                   class names and label encoding

Classes: {classes}
Masks: 0 = background, 1 = RV, 2 = MYO, 3 = LV. Scribbles: 0 = not annotated, 1 = background,
2 = RV, 3 = MYO, 4 = LV.

Axes (x, y, z): z is the slice axis (8 mm; slice 0 = base, the last slices toward or past the apex),
in-plane spacing 1.3-1.7 mm and 160-192 pixels per side, varying per subject. The affine is
diag(spacing) with a small rotation and an offset (qform = sform, code 1). Images are synthetic:
blurred, with bias field, gamma changes, Rician noise (SNR 6-20) and sometimes ghosting; structures of
overlapping intensity (aorta, vessels, atrium and outflow tract as bright as the LV blood pool, liver as
bright as the RV, pericardial fat next to the myocardium, papillary muscles inside the LV).
Regenerate with: scribbleseg sample-data cardiac --out DIR
"""


def _write_cardiac(out: Path, seed: int, n_subjects: int | None) -> Path:
    n_train, n_unpaired, n_test = _cardiac_split(n_subjects)
    out = Path(out)
    for index in range(n_train + n_unpaired + n_test):
        name = f"case{index + 1:02d}.nii.gz"
        subj = make_cardiac_subject(index, seed)
        if index < n_train:
            _save_nifti(out / "train" / "images" / name, subj.image, subj.affine)
            scribbles = _cardiac_scribbles(subj.mask, seed, index, "all")
            _save_nifti(out / "train" / "scribbles" / name, scribbles, subj.affine)
            _save_nifti(out / "train" / "masks" / name, subj.mask, subj.affine)
        elif index < n_train + n_unpaired:
            _save_nifti(out / "unpaired_masks" / name, subj.mask, subj.affine)
            _save_nifti(out / "unlabeled" / "images" / name, subj.image, subj.affine)
        else:
            _save_nifti(out / "test" / "images" / name, subj.image, subj.affine)
            _save_nifti(out / "test" / "masks" / name, subj.mask, subj.affine)
    _write_classes(out, CARDIAC_CLASSES)
    readme = _CARDIAC_README.format(
        seed=seed,
        n_total=n_train + n_unpaired + n_test,
        n_train=n_train,
        n_unpaired=n_unpaired,
        n_test=n_test,
        classes=", ".join(CARDIAC_CLASSES),
    )
    _write_text(out / "README.txt", readme)
    return out


def _load_cardiac(seed: int, slices: str | int | Sequence[int] | None) -> SampleVolume:
    subj = make_cardiac_subject(0, seed)
    scribbles = _cardiac_scribbles(subj.mask, seed, 0, "all" if slices is None else slices)
    return SampleVolume(subj.image, subj.mask, scribbles, subj.spacing, subj.affine, CARDIAC_CLASSES)


# ----------------------------------------------------------------------------------------------------
# brain (MNI ICBM152 2009)


def _brain_files() -> dict[str, Path]:
    folder = sample_data_dir() / "brain"
    files = {key: folder / name for key, name in _BRAIN_FILES.items()}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise DataError(
            f"the brain sample files are missing: {', '.join(missing)} (they ship in sample_data/brain; "
            "reinstall napari-scribbleseg)"
        )
    return files


def _load_brain_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """T1 image (float32), GM/WM mask (uint8) and affine of the MNI152 2009 template."""
    import nibabel as nib

    files = _brain_files()
    t1 = nib.load(files["t1"])
    image = np.asarray(t1.dataobj, dtype=np.float32)
    # probabilities are stored as 0..255; a class wins where its probability exceeds 0.5
    gm = np.asarray(nib.load(files["gm"]).dataobj, dtype=np.float32) / 255.0
    wm = np.asarray(nib.load(files["wm"]).dataobj, dtype=np.float32) / 255.0
    mask = np.zeros(image.shape, np.uint8)
    mask[(gm > 0.5) & (gm >= wm)] = 1
    mask[(wm > 0.5) & (wm > gm)] = 2
    return image, mask, np.asarray(t1.affine, float)


_BRAIN_SLICES = 5


def _brain_scribbles(mask: np.ndarray, seed: int, slices: str | int | Sequence[int]) -> np.ndarray:
    """Paper-style scribbles on a few axial slices: random walks in the GM ribbon, skeleton of the WM."""
    return scribbles_from_mask(
        mask,
        len(BRAIN_CLASSES),
        slice_axis=2,
        style="paper",
        rng=np.random.default_rng([int(seed), 0xB8A1]),
        slices=slices,
        thin_classes=(BRAIN_CLASSES.index("GM"),),
    )


_BRAIN_README = """\
napari-scribbleseg sample dataset "brain": one real MRI, the MNI ICBM152 2009 T1 template
(symmetric, release a, 1 mm isotropic), seed {seed}.

train/images/mni152.nii.gz     T1 image (float32, values 0..255 as shipped)
train/scribbles/mni152.nii.gz  scribbles on {n_slices} axial slices (z axis), made as in Valvano et al.
                               (001) Sec. IV-A: random walks in the thin grey matter, skeleton of the
                               white matter, a background scribble around the brain
train/masks/mni152.nii.gz      dense mask
test/images/mni152.nii.gz      the SAME volume (there is a single subject: "test" measures how well the
test/masks/mni152.nii.gz       scribbled slices spread to the rest of the volume, not generalisation)
classes.json                   class names and label encoding

Classes: background, GM, WM. Masks: 0 = background and everything else (CSF, skull...), 1 = grey
matter, 2 = white matter, from the template's probability maps (a class where its probability is
> 0.5). Scribbles: 0 = not annotated, 1 = background, 2 = GM, 3 = WM.

Source: the files shipped inside the nilearn wheel (nilearn/datasets/data), originally from
http://www.bic.mni.mcgill.ca/ServicesAtlases/ICBM152NLin2009 -- see sample_data/brain/README.md.
Copyright (C) 1993-2009 Louis Collins, McConnell Brain Imaging Centre, Montreal Neurological Institute,
McGill University (permission notice in sample_data/brain/COPYING).
"""


def _write_brain(out: Path, seed: int, n_subjects: int | None) -> Path:
    if n_subjects not in (None, 1):
        raise ConfigError(f"the brain sample has a single subject, got n_subjects={n_subjects}")
    out = Path(out)
    image, mask, affine = _load_brain_arrays()
    scribbles = _brain_scribbles(mask, seed, _BRAIN_SLICES)
    name = "mni152.nii.gz"
    _save_nifti(out / "train" / "images" / name, image, affine)
    _save_nifti(out / "train" / "scribbles" / name, scribbles, affine)
    _save_nifti(out / "train" / "masks" / name, mask, affine)
    _save_nifti(out / "test" / "images" / name, image, affine)
    _save_nifti(out / "test" / "masks" / name, mask, affine)
    _write_classes(out, BRAIN_CLASSES)
    _write_text(out / "README.txt", _BRAIN_README.format(seed=seed, n_slices=_BRAIN_SLICES))
    return out


def _load_brain(seed: int, slices: str | int | Sequence[int] | None) -> SampleVolume:
    image, mask, affine = _load_brain_arrays()
    scribbles = _brain_scribbles(mask, seed, _BRAIN_SLICES if slices is None else slices)
    spacing = tuple(float(v) for v in np.sqrt((affine[:3, :3] ** 2).sum(axis=0)))
    return SampleVolume(image, mask, scribbles, spacing, affine, BRAIN_CLASSES)  # type: ignore[arg-type]


SAMPLES.register("cardiac")(
    SampleDataset(
        name="cardiac",
        description="synthetic short-axis cine MRI, RV/MYO/LV, 30 subjects (train/unpaired/test)",
        class_names=CARDIAC_CLASSES,
        write=_write_cardiac,
        load=_load_cardiac,
    )
)
SAMPLES.register("brain")(
    SampleDataset(
        name="brain",
        description="MNI ICBM152 2009 T1 template with grey/white matter masks (one subject)",
        class_names=BRAIN_CLASSES,
        write=_write_brain,
        load=_load_brain,
    )
)


# ----------------------------------------------------------------------------------------------------
# public entry points


def write_sample(name: str, out_dir: str | Path, *, seed: int = 0, n_subjects: int | None = None) -> Path:
    """Write sample dataset ``name`` as NIfTI files under ``out_dir`` (see its ``README.txt``).

    ``cardiac`` layout::

        train/images, train/scribbles, train/masks   scribbled subjects (16 of 30 by default)
        unpaired_masks, unlabeled/images             other subjects (6), masks for the shape prior
        test/images, test/masks                      held-out subjects (8)
        classes.json, README.txt

    ``brain`` writes ``mni152.nii.gz`` into ``train/{images,scribbles,masks}`` and ``test/{images,masks}``
    (the same single volume).

    Parameters
    ----------
    name
        A name in :data:`SAMPLES` (``"cardiac"``, ``"brain"``).
    out_dir
        Output folder (created; existing files of the same names are replaced).
    seed
        Seed of the synthetic data and of the scribbles; the same seed gives the same files.
    n_subjects
        Number of subjects (cardiac: default 30, at least 3, split 16:6:8 proportionally; brain: 1).

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Raises
    ------
    ConfigError
        Unknown name (the message lists the valid ones) or bad ``n_subjects``.
    """
    dataset = SAMPLES.get(name)
    return dataset.write(Path(out_dir), int(seed), n_subjects)


def load_sample_volume(
    name: str, *, seed: int = 0, slices: str | int | Sequence[int] | None = None
) -> SampleVolume:
    """One subject of sample dataset ``name`` as arrays, for napari's sample-data menu.

    Parameters
    ----------
    name
        A name in :data:`SAMPLES`.
    seed
        Seed of the synthetic data and of the scribbles.
    slices
        Slices to scribble (see :func:`~napari_scribbleseg.scribbles.scribbles_from_mask`); default:
        every slice for ``cardiac`` (as in its training set), 5 axial slices for ``brain``.

    Returns
    -------
    SampleVolume
        ``(image, mask, scribbles, spacing, affine, class_names)``, arrays in NIfTI ``(x, y, z)`` order
        with the slice axis last.
    """
    dataset = SAMPLES.get(name)
    return dataset.load(int(seed), slices)
