"""How sure the net is, worded once for every page (Draw, Inside, the invariance explorer).

The reading itself is the library's (`lenet_viz.calibration.read_digit`: calibrated, averaged
over shifts, "unsure" below `UNSURE_BELOW`); this module only words it, so that a digit the
Draw page calls "unsure" is not "35% sure" on another page.
"""

from __future__ import annotations

from lenet_viz.explain.calibration import Reading
from ui.i18n import _


def sure_label(reading: Reading) -> str:
    """ "unsure", or e.g. "96% sure": the delta under a Prediction metric."""
    if reading.unsure:
        return _("unsure")
    return _("{share} sure").format(share=f"{reading.confidence:.0%}")
