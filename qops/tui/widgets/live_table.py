"""`LiveTable`: a row-cursor DataTable refreshed in place, with columns that hide when narrow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.widgets import DataTable

Cell = str | Text
Row = tuple[str, dict[str, Cell]]


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a `LiveTable`.

    Attributes:
        key: the key cells are given under.
        label: the header.
        width: a fixed width, or None to fit the content.
        min_width: the terminal width from which the column is shown.
        numeric: right-aligned.
    """

    key: str
    label: str
    width: int | None = None
    min_width: int = 0
    numeric: bool = False


class LiveTable(DataTable[Cell]):
    """A table whose rows are replaced wholesale on every refresh (`set_rows`).

    Cells that changed are updated in place when the rows are the same keys in the same
    order; otherwise the table is rebuilt and the cursor follows its row key, so a refresh
    never throws the operator's selection away.
    """

    def __init__(self, columns: Sequence[Column], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._columns = tuple(columns)
        self._shown: tuple[Column, ...] = ()
        self._rows: list[Row] = []

    @property
    def selected_key(self) -> str | None:
        """The row key under the cursor, None when the table is empty."""
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    @property
    def shown_columns(self) -> tuple[str, ...]:
        return tuple(c.key for c in self._shown)

    def on_resize(self, event: events.Resize) -> None:
        self._render_rows(self._rows)

    def on_mount(self) -> None:
        self._render_rows(self._rows)

    def set_columns(self, columns: Sequence[Column]) -> None:
        """Replace the columns; rows follow with the next `set_rows`."""
        self._columns = tuple(columns)
        self._rows = []
        self._render_rows([])

    def set_rows(self, rows: Sequence[Row]) -> None:
        self._render_rows(list(rows))

    def _cell(self, column: Column, value: Cell) -> Text:
        # Plain strings become Text here: DataTable would read them as markup, and payloads
        # and error messages are full of square brackets.
        text = value.copy() if isinstance(value, Text) else Text(value)
        if column.numeric:
            text.justify = "right"
        return text

    def _render_rows(self, rows: list[Row]) -> None:
        width = self.app.size.width
        shown = tuple(c for c in self._columns if c.min_width <= width)
        old_keys = [key for key, _ in self._rows]
        same_shape = shown == self._shown and old_keys == [key for key, _ in rows]
        if same_shape and self.row_count == len(rows):
            old = dict(self._rows)
            for key, cells in rows:
                for c in shown:
                    value = cells.get(c.key, "")
                    if old[key].get(c.key, "") != value:
                        self.update_cell(key, c.key, self._cell(c, value), update_width=True)
            self._rows = rows
            return
        selected = self.selected_key
        scroll_y = self.scroll_y
        self.clear(columns=shown != self._shown)
        if shown != self._shown:
            for c in shown:
                label = Text(c.label, justify="right") if c.numeric else c.label
                self.add_column(label, key=c.key, width=c.width)
            self._shown = shown
        for key, cells in rows:
            self.add_row(*(self._cell(c, cells.get(c.key, "")) for c in shown), key=key)
        self._rows = rows
        index = next((i for i, (key, _) in enumerate(rows) if key == selected), None)
        if index is not None:
            self.move_cursor(row=index, scroll=False)
            self.scroll_to(y=scroll_y, animate=False, immediate=True)
