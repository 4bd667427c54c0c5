"""The dock's settings as JSON, and back: what a session folder and the remembered preferences hold.

:func:`settings_json` reads the training settings in the shape of a session's ``settings``
(``train_config``, ``method_options``, ``preprocess``, ``stop``); :func:`apply_settings_json` sets them
again, skipping (and reporting) any value the dock does not accept, e.g. a method that no longer exists.
:class:`RememberedSettings` keeps the user's choices between napari sessions (:mod:`.preferences`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ..config import to_dict

log = logging.getLogger(__name__)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def settings_json(settings: Any) -> dict[str, Any]:
    """The training settings of a :class:`~.panels.TrainingSettings` as JSON-able dicts."""
    return {
        "train_config": to_dict(settings.train_config()),
        "method_options": _jsonable(settings.method_options()),
        "preprocess": to_dict(settings.preprocess_config()),
        "stop": {"unit": settings.stop_kind.currentText(), "value": float(settings.stop_value.value())},
    }


def _set_each(form: Any, values: dict[str, Any], what: str, problems: list[str]) -> None:
    for name, value in values.items():
        try:
            form.set_values({name: value})
        except (ValueError, TypeError) as exc:
            problems.append(f"{what} {name}={value!r} not restored: {exc}")


def apply_forms(settings: Any, content: dict[str, Any]) -> list[str]:
    """Set the stopping criterion and the advanced training and preprocessing options; the problems."""
    from .panels.settings import OWN_FIELDS

    problems: list[str] = []
    stop = content.get("stop")
    if isinstance(stop, dict) and settings.stop_kind.findText(str(stop.get("unit"))) >= 0:
        settings.stop_kind.setCurrentText(str(stop["unit"]))  # resets the value: set it after
        if isinstance(stop.get("value"), (int, float)):
            settings.stop_value.setValue(float(stop["value"]))
    train = content.get("train_config")
    if isinstance(train, dict):
        _set_each(
            settings.train_form, {k: v for k, v in train.items() if k not in OWN_FIELDS}, "option", problems
        )
    pre = content.get("preprocess")
    if isinstance(pre, dict):
        _set_each(settings.pre_form, pre, "preprocessing option", problems)
    return problems


def apply_method(settings: Any, content: dict[str, Any]) -> list[str]:
    """Set the method, its options and the device (once the engine lists them); the problems."""
    problems: list[str] = []
    train = content.get("train_config") if isinstance(content.get("train_config"), dict) else {}
    method, device = train.get("method"), train.get("device")
    if isinstance(method, str) and method:
        if settings.method_combo.findText(method) >= 0:
            settings.method_combo.setCurrentText(method)
            options = content.get("method_options")
            if isinstance(options, dict) and settings.method_form is not None:
                _set_each(settings.method_form, options, f"{method} option", problems)
        else:
            problems.append(f"method {method!r} is not available; kept {settings.method_combo.currentText()}")
    if isinstance(device, str) and device:
        if settings.device_combo.findText(device) >= 0:
            settings.device_combo.setCurrentText(device)
        else:
            problems.append(
                f"device {device!r} is not available here; kept {settings.device_combo.currentText()}"
            )
    return problems


def apply_settings_json(settings: Any, content: dict[str, Any]) -> list[str]:
    """Set every training setting of ``content`` (:func:`settings_json`'s shape); the problems met."""
    return apply_method(settings, content) + apply_forms(settings, content)


class RememberedSettings:
    """The user's choices between napari sessions: classes, method and options, stopping, device.

    Made with the dock: the classes and the forms are restored at once, the method, its options and the
    device by :meth:`apply_engine` once the engine lists them. :meth:`save` writes the current choices.

    Parameters
    ----------
    data, settings
        The dock's data panel (class names) and training settings.
    """

    def __init__(self, data: Any, settings: Any) -> None:
        from .preferences import read_preferences

        self.data, self.settings = data, settings
        self.content, self.problem = read_preferences()
        if self.problem:
            from .panels.base import notify_warning

            notify_warning(self.problem)
        classes = self.content.get("classes")
        if isinstance(classes, list) and len(classes) >= 2 and all(isinstance(c, str) for c in classes):
            data.classes_edit.setText(",".join(classes))
            data.rebuild_legend()
        self._log(apply_forms(settings, self._settings()))

    def _settings(self) -> dict[str, Any]:
        value = self.content.get("settings")
        return value if isinstance(value, dict) else {}

    @staticmethod
    def _log(problems: list[str]) -> None:
        for p in problems:
            log.warning("remembered settings: %s", p)

    def apply_engine(self) -> None:
        """Restore the method, its options and the device (after the engine listed them)."""
        self._log(apply_method(self.settings, self._settings()))

    def save(self) -> None:
        """Remember the current choices (never raises: a failure is logged)."""
        from .preferences import update_preferences

        if self.settings.methods is None:  # the engine never loaded: the method list is a placeholder
            return
        try:
            sections: dict[str, Any] = {"settings": settings_json(self.settings)}
            sections["classes"] = list(self.data.class_names())
        except Exception as exc:  # e.g. invalid class names or options typed: remember the rest next time
            log.warning("settings not remembered: %s", exc)
            return
        update_preferences(**sections)
