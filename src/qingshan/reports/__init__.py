"""Reports generated from the stored data (issue 6): a small document model, a Word renderer and the builders.

Every number in a report comes from an evaluation engine; the builders only format and compare those numbers.
"""

from .model import Cell, Document, Footnote, Paragraph, Provenance, Section, Table

__all__ = ["Cell", "Document", "Footnote", "Paragraph", "Provenance", "Section", "Table"]
