"""A legend control: a title, an optional choice list and colour swatches with labels."""

from __future__ import annotations

from collections.abc import Sequence

from folium import MacroElement
from folium.template import Template

LEGEND_CLASS: str = "invaplan-legend"
SWATCH_SHAPES: tuple[str, ...] = ("circle", "square")


class Legend(MacroElement):
    """A Leaflet control (``div.invaplan-legend``) explaining the map's colours.

    Parameters
    ----------
    title
        Heading of the legend.
    entries
        ``(colour, label)`` pairs, one swatch each, top to bottom.
    shape
        Swatch shape: ``"circle"`` for points, ``"square"`` for areas.
    choices
        Optional ``(value, label)`` pairs shown as a ``<select>`` under the title,
        for a switcher to listen to (``<legend>.getContainer().querySelector("select")``).
    position
        Leaflet control position.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>
                .invaplan-legend { background: rgba(255, 255, 255, 0.92); padding: 8px 10px; border-radius: 5px;
                    box-shadow: 0 1px 5px rgba(0, 0, 0, 0.4); font: 13px/1.5 sans-serif; color: #222; }
                .invaplan-legend-title { font-weight: bold; margin-bottom: 4px; }
                .invaplan-legend select { display: block; margin-bottom: 6px; font: inherit; }
                .invaplan-legend-swatch { display: inline-block; width: 12px; height: 12px; margin-right: 6px;
                    vertical-align: -1px; border: 1px solid rgba(0, 0, 0, 0.35); }
                .invaplan-legend-circle { border-radius: 50%; }
            </style>
        {% endmacro %}

        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
            {{ this.get_name() }}.onAdd = function () {
                var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
                L.DomUtil.create("div", "invaplan-legend-title", div).textContent = {{ this.title|tojson }};
                var choices = {{ this.choices|tojson }};
                if (choices.length) {
                    var select = L.DomUtil.create("select", "", div);
                    choices.forEach(function (choice) { select.add(new Option(choice[1], choice[0])); });
                }
                {{ this.entries|tojson }}.forEach(function (entry) {
                    var row = L.DomUtil.create("div", "invaplan-legend-row", div);
                    var swatch = L.DomUtil.create("span", {{ this.swatch_class|tojson }}, row);
                    swatch.style.background = entry[0];
                    row.appendChild(document.createTextNode(entry[1]));
                });
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        title: str,
        entries: Sequence[tuple[str, str]],
        shape: str = "square",
        choices: Sequence[tuple[str, str]] = (),
        position: str = "bottomright",
    ) -> None:
        if shape not in SWATCH_SHAPES:
            raise ValueError(f"shape must be one of {SWATCH_SHAPES}, not {shape!r}")
        super().__init__()
        self._name = "Legend"
        self.css_class = LEGEND_CLASS
        self.title, self.position = title, position
        self.swatch_class = f"invaplan-legend-swatch invaplan-legend-{shape}"
        self.entries = [list(entry) for entry in entries]
        self.choices = [list(choice) for choice in choices]
