"""Colour JPEG cutouts from the PS1 image service (0.25"/pixel), cached, never hanging.

A cutout is two requests: ``ps1filenames.py`` lists the stacked sky-cell images of each filter at the
position, then ``fitscut.cgi`` renders the colour JPEG (red = reddest filter). When the service
cannot be reached, the position is south of PS1's Dec = -30 deg limit, or the service fails, the
result is a generated placeholder image that says why, so a dashboard never waits or crashes.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode

from core.archives.cache import ResponseCache, request_key
from core.archives.config import ArchiveConfig, archive_config
from core.archives.http import ArchiveSession, check_response, describe_request
from core.errors import ArchiveError, ConfigError, OfflineError

log = logging.getLogger(__name__)

PIXEL_SCALE_ARCSEC = 0.25
PS1_DEC_LIMIT = -30.0
FILTER_ORDER = "grizy"


@dataclass(frozen=True)
class Cutout:
    """A JPEG image; ``placeholder`` is True when it is a generated stand-in and ``message`` says why."""

    data: bytes
    placeholder: bool
    message: str
    url: str
    ra: float = float("nan")
    dec: float = float("nan")


def _check_filters(filters: str) -> str:
    bad = [f for f in filters if f not in FILTER_ORDER]
    if bad or not 1 <= len(filters) <= 3 or len(set(filters)) != len(filters):
        raise ConfigError(f"filters must be 1-3 distinct PS1 bands from {FILTER_ORDER!r}, got {filters!r}")
    return "".join(sorted(filters, key=FILTER_ORDER.index))


def parse_filenames(text: str) -> dict[str, str]:
    """``{filter: filename}`` from the whitespace-separated table that ``ps1filenames.py`` returns."""
    lines = [ln.split() for ln in text.strip().splitlines() if ln.strip()]
    if not lines or "filename" not in lines[0] or "filter" not in lines[0]:
        raise ValueError(f"not a ps1filenames table (first line: {text[:80]!r})")
    head = lines[0]
    i_f, i_n = head.index("filter"), head.index("filename")
    return {row[i_f]: row[i_n] for row in lines[1:] if len(row) == len(head)}


def placeholder_jpeg(message: str, size: int = 240) -> bytes:
    """A grey square with ``message`` written on it, as JPEG bytes."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size, size), (40, 40, 48))
    draw = ImageDraw.Draw(img)
    words, lines, line = message.split(), [], ""
    for w in words:
        trial = f"{line} {w}".strip()
        if len(trial) * 6 > size - 16 and line:
            lines.append(line)
            line = w
        else:
            line = trial
    lines.append(line)
    y = size // 2 - 7 * len(lines)
    for text in lines:
        draw.text((8, y), text, fill=(230, 230, 230))
        y += 14
    draw.rectangle([0, 0, size - 1, size - 1], outline=(120, 120, 130))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


class CutoutClient:
    """Fetch and cache cutouts from one PS1 image service."""

    def __init__(self, config: ArchiveConfig | None = None, *, cache: bool = True) -> None:
        self.config = config or archive_config("ps1_images", connect_timeout_s=3.0, read_timeout_s=30.0,
                                               retries=1)
        self.session = ArchiveSession(self.config)
        self.cache = ResponseCache("ps1_images", enabled=cache)

    def close(self) -> None:
        self.session.close()

    def cutout_url(self, ra: float, dec: float, size: int, filters: str, output_size: int | None) -> str:
        """The ``fitscut.cgi`` URL once the filenames are known (used for provenance and tests)."""
        files = self._filenames(ra, dec, filters)
        params: dict[str, object] = {"ra": f"{ra:.7f}", "dec": f"{dec:.7f}", "size": size, "format": "jpg"}
        if output_size:
            params["output_size"] = output_size
        chosen = [files[f] for f in filters if f in files]
        if len(chosen) != len(filters):
            raise ArchiveError(self.config.display_name, f"ps1filenames ra={ra} dec={dec}",
                               f"no stacked image for filter(s) {set(filters) - set(files)} here",
                               "The position may be outside PS1 coverage")
        # fitscut colours: red = reddest filter; one filter is shown in grey.
        colours = {1: ("red",), 2: ("blue", "red"), 3: ("blue", "green", "red")}[len(chosen)]
        params.update(dict(zip(colours, chosen, strict=True)))
        return f"{self.config.url}/fitscut.cgi?{urlencode(params)}"

    def _filenames(self, ra: float, dec: float, filters: str) -> dict[str, str]:
        url = f"{self.config.url}/ps1filenames.py"
        params = {"ra": f"{ra:.7f}", "dec": f"{dec:.7f}", "filters": filters}
        what = describe_request("GET", url, params)
        response = check_response(self.session.get(url, params=params), self.config, what)
        try:
            return parse_filenames(response.text)
        except ValueError as exc:
            raise ArchiveError(self.config.display_name, what, str(exc), "Retry later") from exc

    def fetch(self, ra: float, dec: float, size: int = 240, filters: str = "gri", *,
              output_size: int | None = None, cache: bool = True) -> Cutout:
        """A colour cutout ``size`` pixels (0.25"/px) on a side at ``(ra, dec)``; never raises ArchiveError."""
        filters = _check_filters(filters)
        if not 8 <= size <= 6000:
            raise ConfigError(f"cutout size must be 8-6000 pixels, got {size}")
        if not (0 <= ra < 360 and -90 <= dec <= 90):
            raise ConfigError(f"cutout position out of range: ra={ra}, dec={dec}")
        shown = output_size or size
        if dec < PS1_DEC_LIMIT:
            msg = f"outside PS1 coverage (Dec {dec:.2f} < {PS1_DEC_LIMIT:g})"
            return Cutout(placeholder_jpeg(msg, shown), True, msg, "", ra, dec)
        key = request_key(self.config.url, round(ra, 7), round(dec, 7), size, filters, output_size)
        if cache and self.cache.enabled:
            hit = self.cache.get_bytes(key, "jpg")
            if hit is not None:
                return Cutout(hit, False, "from cache", "", ra, dec)
        url = ""
        try:
            url = self.cutout_url(ra, dec, size, filters, output_size)
            what = describe_request("GET", url)
            response = check_response(self.session.get(url), self.config, what)
            data = response.content
            if not data.startswith(b"\xff\xd8"):
                raise ArchiveError(self.config.display_name, what, "the answer is not a JPEG image",
                                   "Retry later")
        except ArchiveError as exc:
            kind = "offline" if isinstance(exc, OfflineError) else "unavailable"
            msg = f"PS1 image {kind}: {exc.problem}"
            log.info("cutout at (%.5f, %.5f): %s", ra, dec, msg)
            return Cutout(placeholder_jpeg(msg, shown), True, msg, url, ra, dec)
        if cache:
            self.cache.put_bytes(key, data, "jpg")
        return Cutout(data, False, "", url, ra, dec)


_default_client: CutoutClient | None = None


def _client() -> CutoutClient:
    global _default_client
    if _default_client is None or _default_client.config.url != archive_config("ps1_images").url:
        if _default_client is not None:
            _default_client.close()
        _default_client = CutoutClient()
    return _default_client


def fetch_cutout(ra: float, dec: float, size: int = 240, filters: str = "gri", *, cache: bool = True,
                 output_size: int | None = None, client: CutoutClient | None = None) -> Cutout:
    """A PS1 colour cutout (JPEG, 0.25"/px) or a placeholder saying why there is none."""
    return (client or _client()).fetch(ra, dec, size, filters, output_size=output_size, cache=cache)


def fetch_cutouts(coords: Iterable[tuple[float, float]], size: int = 240, filters: str = "gri", *,
                  cache: bool = True, output_size: int | None = None, max_workers: int = 4,
                  client: CutoutClient | None = None) -> list[Cutout]:
    """Cutouts for many positions, in order, at most ``max_workers`` requests at a time."""
    if max_workers < 1:
        raise ConfigError(f"max_workers must be >= 1, got {max_workers}")
    client = client or _client()
    coords = list(coords)
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        return list(pool.map(lambda c: client.fetch(c[0], c[1], size, filters, output_size=output_size,
                                                    cache=cache), coords))
