"""A synthetic short-axis cine-MRI subject with RV, MYO and LV masks (the ``cardiac`` sample's phantom).

Made to be hard rather than pretty: thin, blurred myocardium of varying thickness, papillary muscles
inside the LV, bright pericardial fat and a basal outflow tract next to the myocardium, vessels as bright
as the blood pool, a liver as bright as the RV, bias field, gamma changes, Rician noise and ghosting,
per-subject pixel spacing. It is a smoke test, far easier than real images (DESIGN.md Sec. 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

__all__ = ["CardiacSubject", "make_cardiac_subject"]


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
