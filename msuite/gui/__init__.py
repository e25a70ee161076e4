"""The desktop app (not yet built); the only package that imports PySide6 and pyqtgraph."""
